export { exportCarFile, importCarFile } from './car/files.js'
export { DiskStore, type DiskStoreOptions } from './cas/disk.js'
