import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

/**
 * One REST call's HTTP side, whichever way it arrived: node's request/response pair
 * (HTTP/1.1, and a gateway mounted by `handle` on a server of your own) or a stream of the
 * gateway's own HTTP/2 server (../wire-exchange.ts). serveRest speaks only to this, so both
 * carry the same behaviour.
 */
export interface RestExchange {
  readonly headers: IncomingHttpHeaders;
  /** HTTP/1.x: no body follows when there is neither content-length nor chunked encoding. */
  readonly http1: boolean;
  /** The caller's address, "ip:port". */
  readonly peer: string;
  readonly headersSent: boolean;
  /** The HTTP status sent (meaningful once `headersSent`). */
  readonly statusCode: number;
  /**
   * The signal the upstream call is cancelled by: it aborts when the caller goes away before
   * the answer is complete. One per call, made on first use.
   */
  readonly signal: AbortSignal;
  /**
   * Reads the whole request body: undefined when it passes `limit` bytes (the rest is thrown
   * away as it comes); rejects when the caller goes away first.
   */
  collect(limit: number): Promise<Buffer | undefined>;
  /** Throws the request body away as it comes: for answers that need none. */
  discard(): void;
  /** Sends a whole answer (no content type with `undefined`) and ends the exchange. */
  send(
    status: number,
    contentType: string | undefined,
    body: string,
    extra?: OutgoingHttpHeaders,
  ): void;
  /** Sends the status and content type of an answer whose body follows in `write` calls. */
  start(status: number, contentType: string): void;
  /**
   * Queues part of the answer (after `start`): false when the caller is not taking it as fast
   * as it comes, and `drained` should be awaited before the next.
   */
  write(chunk: string): boolean;
  /**
   * Resolves once the caller has taken what `write` queued, or is gone: a server stream pulls
   * its next message from upstream only then, so a slow reader holds the upstream call back
   * (HTTP/2 flow control) instead of filling the gateway's memory.
   */
  drained(): Promise<void>;
  /** Ends the answer (after `start`), with a last chunk if given; once only. */
  end(chunk?: string): void;
  /** Drops the exchange without an answer: for a bug only, never for a caller's error. */
  destroy(): void;
}
