import { describe, expect, it } from "vitest";
import { decodeGrpcMessage, encodeGrpcMessage } from "../../src/transport/grpc-message.js";

describe("encodeGrpcMessage (gRPC's HTTP/2 protocol, grpc-message)", () => {
  it("sends space, ':' '/' ',' and every other printable ASCII byte but '%' as it is", () => {
    const printable = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i))
      .join("")
      .replace("%", "");
    expect(encodeGrpcMessage(printable)).toBe(printable);
    expect(encodeGrpcMessage("order ord_1: not found at /v1/orders, sure")).toBe(
      "order ord_1: not found at /v1/orders, sure",
    );
  });

  it("encodes '%' itself", () => {
    expect(encodeGrpcMessage("100% sure")).toBe("100%25 sure");
    expect(encodeGrpcMessage("%41")).toBe("%2541");
  });

  it("encodes BMP and non-BMP characters as %XX of their UTF-8 bytes, upper-case hex", () => {
    expect(encodeGrpcMessage("é")).toBe("%C3%A9");
    expect(encodeGrpcMessage("☺")).toBe("%E2%98%BA");
    expect(encodeGrpcMessage("😈")).toBe("%F0%9F%98%88");
  });

  it("encodes control characters, DEL included", () => {
    expect(encodeGrpcMessage("a\nb\tc\r\u0000\u001f\u007f")).toBe("a%0Ab%09c%0D%00%1F%7F");
  });

  it("leaves an empty message empty", () => {
    expect(encodeGrpcMessage("")).toBe("");
  });

  it("sends a lone surrogate, which UTF-8 cannot carry, as U+FFFD instead of throwing", () => {
    expect(encodeGrpcMessage("a\ud800b")).toBe("a%EF%BF%BDb");
  });

  it("is what the issue's example must look like on the wire", () => {
    expect(encodeGrpcMessage("order ord_1: not found at /v1/orders (100% sure, é)")).toBe(
      "order ord_1: not found at /v1/orders (100%25 sure, %C3%A9)",
    );
  });
});

describe("decodeGrpcMessage", () => {
  it("round-trips every edge case of the encoder", () => {
    for (const message of [
      "",
      " ",
      "100% sure",
      "%41 literally",
      ": / ,",
      "é ☺ 😈",
      "line\nbreak\u0000\u007f",
      "order ord_1: not found at /v1/orders (100% sure, é)",
    ]) {
      expect(decodeGrpcMessage(encodeGrpcMessage(message))).toBe(message);
    }
  });

  it("accepts any percent-encoding, lower-case hex and escaped printable bytes included", () => {
    // encodeURIComponent's output, as Connect servers send it.
    expect(decodeGrpcMessage("a%3A%20b%2Fc%2C%c3%a9")).toBe("a: b/c,é");
  });

  it("keeps malformed escapes as they were sent, never throws", () => {
    expect(decodeGrpcMessage("100%")).toBe("100%");
    expect(decodeGrpcMessage("100% sure")).toBe("100% sure");
    expect(decodeGrpcMessage("%4")).toBe("%4");
    expect(decodeGrpcMessage("%zz%C3%A9")).toBe("%zzé");
    expect(decodeGrpcMessage("%%41")).toBe("%A");
  });

  it("keeps escaped bytes that are not UTF-8 as sent, and decodes the valid ones around them", () => {
    // A lone continuation byte, a truncated sequence, an overlong form, a surrogate half.
    expect(decodeGrpcMessage("%A9")).toBe("%A9");
    expect(decodeGrpcMessage("caf%C3")).toBe("caf%C3");
    expect(decodeGrpcMessage("%C3%A9%FF%C3%A9")).toBe("é%FFé");
    expect(decodeGrpcMessage("%C0%AF")).toBe("%C0%AF");
    expect(decodeGrpcMessage("%ED%A0%80")).toBe("%ED%A0%80");
    expect(decodeGrpcMessage("%F0%9F%98")).toBe("%F0%9F%98");
  });

  it("keeps characters outside the grammar (a server that sent raw bytes) as they are", () => {
    expect(decodeGrpcMessage("raw é, 100%25")).toBe("raw é, 100%");
  });
});
