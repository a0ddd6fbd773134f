import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Registry } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { httpStatusOf } from "./http-status-of.js";
import { statusJson } from "./status-json.js";

export type NodeRequest = IncomingMessage | Http2ServerRequest;
export type NodeResponse = ServerResponse | Http2ServerResponse;

/**
 * A failure the gateway answers with an HTTP status of its own choosing where HTTP has a
 * better word than the gRPC code's mapping: 405 (+ Allow), 413, 415.
 */
export class GatewayFailure extends ConnectError {
  constructor(
    readonly httpStatus: number,
    message: string,
    code: Code,
    readonly allow?: readonly string[],
  ) {
    super(message, code);
  }
}

/** Sends an error as a `google.rpc.Status` JSON body with its HTTP status. */
export function sendStatusJson(
  response: NodeResponse,
  error: unknown,
  registry: Registry | undefined,
): void {
  const e = ConnectError.from(error);
  if (response.headersSent) {
    response.end();
    return;
  }
  // Not instanceof: ConnectError's Symbol.hasInstance matches any ConnectError.
  const failure =
    (e as Partial<GatewayFailure>).httpStatus === undefined ? undefined : (e as GatewayFailure);
  response.statusCode = failure ? failure.httpStatus : httpStatusOf(e.code);
  if (failure?.allow) response.setHeader("allow", failure.allow.join(", "));
  const challenge = e.metadata.get("www-authenticate");
  if (challenge) response.setHeader("www-authenticate", challenge);
  response.setHeader("content-type", "application/json");
  response.end(JSON.stringify(statusJson(e, registry)));
}

export const notFound = (): GatewayFailure =>
  new GatewayFailure(404, "no such route", Code.NotFound);
