// ts-hamt/telemetry: OpenTelemetry through the API module you pass, and the retrieval snapshot.

export type { LoadStatus } from './interface.js'
export type { OpenTelemetryApi, OtelSpan } from './otel.js'
export { instrument } from './otel.js'
export type {
  Distribution,
  GatewayStats,
  RetrievalSnapshot,
  RetrievalStats,
  RetrievalStatsOptions,
} from './stats.js'
export { collectRetrievalStats } from './stats.js'
