import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from "node:http2";
import { rootCertificates } from "node:tls";
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescMethodStreaming,
  type DescMethodUnary,
  fromBinary,
  isMessage,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";

/** What `createCliGrpcTransport` connects to. */
export interface CliGrpcTransportOptions {
  /**
   * `http://host:port` (h2c, prior knowledge) or `https://host:port` (TLS, ALPN h2); a path is
   * a prefix of every method's path.
   */
  readonly url: URL;
  /** PEM CA certificates to trust for https:// besides Node's root CAs. Default: none. */
  readonly ca?: Buffer | undefined;
}

/** A gRPC transport on one HTTP/2 connection, opened on the first call; `close` ends it. */
export interface CliGrpcTransport extends Transport {
  close(): void;
}

type HeaderInit = Parameters<Transport["unary"]>[3];

/** Headers the transport writes itself, or that HTTP/2 forbids: a caller's values are dropped. */
const reserved = new Set([
  "content-type",
  "content-length",
  "te",
  "user-agent",
  "grpc-timeout",
  "grpc-encoding",
  "grpc-accept-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
]);

/**
 * gRPC over `node:http2` for the reflection-driven verbs, as a Connect `Transport` (so
 * `createClient` drives reflection and health). Written by hand because what a cold
 * `protomesh call` loads is most of its time: connect-node's transports build web `Headers`
 * per call and import `node:http` as a namespace, and either loads all of undici into the
 * process; this builds none until an error or a caller reads a response's headers. The
 * in-tree http2 transport (src/transport/http2) is the long-lived client's: it loads grpc-js
 * and OpenTelemetry for its error and context paths, which a one-shot command never needs.
 *
 * One connection, no retries, no compression (none is offered, so servers send none); every
 * call sends its requests, then half-closes, then reads responses to the trailers. A command
 * makes a handful of calls, so no codec caches either.
 */
export function createCliGrpcTransport(options: CliGrpcTransportOptions): CliGrpcTransport {
  const origin = `${options.url.protocol}//${options.url.host}`;
  const prefix = options.url.pathname.replace(/\/$/, "");
  let session: ClientHttp2Session | undefined;
  let sessionError: Error | undefined;

  const open = (): ClientHttp2Session => {
    if (session !== undefined && !session.closed && !session.destroyed) return session;
    sessionError = undefined;
    // --cacert adds to the CAs Node trusts by default (its `ca` alone would replace them).
    const opened = connect(
      origin,
      options.url.protocol === "https:" && options.ca !== undefined
        ? { ca: [...rootCertificates, options.ca] }
        : {},
    );
    // The streams fail with it too; kept for a stream that closes without saying why.
    opened.on("error", (error: Error) => {
      sessionError = error;
    });
    session = opened;
    return opened;
  };

  const start = <I extends DescMessage, O extends DescMessage>(
    method: DescMethod & { input: I; output: O },
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeaderInit,
    input: AsyncIterable<MessageInitShape<I>> | readonly MessageInitShape<I>[],
  ): GrpcCall<O> => {
    const headers = requestHeaders(`${prefix}/${method.parent.typeName}/${method.name}`, header);
    if (timeoutMs !== undefined) headers["grpc-timeout"] = grpcTimeout(timeoutMs);
    const call = new GrpcCall<O>(method.output, () => sessionError);
    if (signal?.aborted) {
      call.fail(abortError(signal));
      return call;
    }
    let stream: ClientHttp2Stream;
    try {
      stream = open().request(headers);
    } catch (error) {
      call.fail(error as Error);
      return call;
    }
    call.attach(stream, signal);
    void send(stream, method.input, input).catch((error: unknown) => {
      call.fail(ConnectError.from(error));
      stream.close(constants.NGHTTP2_CANCEL);
    });
    return call;
  };

  return {
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeaderInit,
      input: MessageInitShape<I>,
    ): Promise<UnaryResponse<I, O>> {
      const call = start(method, signal, timeoutMs, header, [input]);
      await call.headers;
      let message: MessageShape<O> | undefined;
      for await (const received of call) {
        if (message !== undefined) {
          throw new ConnectError(
            "protocol error: more than one response message",
            Code.Unimplemented,
          );
        }
        message = received;
      }
      if (message === undefined) {
        throw new ConnectError("protocol error: missing response message", Code.Unimplemented);
      }
      return {
        stream: false,
        service: method.parent,
        method,
        message,
        get header() {
          return call.responseHeader();
        },
        get trailer() {
          return call.responseTrailer();
        },
      };
    },
    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeaderInit,
      input: AsyncIterable<MessageInitShape<I>>,
    ): Promise<StreamResponse<I, O>> {
      const call = start(method, signal, timeoutMs, header, input);
      await call.headers;
      return {
        stream: true,
        service: method.parent,
        method,
        message: call,
        get header() {
          return call.responseHeader();
        },
        get trailer() {
          return call.responseTrailer();
        },
      };
    },
    close() {
      session?.destroy();
    },
  };
}

async function send<I extends DescMessage>(
  stream: ClientHttp2Stream,
  schema: I,
  input: AsyncIterable<MessageInitShape<I>> | readonly MessageInitShape<I>[],
): Promise<void> {
  for await (const init of input) {
    if (stream.destroyed) return;
    const message = isMessage(init, schema) ? init : create(schema, init as MessageInitShape<I>);
    const body = toBinary(schema, message);
    const frame = Buffer.allocUnsafe(5 + body.length);
    frame[0] = 0;
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    stream.write(frame);
  }
  if (!stream.destroyed) stream.end();
}

/**
 * One call's responses: an async iterable of messages (the stream's `message`), the response
 * headers' arrival as a promise, and the outcome once the trailers come. Failures are kept
 * until someone reads, so a call nobody reads to its end never rejects unhandled.
 */
class GrpcCall<O extends DescMessage> implements AsyncIterable<MessageShape<O>> {
  /** Resolves when the response headers arrive; rejects when the call fails before that. */
  readonly headers: Promise<void>;
  #headersSettled = false;
  #resolveHeaders!: () => void;
  #rejectHeaders!: (error: Error) => void;
  readonly #schema: O;
  readonly #sessionError: () => Error | undefined;
  readonly #messages: MessageShape<O>[] = [];
  #pending: Buffer = Buffer.alloc(0);
  #error: Error | undefined;
  #done = false;
  #wake: (() => void) | undefined;
  #incoming: IncomingHttpHeaders = {};
  #trailers: IncomingHttpHeaders = {};

  constructor(schema: O, sessionError: () => Error | undefined) {
    this.#schema = schema;
    this.#sessionError = sessionError;
    this.headers = new Promise<void>((resolve, reject) => {
      this.#resolveHeaders = resolve;
      this.#rejectHeaders = reject;
    });
    // Read by `unary` and `stream`, and by nobody when a later failure settles it.
    this.headers.catch(() => {});
  }

  attach(stream: ClientHttp2Stream, signal: AbortSignal | undefined): void {
    const onAbort = () => {
      this.fail(abortError(signal));
      stream.close(constants.NGHTTP2_CANCEL);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    stream.on("response", (headers: IncomingHttpHeaders) => {
      this.#incoming = headers;
      const status = Number(headers[":status"]);
      if (status !== 200) {
        this.fail(new ConnectError(`HTTP ${status} from the server`, codeFromHttpStatus(status)));
        stream.close(constants.NGHTTP2_CANCEL);
        return;
      }
      // Trailers-only: the status comes in the headers, with no body.
      if (headers["grpc-status"] !== undefined) this.#trailers = headers;
      else this.#settleHeaders();
    });
    stream.on("data", (chunk: Buffer) => this.#receive(chunk));
    stream.on("trailers", (trailers: IncomingHttpHeaders) => {
      this.#trailers = trailers;
    });
    stream.on("error", (error: Error) => this.fail(error));
    stream.on("close", () => {
      signal?.removeEventListener("abort", onAbort);
      this.#finish(stream.rstCode);
    });
  }

  fail(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    this.#rejectHeaders(error);
    this.#headersSettled = true;
    this.#wake?.();
  }

  responseHeader(): Headers {
    return toHeaders(this.#incoming);
  }

  responseTrailer(): Headers {
    return toHeaders(this.#trailers);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<MessageShape<O>> {
    for (;;) {
      const next = this.#messages.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#done) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }

  #settleHeaders(): void {
    if (this.#headersSettled) return;
    this.#headersSettled = true;
    this.#resolveHeaders();
  }

  #receive(chunk: Buffer): void {
    if (this.#done) return;
    let buffer = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (buffer.length >= 5) {
      const length = buffer.readUInt32BE(1);
      if (buffer.length < 5 + length) break;
      if ((buffer[0] ?? 0) & 1) {
        this.fail(
          new ConnectError("protocol error: a compressed message, none was offered", Code.Internal),
        );
        return;
      }
      try {
        this.#messages.push(fromBinary(this.#schema, buffer.subarray(5, 5 + length)));
      } catch (error) {
        this.fail(
          new ConnectError(
            `cannot decode the response: ${(error as Error).message}`,
            Code.Internal,
          ),
        );
        return;
      }
      buffer = buffer.subarray(5 + length);
    }
    this.#pending = buffer;
    this.#wake?.();
  }

  #finish(rstCode: number | undefined): void {
    if (this.#done) return;
    const status = this.#trailers["grpc-status"];
    if (status === undefined) {
      const cause = this.#sessionError();
      this.fail(
        cause ??
          new ConnectError(
            `the stream closed without a status (HTTP/2 code ${rstCode ?? "none"})`,
            rstCode === constants.NGHTTP2_REFUSED_STREAM ? Code.Unavailable : Code.Internal,
          ),
      );
      return;
    }
    if (status === "0") {
      if (this.#pending.length > 0) {
        this.fail(new ConnectError("protocol error: a truncated message", Code.Internal));
        return;
      }
      this.#settleHeaders();
      this.#done = true;
      this.#wake?.();
      return;
    }
    this.fail(statusError(this.#trailers));
  }
}

/** The call's status as a ConnectError, with `grpc-status-details-bin` details decoded. */
function statusError(trailers: IncomingHttpHeaders): ConnectError {
  return (
    findTrailerError(toHeaders(trailers)) ??
    new ConnectError("protocol error: a malformed grpc-status", Code.Internal)
  );
}

function requestHeaders(path: string, init: HeaderInit): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc+proto",
    te: "trailers",
    "user-agent": "protomesh-cli",
  };
  const add = (value: string, key: string) => {
    const name = key.toLowerCase();
    if (reserved.has(name) || name.startsWith(":")) return;
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else headers[name] = [...(Array.isArray(previous) ? previous : [String(previous)]), value];
  };
  if (init === undefined) return headers;
  if (Array.isArray(init)) {
    for (const [key, value] of init as [string, string][]) add(value, key);
  } else if (typeof (init as Headers).forEach === "function") {
    (init as Headers).forEach(add);
  } else {
    for (const [key, value] of Object.entries(init as Record<string, string>)) add(value, key);
  }
  return headers;
}

/** gRPC's `grpc-timeout`: at most 8 digits, so milliseconds up to a day, then seconds. */
function grpcTimeout(timeoutMs: number): string {
  const ms = Math.max(1, Math.ceil(timeoutMs));
  return ms <= 99_999_999 ? `${ms}m` : `${Math.ceil(ms / 1000)}S`;
}

/** Web `Headers`, built only when asked for: making one loads undici. */
function toHeaders(incoming: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(incoming)) {
    if (key.startsWith(":") || value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(key, one);
  }
  return headers;
}

/** gRPC's mapping of an HTTP status with no grpc-status (doc/http-grpc-status-mapping.md). */
function codeFromHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

function abortError(signal: AbortSignal | undefined): ConnectError {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return new ConnectError(reason.message, Code.DeadlineExceeded, undefined, undefined, reason);
  }
  return new ConnectError("the call was cancelled", Code.Canceled, undefined, undefined, reason);
}
