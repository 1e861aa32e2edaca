// The OpenTelemetry SDK with in-memory exporters, registered globally as an app's SDK setup would,
// and an AsyncLocalStorage context manager so spans nest across awaits (what NodeSDK registers).
import { AsyncLocalStorage } from 'node:async_hooks'
import * as otel from '@opentelemetry/api'
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'

class AsyncContextManager implements otel.ContextManager {
  readonly #storage = new AsyncLocalStorage<otel.Context>()
  active(): otel.Context {
    return this.#storage.getStore() ?? otel.ROOT_CONTEXT
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: otel.Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(context, () => fn.apply(thisArg, args))
  }
  bind<T>(_context: otel.Context, target: T): T {
    return target
  }
  enable(): this {
    return this
  }
  disable(): this {
    this.#storage.disable()
    return this
  }
}

export interface OtelHarness {
  spans(): ReadableSpan[]
  /** Every metric collected so far (cumulative), by name. */
  metrics(): Promise<Map<string, MetricData>>
  reset(): void
}

/** Registers the SDK globally (once per process) and returns its in-memory view. */
export function startOtel(): OtelHarness {
  const spanExporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] })
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  })
  const meterProvider = new MeterProvider({ readers: [reader] })
  otel.context.setGlobalContextManager(new AsyncContextManager())
  otel.trace.setGlobalTracerProvider(tracerProvider)
  otel.metrics.setGlobalMeterProvider(meterProvider)
  return {
    spans: () => spanExporter.getFinishedSpans(),
    async metrics() {
      await reader.forceFlush()
      const byName = new Map<string, MetricData>()
      for (const resource of metricExporter.getMetrics())
        for (const scope of resource.scopeMetrics)
          for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric)
      return byName
    },
    reset: () => {
      spanExporter.reset()
      metricExporter.reset()
    },
  }
}

/** Sum of a counter's points whose attributes include `where`. */
export function counterSum(metric: MetricData | undefined, where: otel.Attributes = {}): number {
  let sum = 0
  for (const point of (metric?.dataPoints ?? []) as DataPoint<number>[])
    if (matches(point.attributes, where)) sum += point.value
  return sum
}

/** Count and sum of a histogram's points whose attributes include `where`. */
export function histogramTotals(
  metric: MetricData | undefined,
  where: otel.Attributes = {},
): { count: number; sum: number } {
  let count = 0
  let sum = 0
  for (const point of (metric?.dataPoints ?? []) as DataPoint<Histogram>[]) {
    if (!matches(point.attributes, where)) continue
    count += point.value.count
    sum += point.value.sum ?? 0
  }
  return { count, sum }
}

function matches(attributes: otel.Attributes, where: otel.Attributes): boolean {
  return Object.entries(where).every(([key, value]) => attributes[key] === value)
}

export { otel }
