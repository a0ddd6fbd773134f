export type {
  BatchedLogDestination,
  BatchedLogDestinationOptions,
} from "./batched-log-destination.js";
export { createBatchedLogDestination } from "./batched-log-destination.js";
export type {
  CallObserver,
  CallObserverOptions,
  MethodObserver,
  ObservedCall,
} from "./call-observer.js";
export { createCallObserver } from "./call-observer.js";
export {
  correlationIdFrom,
  correlationIdFromHeaders,
  correlationIdHeader,
} from "./correlation-id.js";
export { grpcCodeName } from "./grpc-code-name.js";
export type { MethodMetrics, ServerMetrics, ServerMetricsOptions } from "./server-metrics.js";
export { createServerMetrics } from "./server-metrics.js";
export type { TracedSpan } from "./tracing.js";
export {
  activeTracer,
  endRpcSpan,
  outboundParent,
  startAttemptSpan,
  startCallSpan,
  startServerSpan,
  tracerName,
  withTraceHeaders,
} from "./tracing.js";
