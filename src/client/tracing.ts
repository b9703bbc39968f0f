import type { AttributeValue, Context, Tracer } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';

/**
 * OpenTelemetry tracing for a kern worker or client: Temporal's own spans (`StartWorkflow`, `RunWorkflow`,
 * `StartActivity`, `RunActivity`, child workflows, from `@temporalio/interceptors-opentelemetry`, linked across
 * processes by headers), and kern's GenAI spans inside them. Off unless given.
 */
export interface TracingOptions {
  /** Where spans go: for example a `BatchSpanProcessor` around an OTLP exporter, or a test's in-memory exporter. */
  spanProcessor: SpanProcessor;
  /** Default: `service.name` `kern-worker` (`kern-client` for a client). */
  resource?: Resource;
  /**
   * Put prompt and answer text, and tool arguments and results, in span attributes. Default false: spans carry
   * names, ids, models and token counts only.
   */
  recordContent?: boolean;
}

/**
 * The Temporal plugin and the tracer kern's own spans use, both sending to `options.spanProcessor`. Spans link
 * across processes through W3C trace-context headers, and within one through the active context: unless the app has
 * registered its own (the OpenTelemetry SDK does), kern registers the W3C propagator and an AsyncLocalStorage context
 * manager, OpenTelemetry's defaults for Node (a second registration changes nothing). OpenTelemetry's SDK is loaded
 * here, on first use, so that a client or worker that does not trace does not spend its load time at every start.
 */
export function tracingPlugin(
  options: TracingOptions,
  serviceName: string,
): { plugin: OpenTelemetryPlugin; tracer: Tracer } {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { context, propagation } = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } =
    require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');
  const { W3CTraceContextPropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const { Resource } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { BasicTracerProvider } =
    require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { OpenTelemetryPlugin } =
    require('@temporalio/interceptors-opentelemetry') as typeof import('@temporalio/interceptors-opentelemetry');
  /* eslint-enable @typescript-eslint/no-require-imports */
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const resource = options.resource ?? new Resource({ 'service.name': serviceName });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [options.spanProcessor] });
  const tracer = provider.getTracer('kern');
  const workflowSpans = new WorkflowSpanAttributes(options.spanProcessor);
  return { plugin: new OpenTelemetryPlugin({ resource, spanProcessor: workflowSpans, tracer }), tracer };
}

/**
 * Temporal's workflow span exporter copies the whole `WorkflowInfo` into each workflow span's attributes, the run's
 * memo (which holds its input text) and search attributes among them. Those are objects, which OpenTelemetry
 * attributes cannot be anyway; this keeps the plain values (ids, type, task queue, attempt) and drops the rest.
 */
class WorkflowSpanAttributes implements SpanProcessor {
  constructor(private readonly next: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    this.next.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    const attributes = span.attributes as Record<string, unknown>;
    for (const [key, value] of Object.entries(attributes)) {
      if (!isAttributeValue(value)) delete attributes[key];
    }
    this.next.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}

function isAttributeValue(value: unknown): value is AttributeValue {
  const primitive = (item: unknown) => ['string', 'number', 'boolean'].includes(typeof item) || item == null;
  return Array.isArray(value) ? value.every(primitive) : value !== null && primitive(value);
}
