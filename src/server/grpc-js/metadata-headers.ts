import { decodeBinaryHeader, encodeBinaryHeader } from "@connectrpc/connect";
import { Metadata } from "@grpc/grpc-js";

/**
 * grpc-js request metadata as web `Headers`, the shape Connect handlers read. Binary (`-bin`)
 * values arrive as Buffers and are base64-encoded, as they travel on the wire, so
 * `decodeBinaryHeader` reads them back exactly as on the Connect engines.
 */
export function headersFromMetadata(metadata: Metadata): Headers {
  const headers = new Headers();
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    for (const value of values) {
      headers.append(key, typeof value === "string" ? value : encodeBinaryHeader(value));
    }
  }
  return headers;
}

/**
 * Handler-set response headers or trailers as grpc-js `Metadata`. `-bin` values are decoded
 * back to Buffers (grpc-js encodes them itself); a `Headers` object joins repeated values with
 * ", ", so binary values are split on the comma, which base64 never contains.
 */
export function metadataFromHeaders(headers: Headers, into = new Metadata()): Metadata {
  for (const [key, value] of headers) {
    if (key.endsWith("-bin")) {
      for (const part of value.split(",")) {
        into.add(key, Buffer.from(decodeBinaryHeader(part.trim())));
      }
    } else {
      into.add(key, value);
    }
  }
  return into;
}

/** Whether a Headers object holds anything (so empty header frames are not sent early). */
export function hasHeaders(headers: Headers): boolean {
  for (const _ of headers.keys()) return true;
  return false;
}
