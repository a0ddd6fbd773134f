import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import type {
  UniversalHandler,
  UniversalServerRequest,
  UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import type { RequestReader, ServerStream } from "../transport/http2/wire/server-stream.js";
import { peerKey } from "./connect-routes.js";
import type { FrontExchange } from "./front-exchange.js";
import { grpcWebTextRequest, grpcWebTextResponse } from "./grpc-web-text.js";

/**
 * A request on a stream of the gateway's own HTTP/2 server (src/transport/http2/wire/
 * server-connection.ts): the answer's header block is built once from a field list, with no
 * header object, compat request/response or Duplex per call. Hand-written: it is the other
 * half of that server.
 */
export class WireExchange implements FrontExchange {
  readonly http1 = false;
  #abort: AbortController | undefined;
  /** Headers set before the answer (CORS, the request id), as name, value, … */
  #extra: string[] = [];
  #status = 200;
  #body: BodyCollector | undefined;
  /** The answer waits for the caller to take what was written (`drained`). */
  #waiting: (() => void) | undefined;

  constructor(private readonly stream: ServerStream) {
    stream.onClose = streamClosed;
    exchanges.set(stream, this);
  }

  get method(): string {
    return this.stream.headers[":method"] as string;
  }

  get url(): string {
    return this.stream.headers[":path"] as string;
  }

  get headers(): IncomingHttpHeaders {
    return this.stream.headers;
  }

  get peer(): string {
    return this.stream.peer;
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  get statusCode(): number {
    return this.#status;
  }

  get signal(): AbortSignal {
    this.#abort ??= new AbortController();
    if (this.stream.aborted) this.#abort.abort();
    return this.#abort.signal;
  }

  /** The stream closed: a caller gone before the whole answer cancels the call. */
  closed(): void {
    this.#wake();
    if (!this.stream.aborted) return;
    this.#abort?.abort();
    this.#body?.fail();
    this.#body = undefined;
  }

  setHeader(name: string, value: string): void {
    this.#extra.push(name, value);
  }

  collect(limit: number): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      if (this.stream.aborted) {
        reject(new ConnectError("request body aborted", Code.Canceled));
        return;
      }
      this.#body = new BodyCollector(limit, resolve, reject);
      this.stream.read(this.#body);
    });
  }

  discard(): void {
    this.stream.discard();
  }

  end(chunk?: string): void {
    this.stream.end(chunk);
  }

  send(
    status: number,
    contentType: string | undefined,
    body: string,
    extra?: OutgoingHttpHeaders,
  ): void {
    const stream = this.stream;
    if (stream.closed) return;
    if (stream.headersSent) {
      stream.end();
      return;
    }
    this.#status = status;
    const fields = this.#fields(contentType);
    if (extra) for (const name in extra) fields.push(name, String(extra[name]));
    if (body.length === 0) {
      stream.respond(status, fields, true);
      return;
    }
    stream.respond(status, fields);
    stream.end(body);
  }

  start(status: number, contentType: string): void {
    if (this.stream.closed || this.stream.headersSent) return;
    this.#status = status;
    this.stream.respond(status, this.#fields(contentType));
  }

  write(chunk: string): boolean {
    return this.stream.write(chunk);
  }

  drained(): Promise<void> {
    const stream = this.stream;
    if (stream.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiting = resolve;
      stream.onDrain = () => this.#wake();
    });
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.();
  }

  destroy(): void {
    this.stream.reset(0x2);
  }

  serveConnect(handler: UniversalHandler, text: boolean): void {
    const stream = this.stream;
    const headers = stream.headers;
    const header = new Headers();
    for (const name in headers) {
      if (name.charCodeAt(0) === 0x3a) continue;
      header.set(name, headers[name] as string);
    }
    let request: UniversalServerRequest = {
      httpVersion: "2.0",
      method: this.method,
      url: `${headers[":scheme"] ?? "http"}://${headers[":authority"] ?? "localhost"}${this.url}`,
      header,
      body: new StreamBody(stream),
      signal: this.signal,
      contextValues: createContextValues().set(peerKey, this.peer),
    };
    if (text) request = grpcWebTextRequest(request);
    handler(request)
      .then((response) => this.#answer(text ? grpcWebTextResponse(response) : response))
      .catch(() => {
        // The caller went away mid-answer (the upstream call was cancelled with it), or the
        // answer failed: end the stream either way.
        if (!stream.headersSent) this.send(500, undefined, "");
        else stream.reset(0x2);
      });
  }

  /** Writes a connect-es answer: headers after its first chunk (the handler may still set some). */
  async #answer(response: UniversalServerResponse): Promise<void> {
    const stream = this.stream;
    const it = response.body?.[Symbol.asyncIterator]();
    try {
      let chunk = it === undefined ? undefined : await it.next();
      this.#status = response.status;
      const fields = this.#fields(undefined);
      response.header?.forEach((value, name) => {
        fields.push(name, value);
      });
      if (chunk === undefined || chunk.done === true) {
        stream.respond(response.status, fields, true);
        return;
      }
      stream.respond(response.status, fields);
      while (chunk.done !== true) {
        if (!stream.write(chunk.value)) await this.drained();
        if (stream.closed) return;
        chunk = await (it as AsyncIterator<Uint8Array>).next();
      }
      stream.end();
    } finally {
      await it?.return?.();
    }
  }

  /** The answer's fields: those set so far, the content type, and `date` (as node:http2 sends). */
  #fields(contentType: string | undefined): string[] {
    const fields = this.#extra;
    this.#extra = [];
    if (contentType !== undefined) fields.push("content-type", contentType);
    fields.push("date", httpDate());
    return fields;
  }
}

/** Gathers one request body for `collect`, up to its limit. */
class BodyCollector implements RequestReader {
  #chunks: Buffer[] = [];
  #size = 0;
  #settled = false;

  constructor(
    private readonly limit: number,
    private readonly resolve: (body: Buffer | undefined) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  data(chunk: Buffer): void {
    if (this.#settled) return;
    this.#size += chunk.length;
    if (this.#size > this.limit) {
      this.#settled = true;
      this.#chunks = [];
      this.resolve(undefined);
      return;
    }
    this.#chunks.push(chunk);
  }

  end(): void {
    if (this.#settled) return;
    this.#settled = true;
    const chunks = this.#chunks;
    this.resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
  }

  /** The caller went away before the body ended. */
  fail(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.reject(new ConnectError("request body aborted", Code.Canceled));
  }
}

const exchanges = new WeakMap<ServerStream, WireExchange>();

// One shared close listener (no closure per call): the stream finds its exchange.
function streamClosed(stream: ServerStream): void {
  exchanges.get(stream)?.closed();
}

/** A request body as connect-es reads it: chunks in order, ending with the stream's END_STREAM. */
class StreamBody implements AsyncIterable<Uint8Array>, RequestReader {
  #chunks: Buffer[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(private readonly stream: ServerStream) {}

  data(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const stream = this.stream;
    stream.read(this);
    const onClose = stream.onClose;
    stream.onClose = (s) => {
      onClose?.(s);
      this.#wake?.();
    };
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk !== undefined) {
        yield chunk;
        continue;
      }
      if (this.#ended) return;
      if (stream.aborted) throw new ConnectError("request body aborted", Code.Canceled);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}

let dateSecond = 0;
let dateText = "";

/** The `date` header, formatted once a second, not once a call. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
