import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import {
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { peerKey } from "./connect-routes.js";
import type { FrontExchange } from "./front-exchange.js";
import type { NodeRequest, NodeResponse } from "./gateway-failure.js";
import { grpcWebTextRequest, grpcWebTextResponse } from "./grpc-web-text.js";

/**
 * A request on node's request/response pair: HTTP/1.1 at the gateway's own front door, and
 * any request of a server of your own that mounts the gateway's `handle` (HTTP/1.1 or HTTP/2
 * compat).
 */
export class NodeExchange implements FrontExchange {
  #abort: AbortController | undefined;

  constructor(
    private readonly request: NodeRequest,
    private readonly response: NodeResponse,
  ) {}

  get method(): string {
    return this.request.method ?? "GET";
  }

  get url(): string {
    return this.request.url ?? "/";
  }

  get headers() {
    return this.request.headers;
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

  setHeader(name: string, value: string): void {
    this.response.setHeader(name, value);
  }

  collect(limit: number): Promise<Buffer | undefined> {
    const request = this.request;
    return new Promise((resolve, reject) => {
      (request as BodySource)[bodyRead] = { chunks: [], size: 0, limit, resolve, reject };
      request.on("data", onBodyData);
      request.on("end", onBodyEnd);
      request.on("error", onBodyError);
    });
  }

  discard(): void {
    this.request.resume();
  }

  send(
    status: number,
    contentType: string | undefined,
    body: string,
    extra?: OutgoingHttpHeaders,
  ): void {
    const r = this.response;
    if (r.headersSent) {
      r.end();
      return;
    }
    r.statusCode = status;
    if (contentType !== undefined) r.setHeader("content-type", contentType);
    if (extra) for (const name in extra) r.setHeader(name, extra[name] as string);
    r.end(body);
  }

  start(status: number, contentType: string): void {
    this.response.statusCode = status;
    this.response.setHeader("content-type", contentType);
  }

  write(chunk: string): boolean {
    return (this.response as ServerResponse).write(chunk);
  }

  drained(): Promise<void> {
    // The signal, not "close": an HTTP/2 compat response whose stream is already gone says
    // `write` false with its "close" long past (and no `destroyed` to tell), and the signal
    // has aborted by then.
    const signal = this.signal;
    if (signal.aborted || this.response.writableEnded) return Promise.resolve();
    const response = this.response;
    return new Promise((resolve) => {
      const done = () => {
        response.off("drain", done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      response.on("drain", done);
      signal.addEventListener("abort", done);
    });
  }

  end(chunk?: string): void {
    if (chunk === undefined) this.response.end();
    else this.response.end(chunk);
  }

  destroy(): void {
    this.response.destroy();
  }

  serveConnect(handler: UniversalHandler, text: boolean): void {
    const { request, response } = this;
    const values = createContextValues().set(peerKey, this.peer);
    let uReq = universalRequestFromNodeRequest(request, response, undefined, values);
    if (text) uReq = grpcWebTextRequest(uReq);
    handler(uReq)
      .then((uRes) =>
        universalResponseToNodeResponse(text ? grpcWebTextResponse(uRes) : uRes, response),
      )
      .catch(() => {
        // The caller went away mid-response; the upstream call was cancelled with it.
        if (!response.headersSent) response.statusCode = 500;
        response.end();
      });
  }
}

const bodyRead = Symbol("protomesh.gateway.body");

/** One body being read: its state rides on the request, so the listeners are shared functions. */
interface BodyRead {
  readonly chunks: Buffer[];
  size: number;
  readonly limit: number;
  resolve: ((body: Buffer | undefined) => void) | undefined;
  readonly reject: (error: unknown) => void;
}
type BodySource = NodeRequest & { [bodyRead]?: BodyRead };

// Shared listeners (a request's body is read once; `this` is the request), added with `on`:
// no closure, no `once` wrapper per call.
function onBodyData(this: BodySource, chunk: Buffer): void {
  const read = this[bodyRead];
  if (!read?.resolve) return;
  read.size += chunk.length;
  if (read.size > read.limit) {
    const resolve = read.resolve;
    read.resolve = undefined;
    this.removeListener("data", onBodyData);
    this.resume();
    resolve(undefined);
    return;
  }
  read.chunks.push(chunk);
}

function onBodyEnd(this: BodySource): void {
  const read = this[bodyRead];
  const resolve = read?.resolve;
  if (!read || !resolve) return;
  read.resolve = undefined;
  const { chunks } = read;
  resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
}

function onBodyError(this: BodySource, e: Error): void {
  const read = this[bodyRead];
  if (!read?.resolve) return;
  read.resolve = undefined;
  read.reject(new ConnectError("request body aborted", Code.Canceled, undefined, undefined, e));
}
