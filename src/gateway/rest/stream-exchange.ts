import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { ServerHttp2Stream } from "node:http2";
import type { Readable } from "node:stream";
import { endAfterWrite } from "../../server/end-after-write.js";
import type { RestExchange } from "./rest-exchange.js";

const exchangeOf = Symbol("protomesh.gateway.exchange");
type Carrier = ServerHttp2Stream & { [exchangeOf]?: StreamExchange };

/**
 * A REST call on a raw HTTP/2 stream, the gateway's lean path: headers go out with one
 * `respond` (with our own `date`: left out, node adds it to its copy of the headers, which
 * the profile showed costlier), the body with one write and then `end` (`endAfterWrite` says
 * why), and the close listener is one shared function added with `on` (the exchange rides on
 * the stream, which lives for this call only: no `once` wrapper per event). So a call allocates this object and its
 * AbortController and no compat request/response. Hand-written: connect-node and node's
 * compat layer both wrap every stream in objects of their own.
 */
export class StreamExchange implements RestExchange {
  #abort: AbortController | undefined;
  /** The whole answer is handed to the stream: a close after this is no cancellation. */
  #answered = false;
  #status = 200;
  readonly http1 = false;

  constructor(
    private readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    private readonly requestId: string,
    readonly peer: string,
  ) {}

  get readable(): Readable {
    return this.stream;
  }

  get statusCode(): number {
    return this.#status;
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  get signal(): AbortSignal {
    if (!this.#abort) {
      this.#abort = new AbortController();
      (this.stream as Carrier)[exchangeOf] = this;
      // "aborted": the caller reset the stream (node then ends our side itself); "close"
      // without a finished answer: the connection went.
      this.stream.on("aborted", abortOnClose);
      this.stream.on("close", abortOnClose);
    }
    return this.#abort.signal;
  }

  /** The stream closed or was reset: the caller went away unless the answer was all given. */
  closed(): void {
    if (!this.#answered) this.#abort?.abort();
  }

  send(status: number, contentType: string, body: string, extra?: OutgoingHttpHeaders): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    this.#status = status;
    stream.respond(
      extra
        ? {
            ...extra,
            ":status": status,
            "content-type": contentType,
            "x-request-id": this.requestId,
            date: httpDate(),
          }
        : {
            ":status": status,
            "content-type": contentType,
            "x-request-id": this.requestId,
            date: httpDate(),
          },
    );
    this.#answered = true;
    endAfterWrite(stream, body);
  }

  start(status: number, contentType: string): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    this.#status = status;
    stream.respond({
      ":status": status,
      "content-type": contentType,
      "x-request-id": this.requestId,
      date: httpDate(),
    });
  }

  write(chunk: string): void {
    const stream = this.stream;
    if (!stream.destroyed && !stream.writableEnded) stream.write(chunk);
  }

  end(chunk?: string): void {
    const stream = this.stream;
    if (stream.destroyed || stream.writableEnded) return;
    this.#answered = true;
    if (chunk === undefined) stream.end();
    else stream.end(chunk);
  }

  destroy(): void {
    this.stream.destroy();
  }
}

// Not `writableFinished`: on a raw stream "close" can come before "finish" of a complete answer.
function abortOnClose(this: Carrier): void {
  this[exchangeOf]?.closed();
}

let dateSecond = 0;
let dateText = "";

/** The `date` header node's compat layer sends, formatted once a second, not once a call. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
