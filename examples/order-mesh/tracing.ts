/**
 * The demo's tracing: when OTEL_EXPORTER_OTLP_ENDPOINT is set, an OpenTelemetry SDK tracer
 * provider exports every span over OTLP/HTTP to `<endpoint>/v1/traces` (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given) and registers the W3C trace-context and baggage
 * propagators and the AsyncLocalStorage context manager. Without it, nothing is registered and
 * protomesh's tracing stays off (its no-op cost only).
 */
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

/** Started tracing, to flush and stop on shutdown. */
export interface DemoTracing {
  shutdown(): Promise<void>;
}

/** Registers the SDK when `env.OTEL_EXPORTER_OTLP_ENDPOINT` is set; undefined otherwise. */
export function startDemoTracing(env: NodeJS.ProcessEnv = process.env): DemoTracing | undefined {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      "service.name": env.OTEL_SERVICE_NAME ?? "protomesh-order-mesh",
    }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(env) }), {
        scheduledDelayMillis: 200,
      }),
    ],
  });
  provider.register();
  return { shutdown: () => provider.shutdown() };
}

/** The OTLP/HTTP traces URL, as the OTel spec derives it from the environment. */
function tracesUrl(env: NodeJS.ProcessEnv): string {
  const exact = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (exact) return exact;
  return `${String(env.OTEL_EXPORTER_OTLP_ENDPOINT).replace(/\/+$/, "")}/v1/traces`;
}
