import type { IncomingHttpHeaders } from "node:http2";
import type { DescMessage, DescMethod, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import {
  type AbortTarget,
  neverAborted,
  unwatchAbort,
  watchAbort,
} from "../../context/abort-watch.js";
import {
  cancelDeadline,
  type DeadlineEntry,
  scheduleDeadline,
} from "../../context/deadline-queue.js";
import { CallNotSent } from "../call-not-sent.js";
import { connectErrorFromAbort } from "../connect-error-from-abort.js";
import { LazyUnaryResponse } from "../lazy-headers.js";
import type { MethodCodec } from "../method-codec.js";
import { codeFromHttpStatus, errorFromStatus } from "./call-status.js";
import type { ClientSession } from "./client-session.js";
import { type FrameSink, GrpcFrameDecoder } from "./grpc-frame-decoder.js";
import type { Http2Channel, PendingCall } from "./http2-channel.js";
import { fillFromIncoming, incomingHeaders } from "./incoming-headers.js";
import type { ClientStream, StreamSink } from "./wire/client-stream.js";
import { h2Error } from "./wire/frames.js";

type Message = MessageShape<DescMessage>;

/** Per transport: what every call shares. */
export interface CallShared {
  readonly channel: Http2Channel;
  /** Largest response message accepted. */
  readonly maxReceiveMessageBytes: number;
  /** Largest request message sent. */
  readonly maxSendMessageBytes: number;
}

/** Pause the response stream while this many messages wait for the caller. */
const queueHighWater = 16;
/** Codes that say an endpoint is unwell (outlier detection counts them as failures). */
const endpointFailures = new Set([
  Code.Unavailable,
  Code.Internal,
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.DataLoss,
]);

/** Frames one request message; refuses one over the send limit. */
export function frameMessage(codec: MethodCodec, message: Message, maxBytes: number): Buffer {
  const bytes = codec.encode(message);
  if (bytes.length > maxBytes) {
    throw new ConnectError(
      `request message of ${bytes.length} bytes exceeds the limit of ${maxBytes}`,
      Code.ResourceExhausted,
    );
  }
  const frame = Buffer.allocUnsafe(5 + bytes.length);
  frame[0] = 0;
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  return frame;
}

/**
 * One gRPC call on the http2 channel, from dispatch to status: unary calls resolve with the
 * response once the trailers arrive; streaming calls resolve when the response headers
 * arrive and yield messages as the caller reads them (a slow reader pauses the stream, so
 * HTTP/2 flow control reaches the server). The call settles exactly once, whichever comes
 * first: the status, a protocol error, the deadline, or the caller's abort (RST_STREAM CANCEL).
 */
export class Http2Call
  implements
    PendingCall,
    AbortTarget,
    DeadlineEntry,
    FrameSink,
    StreamSink,
    AsyncIterableIterator<Message>
{
  /** The deadline queue's bookkeeping (one shared timer, not a `setTimeout` per call). */
  deadlineSlot = -1;
  deadlineAt = 0;
  #session: ClientSession | undefined;
  #stream: ClientStream | undefined;
  /** A streaming request waits here for the stream's `drained`. */
  #drainWaiter: (() => void) | undefined;
  #settled = false;
  #header: IncomingHttpHeaders | undefined;
  #trailer: IncomingHttpHeaders | undefined;
  #decoder: GrpcFrameDecoder | undefined;
  #gzip = false;
  #message: Message | undefined;
  /** The outcome, for outlier detection: a code, or 0 for OK. */
  #code: Code | 0 = 0;
  // Streaming responses only.
  #responded = false;
  #queue: Message[] | undefined;
  #paused = false;
  #end: true | ConnectError | undefined;
  #waitResolve: ((result: IteratorResult<Message>) => void) | undefined;
  #waitReject: ((error: ConnectError) => void) | undefined;
  #trailerHeaders: Headers | undefined;
  #headerHeaders: Headers | undefined;

  /** Positional rather than an init object: one object less per call. */
  constructor(
    private readonly shared: CallShared,
    private readonly codec: MethodCodec,
    private readonly method: DescMethod,
    private readonly signal: AbortSignal,
    private readonly timeoutMs: number | undefined,
    private readonly headers: string[],
    readonly waitForReady: boolean,
    /** The one framed request message of a unary call; undefined for streaming calls. */
    private readonly body: Buffer | undefined,
    /** The request messages of a streaming call. */
    private readonly input: AsyncIterable<unknown> | undefined,
    private readonly resolve: (response: UnaryResponse & StreamResponse) => void,
    private readonly reject: (error: ConnectError) => void,
  ) {}

  /** Sends the call, or queues it for a connection. */
  start(): void {
    const { signal, timeoutMs } = this;
    if (signal.aborted) {
      this.#settled = true;
      this.reject(connectErrorFromAbort(signal.reason));
      return;
    }
    if (signal !== neverAborted) watchAbort(signal, this);
    if (timeoutMs !== undefined) scheduleDeadline(this, timeoutMs);
    this.shared.channel.dispatch(this);
  }

  attach(session: ClientSession): void {
    if (this.#settled) return;
    const connection = session.connection;
    let stream: ClientStream;
    try {
      stream = connection.request(this.headers, this);
    } catch (error) {
      // The session closed under us (GOAWAY, or gone): nothing was sent; pick again.
      session.draining = true;
      if (!connection.open) this.shared.channel.dispatch(this);
      else this.failNotSent(unavailable("the connection refused a new stream", error));
      return;
    }
    session.acquire();
    this.#session = session;
    this.#stream = stream;
    const body = this.body;
    if (body !== undefined) stream.end(body);
    else void this.#sendAll(stream);
  }

  failNotSent(error: ConnectError): void {
    if (this.#settled) return;
    this.#code = error.code;
    this.#settle(error);
  }

  abort(reason: unknown): void {
    this.#cancel(connectErrorFromAbort(reason));
  }

  deadlinePassed(): void {
    this.#cancel(new ConnectError("the call's deadline passed", Code.DeadlineExceeded));
  }

  async #sendAll(stream: ClientStream): Promise<void> {
    const { codec, shared } = this;
    try {
      for await (const value of this.input ?? []) {
        if (this.#settled || stream.closed) return;
        const frame = frameMessage(codec, codec.normalize(value), shared.maxSendMessageBytes);
        if (!stream.write(frame)) {
          await new Promise<void>((resolve) => {
            this.#drainWaiter = resolve;
          });
        }
      }
      stream.end();
    } catch (error) {
      this.#cancel(ConnectError.from(error, Code.Internal));
    }
  }

  responseArrived(headers: IncomingHttpHeaders): void {
    this.#header = headers;
    if (this.#settled) return;
    if (headers["grpc-status"] !== undefined) {
      // Trailers-only: the status is here; the stream ends now.
      this.#trailer = headers;
      return;
    }
    // node gives `:status` as a number, though typed as a string.
    const status = Number(headers[":status"]);
    if (status !== 200) {
      this.#cancel(
        new ConnectError(
          `HTTP status ${status} without a gRPC status`,
          codeFromHttpStatus(status),
          incomingHeaders(headers),
        ),
      );
      return;
    }
    const contentType = headers["content-type"];
    if (contentType === undefined || !contentType.startsWith("application/grpc")) {
      this.#cancel(
        new ConnectError(`unexpected content-type ${String(contentType)}`, Code.Unknown),
      );
      return;
    }
    const encoding = headers["grpc-encoding"];
    if (encoding === "gzip") this.#gzip = true;
    else if (encoding !== undefined && encoding !== "identity") {
      this.#cancel(new ConnectError(`unsupported grpc-encoding ${encoding}`, Code.Internal));
      return;
    }
    if (this.body === undefined) this.#respond();
  }

  dataArrived(chunk: Buffer): void {
    if (this.#settled) return;
    this.#decoder ??= new GrpcFrameDecoder(this.shared.maxReceiveMessageBytes);
    try {
      this.#decoder.push(chunk, this);
    } catch (error) {
      this.#cancel(ConnectError.from(error, Code.Internal));
    }
  }

  frame(compressed: boolean, data: Uint8Array): void {
    let bytes = data;
    if (compressed) {
      if (!this.#gzip) {
        throw new ConnectError(
          "protocol error: compressed message without grpc-encoding",
          Code.Internal,
        );
      }
      const max = this.shared.maxReceiveMessageBytes;
      try {
        // Loaded on the first compressed message: most processes never get one, and a
        // one-shot command (the CLI) should not pay for loading zlib.
        bytes = process
          .getBuiltinModule("node:zlib")
          .gunzipSync(data, { maxOutputLength: Math.max(max, 1) });
      } catch (error) {
        throw (error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE"
          ? new ConnectError(
              `decompressed message exceeds the limit of ${max}`,
              Code.ResourceExhausted,
            )
          : new ConnectError("invalid gzip message", Code.Internal, undefined, undefined, error);
      }
    }
    let message: Message;
    try {
      // The decoder hands plain views; gunzip hands a Buffer, which deserialize re-views.
      message = compressed ? this.codec.deserialize(bytes) : this.codec.decode(bytes);
    } catch (error) {
      throw new ConnectError(`failed to parse the response: ${String(error)}`, Code.Internal);
    }
    if (this.body !== undefined) {
      if (this.#message !== undefined) {
        throw new ConnectError(
          "protocol error: received extra output message for unary method",
          Code.Unimplemented,
        );
      }
      this.#message = message;
      return;
    }
    const resolve = this.#waitResolve;
    if (resolve !== undefined) {
      this.#waitResolve = this.#waitReject = undefined;
      resolve({ done: false, value: message });
      return;
    }
    let queue = this.#queue;
    if (queue === undefined) {
      queue = [];
      this.#queue = queue;
    }
    queue.push(message);
    if (queue.length >= queueHighWater && !this.#paused) {
      this.#paused = true;
      this.#stream?.pause();
    }
  }

  trailersArrived(trailers: IncomingHttpHeaders): void {
    this.#trailer = trailers;
  }

  drained(): void {
    const waiter = this.#drainWaiter;
    this.#drainWaiter = undefined;
    waiter?.();
  }

  /** The stream closed: the call ends with the status, or with why there was none. */
  closed(): void {
    this.drained();
    const session = this.#session;
    const stream = this.#stream;
    if (session === undefined || stream === undefined) return;
    this.#session = undefined;
    if (!this.#settled) this.#finish(session, stream);
    if (this.shared.channel.countsCalls) {
      session.owner.callEnded(this.#code === 0 || !endpointFailures.has(this.#code));
    }
    session.release();
  }

  #finish(session: ClientSession, stream: ClientStream): void {
    const trailer = this.#trailer;
    if (trailer !== undefined) {
      const error =
        errorFromStatus(trailer, this.#header) ??
        ((this.#decoder?.leftover ?? 0) > 0
          ? new ConnectError("protocol error: the response ended inside a message", Code.Internal)
          : undefined);
      if (error !== undefined) {
        this.#code = error.code;
        this.#settle(error);
        return;
      }
      if (this.body === undefined) {
        if (!this.#responded) this.#respond();
        this.#settle(undefined);
        return;
      }
      const message = this.#message;
      if (message === undefined) {
        this.#code = Code.Unimplemented;
        this.#settle(
          new ConnectError(
            "protocol error: missing output message for unary method",
            Code.Unimplemented,
          ),
        );
        return;
      }
      this.#settled = true;
      this.#unwatch();
      this.resolve(
        new LazyUnaryResponse(
          this.method.parent,
          this.method as UnaryResponse["method"],
          message,
          this.#header,
          trailer,
          fillFromIncoming,
        ) as unknown as UnaryResponse & StreamResponse,
      );
      return;
    }
    const error = this.#closedWithoutStatus(session, stream);
    this.#code = error.code;
    this.#settle(error);
  }

  #closedWithoutStatus(session: ClientSession, stream: ClientStream): ConnectError {
    const code = stream.rstCode;
    if (this.#header === undefined) {
      if (code === h2Error.refusedStream) {
        return unavailable("the server refused the stream before processing it (REFUSED_STREAM)");
      }
      if (stream.id > session.lastStreamId) {
        return unavailable("the server's GOAWAY came before it processed the call");
      }
    }
    // This side failed the stream: the response broke the protocol.
    if (stream.error !== undefined) return new ConnectError(stream.error, Code.Internal);
    // The connection closes its streams synchronously, so a stream that closed with it was not
    // reset by the server first.
    if (session.connection.destroyed) {
      const reason = session.error?.message ?? "the connection was lost";
      return new ConnectError(
        `connection lost: ${reason}`,
        Code.Unavailable,
        undefined,
        undefined,
        session.error,
      );
    }
    switch (code) {
      case h2Error.refusedStream:
        return new ConnectError("the server refused the stream", Code.Unavailable);
      case h2Error.cancel:
        return new ConnectError("the server cancelled the call (RST_STREAM CANCEL)", Code.Canceled);
      case h2Error.enhanceYourCalm:
        return new ConnectError(
          "the server reset the stream: ENHANCE_YOUR_CALM",
          Code.ResourceExhausted,
        );
      case h2Error.inadequateSecurity:
        return new ConnectError(
          "the server reset the stream: INADEQUATE_SECURITY",
          Code.PermissionDenied,
        );
      default:
        return new ConnectError(
          code === 0
            ? "protocol error: the response ended without a grpc-status"
            : `the server reset the stream (HTTP/2 error ${code})`,
          Code.Internal,
        );
    }
  }

  /**
   * Ends the call from this side: RST_STREAM(CANCEL) if it went out, then the error. Messages
   * received but not yet read are dropped: the caller asked to stop, or the call is broken.
   */
  #cancel(error: ConnectError): void {
    if (this.#settled) return;
    this.#code = error.code;
    this.#queue = undefined;
    // Settled first: the reset closes the stream at once, and `closed` must not settle again.
    this.#settle(error);
    const stream = this.#stream;
    if (stream !== undefined) stream.cancel(h2Error.cancel);
    else this.shared.channel.remove(this);
  }

  #unwatch(): void {
    cancelDeadline(this);
    const signal = this.signal;
    if (signal !== neverAborted) unwatchAbort(signal, this);
  }

  /** Resolves a streaming call: headers now, messages as read, trailer filled at the end. */
  #respond(): void {
    this.#responded = true;
    this.resolve(
      new Http2StreamResponse(this, this.method) as unknown as UnaryResponse & StreamResponse,
    );
  }

  /** A streaming response's headers as web `Headers`, made when first read. */
  responseHeader(): Headers {
    this.#headerHeaders ??= incomingHeaders(this.#header);
    return this.#headerHeaders;
  }

  /**
   * A streaming response's trailer as web `Headers`, made when first read: empty until the
   * call ends, when it is filled (or filled at once when read after the end).
   */
  responseTrailer(): Headers {
    if (this.#trailerHeaders === undefined) {
      this.#trailerHeaders = new Headers();
      const trailer = this.#trailer;
      if (this.#end !== undefined && trailer !== undefined) {
        fillFromIncoming(trailer, this.#trailerHeaders);
      }
    }
    return this.#trailerHeaders;
  }

  /** Settles once: an error, or (streaming) the end of the messages. */
  #settle(error: ConnectError | undefined): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#unwatch();
    if (!this.#responded) {
      this.reject(error ?? new ConnectError("call ended", Code.Internal));
      return;
    }
    const trailer = this.#trailer;
    if (trailer !== undefined && this.#trailerHeaders !== undefined) {
      fillFromIncoming(trailer, this.#trailerHeaders);
    }
    this.#end = error ?? true;
    if (this.#waitResolve !== undefined && (this.#queue?.length ?? 0) === 0) this.#wake();
  }

  #wake(): void {
    const resolve = this.#waitResolve;
    const reject = this.#waitReject;
    this.#waitResolve = this.#waitReject = undefined;
    const end = this.#end;
    if (end === true) resolve?.({ done: true, value: undefined });
    else if (end !== undefined) reject?.(end);
  }

  // The response messages of a streaming call.
  next(): Promise<IteratorResult<Message>> {
    const queue = this.#queue;
    if (queue !== undefined && queue.length > 0) {
      const value = queue.shift() as Message;
      if (this.#paused && queue.length < queueHighWater / 2) {
        this.#paused = false;
        this.#stream?.resume();
      }
      return Promise.resolve({ done: false, value });
    }
    const end = this.#end;
    if (end === true) return Promise.resolve({ done: true, value: undefined });
    if (end !== undefined) return Promise.reject(end);
    return new Promise((resolve, reject) => {
      this.#waitResolve = resolve;
      this.#waitReject = reject;
    });
  }

  return(): Promise<IteratorResult<Message>> {
    this.#cancel(new ConnectError("the caller stopped reading the response", Code.Canceled));
    this.#end = true;
    this.#queue = undefined;
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return this;
  }
}

function unavailable(message: string, cause?: unknown): ConnectError {
  return new ConnectError(
    message,
    Code.Unavailable,
    undefined,
    undefined,
    new CallNotSent(message, cause === undefined ? undefined : { cause }),
  );
}

/**
 * A streaming call's response: its `header` and `trailer` are web `Headers` made only when
 * read (the global `Headers` loads undici on first use, and most callers read neither).
 */
class Http2StreamResponse {
  readonly stream = true;
  readonly service: DescMethod["parent"];
  readonly method: DescMethod;
  readonly message: Http2Call;

  constructor(call: Http2Call, method: DescMethod) {
    this.service = method.parent;
    this.method = method;
    this.message = call;
  }

  get header(): Headers {
    return this.message.responseHeader();
  }

  get trailer(): Headers {
    return this.message.responseTrailer();
  }
}
