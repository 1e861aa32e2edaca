/** zarrita's store contract (`@zarrita/storage`), restated so the core imports nothing from zarrita. */
export type AbsolutePath = `/${string}`

export type RangeQuery = { offset: number; length: number } | { suffixLength: number }

export interface ZarrGetOptions {
  signal?: AbortSignal
}

export interface ZarrHAMTStoreOptions {
  /** Refuse `set` and `delete`; default: the HAMT's own mode. */
  readOnly?: boolean
}
