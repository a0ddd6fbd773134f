import type { UniversalHandler } from "@connectrpc/connect/protocol";
import type { RestExchange } from "./rest/rest-exchange.js";

/**
 * Any request at the gateway's front door, before it is known to be REST, Connect, gRPC-Web
 * or one of the gateway's own endpoints: what the dispatcher in ./create-gateway.ts needs of
 * node's request/response pair (./node-exchange.ts) and of the gateway's own HTTP/2 streams
 * (./wire-exchange.ts) alike.
 */
export interface FrontExchange extends RestExchange {
  /** `GET`, `POST`, … */
  readonly method: string;
  /** The path and query, as sent. */
  readonly url: string;
  /** A header every answer of this exchange carries (CORS, the request id); set before answering. */
  setHeader(name: string, value: string): void;
  /**
   * Serves the request with a connect-es handler (Connect or gRPC-Web; `text` for
   * `application/grpc-web-text`, decoded on the way in and encoded on the way out). The
   * handler's context carries the caller's address under `peerKey`.
   */
  serveConnect(handler: UniversalHandler, text: boolean): void;
}
