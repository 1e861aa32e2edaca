// The Zarr data types and the array document the merge-check tests generate from (seeded picks), in
// one place: hostile.merge-revdata9, -left10 and -revmeta10 compare them against zarr-python 3.

/** Zarr v3 data types every merge-check test draws from. */
export const V3_DATA_TYPES = [
  'bool',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'float32',
  'int64',
  'float64',
  'complex128',
] as const

/** The other numeric v3 types (hostile.merge-revdata9 draws from these too). */
export const MORE_V3_DATA_TYPES = ['float16', 'uint32', 'uint64', 'complex64'] as const

/** Zarr v2 (numpy) dtypes, little-endian where it matters. */
export const V2_DTYPES = ['|b1', '|i1', '|u1', '<i2', '<u4', '<f4', '<i8', '<f8'] as const

/** A v3 array document of 8 values in chunks of 4 ('/' chunk keys, fill value 0) with `codecs`. */
export function v3ArrayDoc(dataType: string, codecs: unknown[]) {
  return {
    zarr_format: 3,
    node_type: 'array',
    shape: [8],
    data_type: dataType,
    chunk_grid: { name: 'regular', configuration: { chunk_shape: [4] } },
    chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
    fill_value: 0,
    codecs,
  }
}
