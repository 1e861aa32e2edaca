/** The CLI's name for the library's one bounded pool (see {@link mapPool}). */
export { mapPool as mapConcurrent } from '../util/pool.js'
