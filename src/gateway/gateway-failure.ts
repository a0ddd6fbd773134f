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

/** An error's answer: its HTTP status, the headers it needs, its `google.rpc.Status` JSON. */
export interface FailureAnswer {
  readonly status: number;
  /** `allow` (405) and `www-authenticate` (401) when they apply; else undefined. */
  readonly headers: Record<string, string> | undefined;
  readonly body: string;
}

/** The answer to an error: GatewayFailure's own status, else the gRPC code's mapping. */
export function failureAnswer(error: unknown, registry: Registry | undefined): FailureAnswer {
  const e = ConnectError.from(error);
  // Not instanceof: ConnectError's Symbol.hasInstance matches any ConnectError.
  const failure =
    (e as Partial<GatewayFailure>).httpStatus === undefined ? undefined : (e as GatewayFailure);
  let headers: Record<string, string> | undefined;
  if (failure?.allow) headers = { allow: failure.allow.join(", ") };
  const challenge = e.metadata.get("www-authenticate");
  if (challenge) headers = { ...headers, "www-authenticate": challenge };
  return {
    status: failure ? failure.httpStatus : httpStatusOf(e.code),
    headers,
    body: JSON.stringify(statusJson(e, registry)),
  };
}

export const notFound = (): GatewayFailure =>
  new GatewayFailure(404, "no such route", Code.NotFound);
