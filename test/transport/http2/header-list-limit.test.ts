// The http2 transport's `maxHeaderListBytes`: advertised to the server, enforced on what
// comes back (headers and trailers), one call failing while the connection serves the next.
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { createHttp2Transport, type Http2Transport } from "../../../src/transport/index.js";
import { rejection } from "../../support/rejection.js";
import { echoClient, encode, rawEcho, startRawServer } from "./support.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server that answers with a `bytes`-long header (or trailer) when asked for "big". */
async function bigHeaderServer(where: "headers" | "trailers", bytes: number) {
  const server = await startRawServer((stream, body) => {
    if (!body.includes(Buffer.from("big"))) return rawEcho(stream, body);
    const big = { "x-big": "b".repeat(bytes) };
    stream.respond(
      { ":status": 200, "content-type": "application/grpc", ...(where === "headers" && big) },
      { waitForTrailers: true },
    );
    stream.on("wantTrailers", () =>
      stream.sendTrailers({ "grpc-status": "0", ...(where === "trailers" && big) }),
    );
    stream.end(body);
  });
  cleanups.push(server.close);
  return server;
}

function transport(url: string, maxHeaderListBytes?: number): Http2Transport {
  const made = createHttp2Transport({
    target: url,
    ...(maxHeaderListBytes !== undefined && { maxHeaderListBytes }),
  });
  cleanups.push(() => made.close());
  return made;
}

describe("http2 transport: maxHeaderListBytes", () => {
  it.each(["headers", "trailers"] as const)(
    "fails a call whose response %s pass the limit, and the connection serves the next",
    async (where) => {
      const server = await bigHeaderServer(where, 6 * 1024);
      const made = transport(server.url, 4 * 1024);
      const echo = echoClient(made);
      const error = await rejection(echo.echo({ payload: encode("big") }));
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.Internal);
      expect((error as ConnectError).message).toMatch(/header list/i);
      const ok = await echo.echo({ payload: encode("small") });
      expect(new TextDecoder().decode(ok.payload)).toBe("small");
      expect(server.connections()).toBe(1);
    },
  );

  it("takes the same headers under the default limit (64 KiB)", async () => {
    const server = await bigHeaderServer("headers", 6 * 1024);
    const echo = echoClient(transport(server.url));
    const ok = await echo.echo({ payload: encode("big") });
    expect(new TextDecoder().decode(ok.payload)).toBe("big");
  });

  it.each([0, 512, 1.5, 2 ** 32, Number.NaN])("refuses maxHeaderListBytes %s", (bytes) => {
    expect(() =>
      createHttp2Transport({ target: "http://127.0.0.1:1", maxHeaderListBytes: bytes }),
    ).toThrow(/maxHeaderListBytes must be an integer from 1024/);
  });
});
