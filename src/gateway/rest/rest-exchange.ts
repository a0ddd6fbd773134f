import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";

/**
 * One REST call's HTTP side, whichever way it arrived: node's request/response pair
 * (HTTP/1.1, and HTTP/2 requests the lean path leaves to node's compat layer) or a raw
 * HTTP/2 stream (the lean path). serveRest speaks only to this, so both carry the same
 * behaviour; the raw stream spares each call node's two compat objects and their streams.
 */
export interface RestExchange {
  readonly headers: IncomingHttpHeaders;
  /** Where the request body arrives ('data', 'end', 'error'). */
  readonly readable: Readable;
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
  /** Sends a whole answer and ends the exchange. */
  send(status: number, contentType: string, body: string, extra?: OutgoingHttpHeaders): void;
  /** Sends the status and content type of an answer whose body follows in `write` calls. */
  start(status: number, contentType: string): void;
  write(chunk: string): void;
  /** Ends the answer (after `start`), with a last chunk if given; once only. */
  end(chunk?: string): void;
  /** Drops the exchange without an answer: for a bug only, never for a caller's error. */
  destroy(): void;
}
