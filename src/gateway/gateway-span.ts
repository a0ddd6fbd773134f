import type {
  DescMessage,
  DescMethodServerStreaming,
  DescMethodUnary,
  Message,
} from "@bufbuild/protobuf";
import type { Code, StreamResponse, Transport, UnaryResponse } from "@connectrpc/connect";
import { runWithCallContext } from "../context/index.js";
import type { HttpRoute } from "../contract/http-rule/index.js";
import type { ObservedCall } from "../observe/index.js";

/** The inbound protocols the gateway serves. */
export type GatewayProtocol = "rest" | "connect" | "grpc-web";

/*
 * The gateway's server span is the one the call observer opens for every server (src/observe:
 * extracted from the inbound `traceparent`/`tracestate`/baggage, named `service/method`, with
 * `rpc.service`, `rpc.method`, and `rpc.grpc.status_code` when it ends): this module only
 * renames it for the gateway's protocols and runs the upstream call under it. Every function
 * returns at once when the call is not traced (no tracer provider registered), allocating
 * nothing.
 */

/**
 * Describes the gateway's server span of one call after its inbound protocol: `rpc.system`
 * `connect_rpc` for Connect (gRPC-Web keeps `grpc`), `http.request.method`,
 * `protomesh.protocol`, and for REST the HTTP conventions' name `VERB /template` with
 * `http.route` (the `google.api.http` template, never the concrete path).
 */
export function describeGatewaySpan(
  observed: ObservedCall,
  protocol: GatewayProtocol,
  httpMethod: string | undefined,
  route?: HttpRoute,
): void {
  const span = observed.traced?.span;
  if (!span) return;
  span.setAttribute("protomesh.protocol", protocol);
  if (httpMethod) span.setAttribute("http.request.method", httpMethod);
  if (protocol === "connect") span.setAttribute("rpc.system", "connect_rpc");
  if (route) {
    span.updateName(`${route.httpMethod} ${route.template.source}`);
    span.setAttribute("http.route", route.template.source);
  }
}

/**
 * Ends a REST call's observation: its span gets the HTTP status the caller was sent
 * (`http.response.status_code`; none when the caller left before an answer), then the observer
 * ends it with the gRPC code, which sets the span's error status as OTel's RPC conventions say.
 */
export function endRestCall(
  observed: ObservedCall,
  code: Code | 0,
  response: { readonly headersSent: boolean; readonly statusCode: number },
): void {
  const span = observed.traced?.span;
  if (span && response.headersSent) {
    span.setAttribute("http.response.status_code", response.statusCode);
  }
  observed.end(code);
}

/**
 * The upstream unary call, as `upstream.unary` (no context values), made a child of the
 * gateway's server span when the call is traced: it runs in a call context carrying the span,
 * where protomesh's client finds its parent, so the logical call and attempt spans are the
 * span's children and the upstream gets a `traceparent` of the caller's trace.
 */
export function unaryUpstream(
  observed: ObservedCall,
  correlationId: string,
  upstream: Transport,
  method: DescMethodUnary,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: Record<string, string>,
  input: Message,
): Promise<UnaryResponse<DescMessage, DescMessage>> {
  const traced = observed.traced;
  if (!traced) return callUnary(upstream, method, signal, timeoutMs, header, input);
  return runWithCallContext(
    { correlationId, trace: traced.context },
    callUnary,
    upstream,
    method,
    signal,
    timeoutMs,
    header,
    input,
  );
}

/** The upstream server-streaming call, as `unaryUpstream` for `upstream.stream`. */
export function streamUpstream(
  observed: ObservedCall,
  correlationId: string,
  upstream: Transport,
  method: DescMethodServerStreaming,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: Record<string, string>,
  input: AsyncIterable<Message>,
): Promise<StreamResponse<DescMessage, DescMessage>> {
  const traced = observed.traced;
  if (!traced) return callStream(upstream, method, signal, timeoutMs, header, input);
  return runWithCallContext(
    { correlationId, trace: traced.context },
    callStream,
    upstream,
    method,
    signal,
    timeoutMs,
    header,
    input,
  );
}

function callUnary(
  upstream: Transport,
  method: DescMethodUnary,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: Record<string, string>,
  input: Message,
): Promise<UnaryResponse<DescMessage, DescMessage>> {
  return upstream.unary(method, signal, timeoutMs, header, input, undefined);
}

function callStream(
  upstream: Transport,
  method: DescMethodServerStreaming,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: Record<string, string>,
  input: AsyncIterable<Message>,
): Promise<StreamResponse<DescMessage, DescMessage>> {
  return upstream.stream(method, signal, timeoutMs, header, input, undefined);
}
