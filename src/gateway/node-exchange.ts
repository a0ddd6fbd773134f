import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import type { NodeRequest, NodeResponse } from "../gateway-failure.js";
import type { RestExchange } from "./rest-exchange.js";

/**
 * A REST call on node's request/response pair: HTTP/1.1, and HTTP/2 through node's compat
 * layer (cross-origin requests, whose CORS headers are set on the response before this).
 */
export class NodeExchange implements RestExchange {
  #abort: AbortController | undefined;

  constructor(
    private readonly request: NodeRequest,
    private readonly response: NodeResponse,
  ) {}

  get headers() {
    return this.request.headers;
  }

  get readable(): Readable {
    return this.request;
  }

  get http1(): boolean {
    return this.request.httpVersionMajor < 2;
  }

  get peer(): string {
    const s = this.request.socket;
    return `${s.remoteAddress ?? "unknown"}:${s.remotePort ?? 0}`;
  }

  get headersSent(): boolean {
    return this.response.headersSent;
  }

  get statusCode(): number {
    return this.response.statusCode;
  }

  get signal(): AbortSignal {
    if (!this.#abort) {
      const abort = new AbortController();
      const response = this.response;
      response.once("close", () => {
        if (!response.writableFinished) abort.abort();
      });
      // HTTP/2: a caller's RST_STREAM ends our side gracefully, so "close" comes late, with
      // the answer "finished"; "aborted" says it at once.
      if (!this.http1) this.request.once("aborted", () => abort.abort());
      this.#abort = abort;
    }
    return this.#abort.signal;
  }

  send(status: number, contentType: string, body: string, extra?: OutgoingHttpHeaders): void {
    const r = this.response;
    r.statusCode = status;
    r.setHeader("content-type", contentType);
    if (extra) for (const name in extra) r.setHeader(name, extra[name] as string);
    r.end(body);
  }

  start(status: number, contentType: string): void {
    this.response.statusCode = status;
    this.response.setHeader("content-type", contentType);
  }

  write(chunk: string): void {
    (this.response as ServerResponse).write(chunk);
  }

  end(chunk?: string): void {
    if (chunk === undefined) this.response.end();
    else this.response.end(chunk);
  }

  destroy(): void {
    this.response.destroy();
  }
}
