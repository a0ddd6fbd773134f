// What each protomesh client transport makes of a grpc-message a server wrote, well-formed or
// not: a raw node:http2 server sends the value byte for byte, trailers-only or after headers.
import { createServer as createHttp2Server, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ClosableTransport,
  createTransport,
  type TransportOptions,
} from "../../src/transport/index.js";
import { echoClient } from "../server/support/echo-service.js";
import { rejection } from "../support/rejection.js";

let server: Http2Server;
let port: number;
beforeAll(async () => {
  // Answers every call NOT_FOUND with the grpc-message the x-send header asks for.
  server = createHttp2Server();
  server.on("stream", (stream, headers) => {
    const value = String(headers["x-send"]);
    const status = String(Code.NotFound);
    stream.on("error", () => {});
    stream.resume();
    stream.on("end", () => {
      if (headers["x-trailers-only"] === "1") {
        stream.respond(
          {
            ":status": 200,
            "content-type": "application/grpc",
            "grpc-status": status,
            "grpc-message": value,
          },
          { endStream: true },
        );
        return;
      }
      stream.respond(
        { ":status": 200, "content-type": "application/grpc" },
        {
          waitForTrailers: true,
        },
      );
      stream.once("wantTrailers", () =>
        stream.sendTrailers({ "grpc-status": status, "grpc-message": value }),
      );
      stream.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const transports: [string, (port: number) => TransportOptions][] = [
  ["connect-node (gRPC)", (p) => ({ kind: "connect-node", baseUrl: `http://127.0.0.1:${p}` })],
  ["grpc-js", (p) => ({ kind: "grpc-js", target: `127.0.0.1:${p}` })],
];

describe.each(transports)("the %s transport decoding grpc-message", (name, options) => {
  let transport: ClosableTransport;
  beforeAll(() => {
    transport = createTransport(options(port));
  });
  afterAll(() => transport.close());

  async function received(value: string, trailersOnly: boolean): Promise<string> {
    const headers = { "x-send": value, "x-trailers-only": trailersOnly ? "1" : "0" };
    const error = await rejection(echoClient(transport).say({ value: "x" }, { headers }));
    expect(error.code).toBe(Code.NotFound);
    return error.rawMessage;
  }

  describe.each([true, false])("trailers-only: %s", (trailersOnly) => {
    it("decodes the spec's encoding exactly", async () => {
      const sent = "order ord_1: not found at /v1/orders (100%25 sure, %C3%A9) %F0%9F%98%88%07";
      expect(await received(sent, trailersOnly)).toBe(
        "order ord_1: not found at /v1/orders (100% sure, é) 😈\u0007",
      );
    });

    it("keeps a malformed escape as sent, with the server's code, instead of throwing", async () => {
      const sent = "100% sure, %E9 then caf%C3%A9 and %zz";
      const got = await received(sent, trailersOnly);
      if (name === "grpc-js") {
        // grpc-js decodes with decodeURI and, when that throws, keeps the whole value as sent,
        // which gRPC's spec allows ("at worst ... the raw percent-encoded form").
        expect(got).toBe(sent);
      } else {
        expect(got).toBe("100% sure, %E9 then café and %zz");
      }
    });

    it("decodes escapes a spec encoder would not write (encodeURIComponent's, as Connect servers send)", async () => {
      const got = await received("a%20b%3A%20c%2Fd%2C%20%C3%A9", trailersOnly);
      if (name === "grpc-js") {
        // grpc-js's decodeURI leaves the escapes of ; / ? : @ & = + $ , # as they are, and grpc-js
        // hands over only its decoded text: "%3A" there may as well be a literal "%3A" a spec
        // encoder sent as "%253A", so it is not decoded again. Every protomesh engine, grpc-go,
        // grpc-java and gRPC core send ':' '/' ',' as they are.
        expect(got).toBe("a b%3A c%2Fd%2C é");
      } else {
        expect(got).toBe("a b: c/d, é");
      }
    });
  });
});
