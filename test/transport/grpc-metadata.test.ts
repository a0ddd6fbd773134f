import { encodeBinaryHeader } from "@connectrpc/connect";
import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { headersFromMetadata, metadataFromHeaders } from "../../src/transport/grpc-metadata.js";

describe("headers ⇄ grpc-js metadata", () => {
  it("decodes -bin values, each of several, into bytes and leaves protocol headers to grpc-js", () => {
    const header = new Headers({
      "x-caller": "billing",
      "content-type": "application/grpc+proto",
      "grpc-timeout": "100m",
      te: "trailers",
    });
    header.append("x-blob-bin", encodeBinaryHeader(new Uint8Array([1, 2])));
    header.append("x-blob-bin", encodeBinaryHeader(new Uint8Array([255])));
    const metadata = metadataFromHeaders(header);
    expect(metadata.toJSON()).toEqual({
      "x-caller": ["billing"],
      "x-blob-bin": [Buffer.from([1, 2]), Buffer.from([255])],
    });
  });

  it("encodes binary metadata in base64 and keeps repeated values", () => {
    const metadata = new Metadata();
    metadata.add("x-tag", "a");
    metadata.add("x-tag", "b");
    metadata.add("x-blob-bin", Buffer.from([0, 254]));
    const header = headersFromMetadata(metadata);
    expect(header.get("x-tag")).toBe("a, b");
    expect(header.get("x-blob-bin")).toBe(Buffer.from([0, 254]).toString("base64"));
  });
});
