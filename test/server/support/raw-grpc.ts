import { connect, constants, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import { decodeGrpcMessage } from "../../../src/transport/grpc-message.js";

/** What a raw HTTP/2 exchange returned. */
export interface RawResponse {
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  body: Buffer;
  /** RST_STREAM code received, if the server reset the stream. */
  rstCode: number;
  /** grpc-status from trailers, or from headers for a trailers-only response. */
  status: string | undefined;
  message: string | undefined;
}

/** A gRPC frame: flag byte, 4-byte length, payload. `length` overrides the declared length. */
export function frame(
  payload: Uint8Array,
  options: { compressed?: boolean; length?: number } = {},
) {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = options.compressed ? 1 : 0;
  out.writeUInt32BE(options.length ?? payload.length, 1);
  out.set(payload, 5);
  return out;
}

/**
 * One request on a fresh HTTP/2 connection, written byte by byte as a hostile client would:
 * no gRPC library in the way.
 */
export function rawRequest(
  url: string,
  path: string,
  body: Buffer | undefined,
  headers: OutgoingHttpHeaders = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const session = connect(url);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    const chunks: Buffer[] = [];
    let responseHeaders: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    stream.on("response", (h) => (responseHeaders = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", () => {});
    stream.on("close", () => {
      const status = (trailers["grpc-status"] ?? responseHeaders["grpc-status"]) as
        | string
        | undefined;
      const message = (trailers["grpc-message"] ?? responseHeaders["grpc-message"]) as
        | string
        | undefined;
      session.close();
      resolve({
        headers: responseHeaders,
        trailers,
        body: Buffer.concat(chunks),
        rstCode: stream.rstCode ?? constants.NGHTTP2_NO_ERROR,
        status,
        message: message === undefined ? undefined : decodeGrpcMessage(message),
      });
    });
    if (body) stream.end(body);
    else stream.end();
  });
}
