// `ts-hamt/dataset`: datasets the way climate users ask for them: open a Zarr root by CID from a
// store, gateways or a Helia node, select by label or position, read values with CF decoding.
// Its own subpath because it needs zarrita (a peer dependency) at run time; the root does not.
export { type Calendar, CFDatetime, decodeTimes, encodeTime, parseTimeUnits } from './dataset/cf-time.js'
export { Dataset, openDataset } from './dataset/dataset.js'
export type {
  CoordinateValue,
  CoordinateValues,
  DataBlock,
  DataRecord,
  HeliaLike,
  IndexSlice,
  Label,
  LabelIndexer,
  LabelSlice,
  LoadOptions,
  Method,
  OpenDatasetOptions,
  PositionIndexer,
  ReadOptions,
  ReadProgress,
  SelectOptions,
  TimeRangeOptions,
  VariableEncoding,
  VariablesOption,
} from './dataset/interface.js'
export { LoadedDataset } from './dataset/loaded.js'
export { DataArray, Variable } from './dataset/variable.js'
