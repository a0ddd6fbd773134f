import { Metadata } from "@grpc/grpc-js";

/**
 * Request headers grpc-js writes itself (or that are HTTP/2 connection-level): passing them on
 * as metadata would duplicate or contradict what grpc-js sends.
 */
const protocolHeaders = new Set([
  "content-type",
  "content-length",
  "te",
  "user-agent",
  "grpc-timeout",
  "grpc-encoding",
  "grpc-accept-encoding",
  "connection",
  "host",
]);

/**
 * Web `Headers` → grpc-js `Metadata`. `-bin` values are base64 on the Connect side (several
 * values joined by ", ") and raw bytes in grpc-js, so they are decoded into Buffers.
 */
export function metadataFromHeaders(header: Headers): Metadata {
  const metadata = new Metadata();
  header.forEach((value, key) => {
    if (protocolHeaders.has(key)) return;
    if (key.endsWith("-bin")) {
      for (const part of value.split(",")) metadata.add(key, Buffer.from(part.trim(), "base64"));
    } else {
      metadata.add(key, value);
    }
  });
  return metadata;
}

/** grpc-js `Metadata` → web `Headers`, `-bin` values base64-encoded as Connect expects. */
export function headersFromMetadata(metadata: Metadata, into: Headers = new Headers()): Headers {
  const entries = metadata.toJSON();
  for (const key in entries) {
    for (const value of entries[key] ?? []) {
      into.append(key, typeof value === "string" ? value : value.toString("base64"));
    }
  }
  return into;
}
