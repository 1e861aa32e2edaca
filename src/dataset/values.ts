// Stored values to doubles as xarray's decode_cf shows them. (Interim: CF masking and scaling come
// from cf.ts once merged.)
export function valueDecoder(
  _name: string,
  _dtype: string,
  _attrs: Readonly<Record<string, unknown>>,
  _fillValue: unknown,
): (raw: ArrayLike<number | bigint>) => Float64Array {
  return (raw) => Float64Array.from({ length: raw.length }, (_, i) => Number(raw[i]))
}
