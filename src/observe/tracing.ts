import type { IncomingHttpHeaders } from "node:http2";
import type { Code } from "@connectrpc/connect";
import {
  type Context,
  context,
  ProxyTracerProvider,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import { currentCallContext } from "../context/index.js";
import { grpcCodeName } from "./grpc-code-name.js";

/** The instrumentation scope our spans are reported under. */
export const tracerName = "protomesh";

// The API's no-op provider, the one a ProxyTracerProvider delegates to until an SDK registers.
const noopProvider = new ProxyTracerProvider().getDelegate();
let lastProvider: TracerProvider | undefined;
let lastTracer: Tracer | undefined;

/**
 * The tracer, or undefined while no tracer provider is registered: every tracing step is then
 * skipped (no span, no context, no header), which keeps the cost of tracing-off at two
 * property reads per call. Checked per call, so an SDK registered later (or disabled) takes
 * effect at once.
 */
export function activeTracer(): Tracer | undefined {
  const global = trace.getTracerProvider();
  const provider = global instanceof ProxyTracerProvider ? global.getDelegate() : global;
  if (provider === noopProvider) return undefined;
  if (provider !== lastProvider) {
    lastProvider = provider;
    lastTracer = provider.getTracer(tracerName);
  }
  return lastTracer;
}

/** Reads trace headers from node's raw HTTP/2 headers or web `Headers`. */
const headersGetter: TextMapGetter<IncomingHttpHeaders | Headers> = {
  get(carrier, key) {
    if (carrier instanceof Headers) return carrier.get(key) ?? undefined;
    return carrier[key];
  },
  keys(carrier) {
    return carrier instanceof Headers ? [...carrier.keys()] : Object.keys(carrier);
  },
};

const headersSetter: TextMapSetter<Headers> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

/** A span and the context that holds it (its children's parent). */
export interface TracedSpan {
  readonly span: Span;
  readonly context: Context;
}

/**
 * The server span of one inbound call (OTel RPC conventions: name `service/method`, kind
 * SERVER), child of the caller's W3C `traceparent` (and with its `tracestate` and baggage)
 * when the propagator registered with the SDK finds one.
 */
export function startServerSpan(
  tracer: Tracer,
  service: string,
  method: string,
  headers: IncomingHttpHeaders | Headers | undefined,
  peer: string,
): TracedSpan {
  const parent = headers ? propagation.extract(ROOT_CONTEXT, headers, headersGetter) : ROOT_CONTEXT;
  const colon = peer.lastIndexOf(":");
  const span = tracer.startSpan(
    `${service}/${method}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        "rpc.system": "grpc",
        "rpc.service": service,
        "rpc.method": method,
        "network.peer.address": colon < 0 ? peer : peer.slice(0, colon),
        ...(colon < 0 ? {} : { "network.peer.port": Number(peer.slice(colon + 1)) }),
      },
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

// OTel's RPC conventions: these codes mark a server span as an error; the rest are the
// caller's doing. A client span is an error for every non-OK code.
const serverErrorCodes = new Set([2, 4, 12, 13, 14, 15]);

/** Ends a span with the call's gRPC status, as OTel's RPC conventions name it. */
export function endRpcSpan(span: Span, code: Code | 0, kind: "server" | "client"): void {
  span.setAttribute("rpc.grpc.status_code", code);
  if (code !== 0 && (kind === "client" || serverErrorCodes.has(code))) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: grpcCodeName(code) });
  }
  span.end();
}

/**
 * The parent of an outbound call: the active OTel context when it holds a span (a handler's
 * own span, with the SDK's context manager), else the inbound call's trace context carried in
 * the call context, else none.
 */
export function outboundParent(): Context {
  const active = context.active();
  if (trace.getSpan(active)) return active;
  return currentCallContext()?.trace ?? active;
}

/**
 * The logical span of one outbound call (kind INTERNAL): its attempts, retries and hedges
 * included, are CLIENT spans under it.
 */
export function startCallSpan(
  tracer: Tracer,
  service: string,
  method: string,
  target: string,
): TracedSpan {
  const parent = outboundParent();
  const span = tracer.startSpan(
    `${service}/${method}`,
    {
      kind: SpanKind.INTERNAL,
      attributes: { "rpc.system": "grpc", "rpc.service": service, "rpc.method": method },
    },
    parent,
  );
  span.setAttribute("server.address", target);
  return { span, context: trace.setSpan(parent, span) };
}

/** One attempt's CLIENT span under the logical call's span, numbered from 1. */
export function startAttemptSpan(
  tracer: Tracer,
  call: TracedSpan,
  service: string,
  method: string,
  attempt: number,
): TracedSpan {
  const span = tracer.startSpan(
    `${service}/${method}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "rpc.system": "grpc",
        "rpc.service": service,
        "rpc.method": method,
        "protomesh.attempt": attempt,
      },
    },
    call.context,
  );
  return { span, context: trace.setSpan(call.context, span) };
}

/**
 * The attempt's request headers with its W3C `traceparent`, `tracestate` and baggage, as the
 * registered propagator writes them: a copy, so each attempt carries its own span id.
 */
export function withTraceHeaders(
  header: ConstructorParameters<typeof Headers>[0] | undefined,
  traceContext: Context,
): Headers {
  const headers = new Headers(header);
  propagation.inject(traceContext, headers, headersSetter);
  return headers;
}
