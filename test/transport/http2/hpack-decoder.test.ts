import { createServer, type Http2Server } from "node:http2";
import { type AddressInfo, connect as connectTcp } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  HeaderListTooLarge,
  HpackDecoder,
  HpackError,
  huffmanDecode,
} from "../../../src/transport/http2/wire/hpack-decoder.js";

const hex = (text: string) => Buffer.from(text, "hex");

// RFC 7541 Appendix C.4: three requests on one connection, Huffman-coded, default table size.
const requests: [string, [string, string][]][] = [
  [
    "828684418cf1e3c2e5f23a6ba0ab90f4ff",
    [
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
    ],
  ],
  [
    "828684be5886a8eb10649cbf",
    [
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
      ["cache-control", "no-cache"],
    ],
  ],
  [
    "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
    [
      [":method", "GET"],
      [":scheme", "https"],
      [":path", "/index.html"],
      [":authority", "www.example.com"],
      ["custom-key", "custom-value"],
    ],
  ],
];

// RFC 7541 Appendix C.6: three responses with a 256-byte table, so the third evicts entries.
const date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
const responses: [string, [string, string][]][] = [
  [
    "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
    [
      [":status", "302"],
      ["cache-control", "private"],
      ["date", date1],
      ["location", "https://www.example.com"],
    ],
  ],
  [
    "4883640effc1c0bf",
    [
      [":status", "307"],
      ["cache-control", "private"],
      ["date", date1],
      ["location", "https://www.example.com"],
    ],
  ],
  [
    "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
    [
      [":status", "200"],
      ["cache-control", "private"],
      ["date", "Mon, 21 Oct 2013 20:13:22 GMT"],
      ["location", "https://www.example.com"],
      ["content-encoding", "gzip"],
      ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
    ],
  ],
];

describe("HpackDecoder (src/transport/http2/wire/hpack-decoder.ts)", () => {
  it("decodes RFC 7541's Huffman-coded request examples in order on one table", () => {
    const decoder = new HpackDecoder();
    for (const [block, expected] of requests) expect(decoder.decode(hex(block))).toEqual(expected);
  });

  it("decodes RFC 7541's response examples, evicting from a 256-byte table", () => {
    const decoder = new HpackDecoder(256);
    for (const [block, expected] of responses) expect(decoder.decode(hex(block))).toEqual(expected);
  });

  it("refuses what RFC 7541 calls malformed", () => {
    const bad: [string, RegExp][] = [
      ["80", /index 0/], // indexed field 0
      ["be", /neither table/], // dynamic index 62 on an empty table
      ["3fe21f", /above the limit/], // size update to 31 + 98 + 31 × 128 = 4097
      ["8220", /after a header field/], // size update after a field
      ["0f", /cut short/], // integer continuation missing
      ["048a", /cut short/], // string shorter than its length
      ["0481ff", /padding/], // 8 bits of padding
      ["048100", /padding/], // padding that is not all ones
    ];
    for (const [block, message] of bad) {
      expect(() => new HpackDecoder().decode(hex(block)), block).toThrow(HpackError);
      expect(() => new HpackDecoder().decode(hex(block)), block).toThrow(message);
    }
    // EOS (30 ones) as a symbol, then padding.
    expect(() => huffmanDecode(hex("ffffffff"))).toThrow(/EOS/);
  });

  it("refuses a header list over its size limit, with the table kept in step", () => {
    const decoder = new HpackDecoder(4096, 100);
    // ":authority: www.example.com" (literal, indexed) is 10 + 15 + 32 = 57 bytes; twice is
    // over 100. The block is still decoded to its end: the entry it added is in the table.
    const block = hex("418cf1e3c2e5f23a6ba0ab90f4ffbe");
    expect(() => decoder.decode(block)).toThrow(HeaderListTooLarge);
    expect(() => decoder.decode(block)).toThrow(/114 bytes exceeds the limit of 100/);
    expect(decoder.decode(hex("be"))).toEqual([[":authority", "www.example.com"]]);
  });

  describe("against node:http2's encoder (nghttp2), on a real connection", () => {
    let server: Http2Server | undefined;
    afterEach(() => server?.close());

    it("reads back every header nghttp2 sends, across many responses sharing its table", async () => {
      server = createServer((request, response) => {
        const n = Number(request.headers["x-n"]);
        response.setHeader("x-counter", String(n));
        response.setHeader("x-repeat", "same value every time");
        response.setHeader("x-bytes", bytesValue(n));
        response.end();
      });
      await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
      const port = (server.address() as AddressInfo).port;
      const { blocks, close } = await headerBlocksOf(port, 50);
      const decoder = new HpackDecoder();
      const decoded = blocks.map((block) => new Map(decoder.decode(block)));
      close();
      expect(decoded).toHaveLength(50);
      decoded.forEach((headers, n) => {
        expect(headers.get(":status")).toBe("200");
        expect(headers.get("x-counter")).toBe(String(n));
        expect(headers.get("x-repeat")).toBe("same value every time");
        expect(headers.get("x-bytes")).toBe(bytesValue(n));
      });
    });
  });
});

/** A value with octets outside ASCII (obs-text), which HPACK carries as is. */
function bytesValue(n: number): string {
  return Buffer.from([0x21 + (n % 90), 0x7e, 0x20, 0xe9, 0xff]).toString("latin1");
}

/**
 * Sends `count` GET requests over a raw socket, HEADERS frames encoded here as HPACK literals
 * (no node:http2 on the client side: a node:http2 client would read the socket natively, out
 * of a tap's reach), and collects every HEADERS block the server sends back, in order. The
 * responses are small, so none needs CONTINUATION.
 */
async function headerBlocksOf(
  port: number,
  count: number,
): Promise<{ blocks: Buffer[]; close: () => void }> {
  const frame = (type: number, flags: number, id: number, payload: Buffer) => {
    const header = Buffer.alloc(9);
    header.writeUIntBE(payload.length, 0, 3);
    header[3] = type;
    header[4] = flags;
    header.writeUInt32BE(id, 5);
    return Buffer.concat([header, payload]);
  };
  const literal = (value: string) =>
    Buffer.concat([Buffer.from([value.length]), Buffer.from(value)]);
  const socket = connectTcp(port, "127.0.0.1");
  const blocks: Buffer[] = [];
  let inbox = Buffer.alloc(0);
  const done = new Promise<void>((resolve, reject) => {
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      inbox = Buffer.concat([inbox, chunk]);
      while (inbox.length >= 9 && inbox.length >= 9 + inbox.readUIntBE(0, 3)) {
        const length = inbox.readUIntBE(0, 3);
        if (inbox[3] === 1) blocks.push(Buffer.from(inbox.subarray(9, 9 + length)));
        if (inbox[3] === 4 && ((inbox[4] as number) & 1) === 0) {
          socket.write(frame(4, 1, 0, Buffer.alloc(0)));
        }
        inbox = inbox.subarray(9 + length);
      }
      if (blocks.length >= count) resolve();
    });
  });
  socket.write(
    Buffer.concat([
      Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
      frame(4, 0, 0, Buffer.alloc(0)),
    ]),
  );
  for (let n = 0; n < count; n++) {
    // :method GET, :scheme http, :path / (indexed), :authority and x-n as literals.
    const block = Buffer.concat([
      Buffer.from([0x82, 0x86, 0x84, 0x01]),
      literal(`127.0.0.1:${port}`),
      Buffer.from([0x00]),
      literal("x-n"),
      literal(String(n)),
    ]);
    socket.write(frame(1, 0x5, 2 * n + 1, block));
  }
  await done;
  return { blocks, close: () => socket.destroy() };
}
