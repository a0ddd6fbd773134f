import type {
  DescMessage,
  DescMethodStreaming,
  DescMethodUnary,
  MessageInitShape,
} from "@bufbuild/protobuf";
import {
  type ContextValues,
  createContextValues,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import type { Channel } from "@grpc/grpc-js";
import { neverAborted } from "../context/index.js";
import {
  callTimeoutMs,
  deadlineAfter,
  deadlineFromHeader,
  type HeaderInit,
  requestHeader,
} from "./call-deadline.js";
import { chainInterceptors } from "./chain-interceptors.js";
import { createGrpcJsChannel, type GrpcJsChannelOptions } from "./grpc-js-channel.js";
import { sendGrpcJsStream } from "./grpc-js-stream-call.js";
import { sendGrpcJsUnary } from "./grpc-js-unary-call.js";
import { createMethodCodecCache } from "./method-codec.js";

export interface GrpcJsTransportOptions extends GrpcJsChannelOptions {
  /**
   * Run around every call, outermost first, as with Connect's transports. They are composed
   * once, when the transport is made (Connect composes them per call): an interceptor's outer
   * function runs once, so keep per-call state inside the function it returns.
   */
  readonly interceptors?: readonly Interceptor[];
  /**
   * Deadline for calls that set no `timeoutMs`. Default: none — deadlines are the resilience
   * layer's job, which knows each method's policy; a `timeoutMs` of 0 or less also means none.
   */
  readonly defaultTimeoutMs?: number;
}

/** A Connect transport over a grpc-js channel, which it owns. */
export interface GrpcJsTransport extends Transport {
  /** The grpc-js channel, for connectivity state and `watchConnectivityState`. */
  readonly channel: Channel;
  /**
   * Closes the channel: calls already on a connection finish, calls still waiting for one and
   * every later call fail with `Unavailable`.
   */
  close(): void;
}

type Next = Parameters<Interceptor>[0];

/**
 * An `@grpc/grpc-js` channel as a Connect `Transport`: generated Connect clients work unchanged
 * and gain grpc-js's name resolution (`dns:///`), round-robin load balancing over every address,
 * keepalive and connection management. Unary, server-, client- and bidi-streaming calls;
 * headers ⇄ metadata (`-bin` as bytes); `timeoutMs` → grpc deadline (`DeadlineExceeded`);
 * the call's `AbortSignal` → cancellation (`Canceled`, and the server's handler sees it);
 * failures → `ConnectError` with code, message, metadata and `google.rpc.Status` details.
 *
 * The hot path is lean on purpose (gRPC is the default path of every protomesh client): no
 * AbortController per call, codecs built once per method, interceptors composed once.
 */
export function createGrpcJsTransport(options: GrpcJsTransportOptions): GrpcJsTransport {
  const channel = createGrpcJsChannel(options);
  const codecFor = createMethodCodecCache(options.target);
  const defaultTimeoutMs = options.defaultTimeoutMs;

  const interceptors = options.interceptors ?? [];
  // With interceptors, the deadline travels in the request's grpc-timeout header, where they can
  // read and shorten it, and is read back as the call is sent. Without, it goes to grpc-js
  // directly: no header to write and parse back on every call.
  const deadlineInHeader = interceptors.length > 0;
  const send: Next = (req) => {
    const deadline = deadlineFromHeader(req.header);
    return req.stream
      ? sendGrpcJsStream(channel, codecFor(req.method), req, deadline)
      : sendGrpcJsUnary(channel, codecFor(req.method), req, deadline);
  };
  const run = chainInterceptors(send, interceptors);
  const timeoutOf = (timeoutMs: number | undefined) => callTimeoutMs(timeoutMs, defaultTimeoutMs);

  return {
    channel,
    close() {
      channel.close();
    },
    unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeaderInit,
      input: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      const codec = codecFor(method);
      const timeout = timeoutOf(timeoutMs);
      const req: UnaryRequest = {
        stream: false,
        service: method.parent,
        method: method as DescMethodUnary,
        requestMethod: "POST",
        url: codec.url,
        signal: signal ?? neverAborted,
        header: requestHeader(header, deadlineInHeader ? timeout : undefined),
        contextValues: contextValues ?? createContextValues(),
        message: codec.normalize(input),
      };
      return (
        deadlineInHeader ? run(req) : sendGrpcJsUnary(channel, codec, req, deadlineAfter(timeout))
      ) as Promise<UnaryResponse<I, O>>;
    },
    stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeaderInit,
      input: AsyncIterable<MessageInitShape<I>>,
      contextValues?: ContextValues,
    ): Promise<StreamResponse<I, O>> {
      const codec = codecFor(method);
      const timeout = timeoutOf(timeoutMs);
      const req: StreamRequest = {
        stream: true,
        service: method.parent,
        method: method as DescMethodStreaming,
        requestMethod: "POST",
        url: codec.url,
        signal: signal ?? neverAborted,
        header: requestHeader(header, deadlineInHeader ? timeout : undefined),
        contextValues: contextValues ?? createContextValues(),
        // Init shapes are made messages as they are sent; no wrapper iterable per call.
        message: input as StreamRequest["message"],
      };
      return (
        deadlineInHeader ? run(req) : sendGrpcJsStream(channel, codec, req, deadlineAfter(timeout))
      ) as Promise<StreamResponse<I, O>>;
    },
  };
}
