import { type IncomingHttpHeaders, type ServerHttp2Stream, sensitiveHeaders } from "node:http2";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  cancelDeadline,
  type DeadlineEntry,
  runWithCallContext,
  scheduleDeadline,
} from "../../context/index.js";
import {
  correlationIdHeader,
  type MethodObserver,
  type ObservedCall,
} from "../../observe/index.js";
import { LeanHandlerContext } from "./lean-handler-context.js";

/** A method the engine can serve, resolved once when the server is built. */
export interface GrpcRoute {
  readonly service: DescService;
  readonly method: DescMethod;
  readonly handler: (input: unknown, context: LeanHandlerContext) => unknown;
  /** The shared call observer of this method, resolved once per protocol. */
  readonly observeGrpc: MethodObserver;
  readonly observeConnect: MethodObserver;
}

/** What every call on the lean engine needs from it, whatever the protocol. */
export interface LeanCallInit {
  readonly route: GrpcRoute;
  readonly stream: ServerHttp2Stream;
  readonly headers: IncomingHttpHeaders;
  readonly correlationId: string;
  /** The verified client certificate's identity (TLS with client certificates), if any. */
  readonly peerIdentity: string | undefined;
  readonly deadline: number | undefined;
  readonly timeoutMs: number | undefined;
  readonly maxReceiveMessageBytes: number;
  readonly observed: ObservedCall;
}

// The call a stream serves, kept on the stream so the listeners every call registers are shared
// functions reading it back, not closures built per call.
const callSlot = Symbol("protomesh.leanCall");
type StreamWithCall<C> = ServerHttp2Stream & { [callSlot]?: C };

/** The lean call a stream serves, for listeners shared by every call (`this` is the stream). */
export function callOf<C>(stream: ServerHttp2Stream): C | undefined {
  return (stream as StreamWithCall<C>)[callSlot];
}

/**
 * The life of one call on the lean engine, shared by its protocols (gRPC, Connect unary): the
 * handler's contexts, the deadline, and ending exactly once (`done`) — by the response, an
 * error, the deadline or the client's RST_STREAM — counted once by the observer.
 */
export abstract class LeanCall<I extends LeanCallInit> implements DeadlineEntry {
  protected readonly init: I;
  /** The handler's context, and the call context outbound calls inherit. */
  protected readonly context: LeanHandlerContext;
  protected done = false;
  /** The deadline queue's bookkeeping (one shared timer, not a `setTimeout` and closure per call). */
  deadlineSlot = -1;
  deadlineAt = 0;

  constructor(init: I, protocolName: "grpc" | "connect") {
    this.init = init;
    (init.stream as StreamWithCall<this>)[callSlot] = this;
    // Lazy: an AbortController exists only if the handler or an outbound call reads its signal.
    this.context = new LeanHandlerContext(
      init.route.method,
      init.route.service,
      init.headers,
      init.deadline,
      protocolName,
      init.correlationId,
      init.peerIdentity,
    );
    init.observed.attach(this.context);
  }

  /** Ends the call with an error, in the protocol's own shape. */
  abstract fail(reason: unknown): void;

  /** Watches for the client going away and arms the deadline; subclasses then read the body. */
  protected watch(): void {
    const { stream, timeoutMs } = this.init;
    stream.on("error", ignore);
    // `on`, not `once`, for events a stream emits once: no wrapper to build and remove per call.
    stream.on("close", onStreamClose);
    if (timeoutMs !== undefined) scheduleDeadline(this, timeoutMs);
  }

  /** The deadline passed before the call ended (called by the deadline queue). */
  deadlinePassed(): void {
    this.fail(new ConnectError("deadline exceeded", Code.DeadlineExceeded));
  }

  /**
   * Runs the handler in the call's context and hands its result to `respond` (as `this`),
   * awaited first when the handler returned a promise; a throw or a rejection fails the call.
   */
  protected invoke(input: unknown, respond: (this: this, output: unknown) => void): void {
    let result: unknown;
    try {
      result = runWithCallContext(this.context, this.init.route.handler, input, this.context);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === "function") {
      (result as PromiseLike<unknown>).then(
        (output) => respond.call(this, output),
        (error: unknown) => this.fail(error),
      );
    } else {
      respond.call(this, result);
    }
  }

  /** Marks the call done: once, with its final code, for metrics and the access log. */
  protected finish(code: Code | 0): void {
    this.done = true;
    cancelDeadline(this);
    this.init.observed.end(code);
    // As Connect's contract says, a handler's signal also aborts when the call completes; only
    // if one was made, and with a reason (no DOMException).
    if (code === 0) this.context.completed();
  }

  /** After the client cancelled: stop whatever still produces output. */
  protected onCancelled(): void {}

  /** The stream closed (listener: `onStreamClose`); before the answer, that is a cancel. */
  streamClosed(): void {
    if (this.done) return;
    // Closed before we answered: the client cancelled (RST_STREAM) or the session went away.
    this.finish(Code.Canceled);
    this.context.abort(new ConnectError("call cancelled by the client", Code.Canceled));
    this.onCancelled();
  }
}

// Shared by every call, finding its call on the stream (`this`): no closure per call.
function onStreamClose(this: ServerHttp2Stream): void {
  callOf<LeanCall<LeanCallInit>>(this)?.streamClosed();
}

// A correlation id is new on every call: indexing it in HPACK's dynamic table would only evict
// the headers that do repeat (content-type, grpc-status), on our side and the peer's.
const neverIndexed: readonly string[] = Object.freeze([correlationIdHeader]);

/** Appends the call's correlation id to raw response headers, marked never-indexed (HPACK). */
export function appendCorrelationId(headers: string[], correlationId: string): void {
  headers.push(correlationIdHeader, correlationId);
  // node:http2 reads the never-indexed names from this symbol, on raw arrays as on objects.
  (headers as string[] & Record<symbol, readonly string[]>)[sensitiveHeaders] = neverIndexed;
}

/** For errors on a stream we have already answered or given up on. */
export function ignore(): void {}
