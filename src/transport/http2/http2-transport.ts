import type {
  DescMessage,
  DescMethod,
  DescMethodStreaming,
  DescMethodUnary,
  MessageInitShape,
} from "@bufbuild/protobuf";
import {
  ConnectError,
  type ContextValues,
  createContextValues,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { parseTimeout } from "@connectrpc/connect/protocol-grpc";
import { neverAborted } from "../../context/abort-watch.js";
import { callTimeoutMs, type HeaderInit, requestHeader } from "../call-deadline.js";
import { chainInterceptors } from "../chain-interceptors.js";
import { createMethodCodecCache, type MethodCodec } from "../method-codec.js";
import { type CallShared, frameMessage, Http2Call } from "./http2-call.js";
import { Http2Channel, type Http2ChannelOptions } from "./http2-channel.js";
import { requestHeaders } from "./request-headers.js";
import { waitForReady } from "./wait-for-ready.js";

export interface Http2TransportOptions extends Http2ChannelOptions {
  /**
   * Run around every call, outermost first. Composed once, when the transport is made (as the
   * grpc-js transport does): keep per-call state inside the function an interceptor returns.
   */
  readonly interceptors?: readonly Interceptor[];
  /** Deadline for calls that set no `timeoutMs`. Default: none (the resilience layer's job). */
  readonly defaultTimeoutMs?: number;
  /** Largest response message accepted (GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH). Default 4 MiB. */
  readonly maxReceiveMessageBytes?: number;
  /** Largest request message sent (GRPC_ARG_MAX_SEND_MESSAGE_LENGTH). Default unlimited. */
  readonly maxSendMessageBytes?: number;
  /**
   * Calls wait for a ready connection (bounded by their deadline) instead of failing fast
   * with `Unavailable`. Default false, as in gRPC; per call with the `waitForReady` context key.
   */
  readonly waitForReady?: boolean;
}

/** A Connect transport on the http2 channel, which it owns. */
export interface Http2Transport extends Transport {
  /** The channel: its subchannels and session count, for tests and metrics. */
  readonly channel: Http2Channel;
  /**
   * Drains: calls in flight finish, queued and later calls fail with `Unavailable` (never
   * sent); resolves once every connection is closed.
   */
  close(): Promise<void>;
}

type Next = Parameters<Interceptor>[0];
const defaultMaxReceiveMessageBytes = 4 * 1024 * 1024;

/**
 * gRPC over HTTP/2 as a Connect `Transport`, written by hand because the libraries measure too
 * slow on this path (see the README's Transports section): grpc-js spends most of a call's
 * client CPU in its per-call filter stack, connect-node in its async-iterable pipeline, and
 * node:http2's client in its per-stream Duplex and AsyncResource, so the frames are written and
 * read here too (./wire/client-connection.ts), on a `node:net` or `node:tls` socket. All four
 * call kinds; `grpc-timeout` deadlines; cancellation as RST_STREAM(CANCEL); `-bin` metadata;
 * `grpc-status-details-bin` as error details; gzip responses; size limits; trailers-only
 * responses; and an `Unavailable` whose `failedBeforeSending` is true for calls no server saw.
 *
 * The hot path follows the server engine's rules: no AbortController, DOMException, web
 * `Headers` or closure per call that the call does not need; codecs built once per method.
 */
export function createHttp2Transport(options: Http2TransportOptions): Http2Transport {
  const channel = new Http2Channel(options);
  const shared: CallShared = {
    channel,
    maxReceiveMessageBytes: options.maxReceiveMessageBytes ?? defaultMaxReceiveMessageBytes,
    maxSendMessageBytes: options.maxSendMessageBytes ?? Number.POSITIVE_INFINITY,
  };
  const codecFor = createMethodCodecCache(options.target, channel.pathPrefix);
  const defaultTimeoutMs = options.defaultTimeoutMs;
  const defaultWaitForReady = options.waitForReady ?? false;
  const interceptors = options.interceptors ?? [];
  // With interceptors, the deadline travels in the request's grpc-timeout header, where they
  // can read and shorten it, and is read back as the call is sent.
  const hasInterceptors = interceptors.length > 0;

  const readyOf = (contextValues: ContextValues | undefined) =>
    contextValues?.get(waitForReady) ?? defaultWaitForReady;

  const send: Next = (req) =>
    startCall(
      shared,
      codecFor(req.method),
      req.method,
      req.signal,
      timeoutInHeader(req.header),
      req.header,
      req.stream ? req.message : undefined,
      req.stream ? undefined : req.message,
      readyOf(req.contextValues),
    );
  const run = chainInterceptors(send, interceptors);

  /**
   * Both call kinds: straight to the channel without interceptors; with them, as the request
   * Connect's interceptors expect, the deadline in its `grpc-timeout` header.
   */
  function call(
    method: DescMethod,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeaderInit,
    input: AsyncIterable<unknown> | undefined,
    message: unknown,
    contextValues: ContextValues | undefined,
  ): Promise<UnaryResponse | StreamResponse> {
    const codec = codecFor(method);
    const timeout = callTimeoutMs(timeoutMs, defaultTimeoutMs);
    if (!hasInterceptors) {
      return startCall(
        shared,
        codec,
        method,
        signal ?? neverAborted,
        timeout,
        header,
        input,
        message,
        readyOf(contextValues),
      );
    }
    const common = {
      service: method.parent,
      requestMethod: "POST",
      url: codec.url,
      signal: signal ?? neverAborted,
      header: requestHeader(header, timeout),
      contextValues: contextValues ?? createContextValues(),
    };
    return run(
      input === undefined
        ? ({
            ...common,
            stream: false,
            method: method as DescMethodUnary,
            message: codec.normalize(message),
          } as UnaryRequest)
        : ({
            ...common,
            stream: true,
            method: method as DescMethodStreaming,
            // Init shapes are made messages as they are sent; no wrapper iterable per call.
            message: input as StreamRequest["message"],
          } as StreamRequest),
    );
  }

  return {
    channel,
    close() {
      return channel.close();
    },
    unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeaderInit,
      input: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      return call(method, signal, timeoutMs, header, undefined, input, contextValues) as Promise<
        UnaryResponse<I, O>
      >;
    },
    stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeaderInit,
      input: AsyncIterable<MessageInitShape<I>>,
      contextValues?: ContextValues,
    ): Promise<StreamResponse<I, O>> {
      return call(method, signal, timeoutMs, header, input, undefined, contextValues) as Promise<
        StreamResponse<I, O>
      >;
    },
  };
}

/**
 * Starts one call on the channel: a unary call (`input` undefined) with its one message
 * framed now, a streaming call with its messages framed as they are sent.
 */
function startCall(
  shared: CallShared,
  codec: MethodCodec,
  method: DescMethod,
  signal: AbortSignal,
  timeoutMs: number | undefined,
  header: HeaderInit,
  input: AsyncIterable<unknown> | undefined,
  message: unknown,
  ready: boolean,
): Promise<UnaryResponse & StreamResponse> {
  let body: Buffer | undefined;
  let headers: string[];
  try {
    if (input === undefined) {
      body = frameMessage(codec, codec.normalize(message), shared.maxSendMessageBytes);
    }
    headers = requestHeaders(codec.path, header, timeoutMs);
  } catch (error) {
    return Promise.reject(ConnectError.from(error));
  }
  return new Promise<UnaryResponse & StreamResponse>((resolve, reject) => {
    new Http2Call(
      shared,
      codec,
      method,
      signal,
      timeoutMs,
      headers,
      ready,
      body,
      input,
      resolve,
      reject,
    ).start();
  });
}

/** The deadline an interceptor left in `grpc-timeout`, in ms; undefined for none. */
function timeoutInHeader(header: Headers): number | undefined {
  const value = header.get("grpc-timeout");
  if (value === null) return undefined;
  const { timeoutMs, error } = parseTimeout(value, Number.MAX_SAFE_INTEGER);
  if (error) throw error;
  return timeoutMs;
}
