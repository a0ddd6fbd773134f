// grpc-message as it goes on the wire from every engine, read by a raw HTTP/2 client (no gRPC
// library decoding it): gRPC's spec encoding, not encodeURIComponent's (Connect) or encodeURI's
// (grpc-js).
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "../../src/index.js";
import { createGrpcJsServer } from "../../src/server/grpc-js/index.js";
import { echoService } from "./support/echo-service.js";
import { frame, rawRequest } from "./support/raw-grpc.js";

const say = "/test.echo.v1.EchoService/Say";
const message = "order ord_1: not found at /v1/orders (100% sure, é)\n";
const onTheWire = "order ord_1: not found at /v1/orders (100%25 sure, %C3%A9)%0A";
const request = create(StringValueSchema, { value: `fail:${Code.NotFound}:${message}` });
const proto = frame(toBinary(StringValueSchema, request));

/** The grpc-status and grpc-message lines of a gRPC-Web body's trailer envelope (flag 0x80). */
function grpcWebTrailer(body: Buffer): Record<string, string> {
  let offset = 0;
  while (offset + 5 <= body.length) {
    const length = body.readUInt32BE(offset + 1);
    if (body[offset] === 0x80) {
      const text = body.subarray(offset + 5, offset + 5 + length).toString("latin1");
      return Object.fromEntries(
        text
          .split("\r\n")
          .filter((line) => line !== "")
          .map((line) => [
            line.slice(0, line.indexOf(":")),
            line.slice(line.indexOf(":") + 1).trim(),
          ]),
      );
    }
    offset += 5 + length;
  }
  throw new Error("no trailer envelope in the gRPC-Web body");
}

describe("grpc-message on the wire, encoded as gRPC's spec says", () => {
  let server: Server;
  let grpcJs: Server;
  let url: string;
  let grpcJsUrl: string;
  beforeAll(async () => {
    server = createServer({ services: [echoService()], logger: false });
    grpcJs = createGrpcJsServer({ services: [echoService()], logger: false });
    url = (await server.listen()).url;
    grpcJsUrl = (await grpcJs.listen()).url;
  });
  afterAll(async () => {
    await server.close();
    await grpcJs.close();
  });

  it("lean engine (application/grpc)", async () => {
    const response = await rawRequest(url, say, proto);
    expect(response.status).toBe(String(Code.NotFound));
    expect(response.headers["grpc-message"]).toBe(onTheWire);
    expect(response.message).toBe(message);
  });

  it("connect-node engine, gRPC (application/grpc+json)", async () => {
    const json = frame(Buffer.from(toJsonString(StringValueSchema, request)));
    const response = await rawRequest(url, say, json, { "content-type": "application/grpc+json" });
    expect(response.status).toBe(String(Code.NotFound));
    expect(response.headers["grpc-message"] ?? response.trailers["grpc-message"]).toBe(onTheWire);
  });

  it("connect-node engine, gRPC-Web (the trailer envelope in the body)", async () => {
    const response = await rawRequest(url, say, proto, {
      "content-type": "application/grpc-web+proto",
      "x-grpc-web": "1",
    });
    const trailer = grpcWebTrailer(response.body);
    expect(trailer["grpc-status"]).toBe(String(Code.NotFound));
    expect(trailer["grpc-message"]).toBe(onTheWire);
  });

  it("grpc-js binding (grpc-js's own encodeURI replaced, not doubled)", async () => {
    const response = await rawRequest(grpcJsUrl, say, proto);
    expect(response.status).toBe(String(Code.NotFound));
    expect(response.headers["grpc-message"] ?? response.trailers["grpc-message"]).toBe(onTheWire);
  });

  it("a refused header list (create-server's own trailers-only answer)", async () => {
    const response = await rawRequest(url, say, proto, { "x-big": "a".repeat(20_000) });
    expect(response.headers["grpc-status"]).toBe(String(Code.ResourceExhausted));
    expect(response.headers["grpc-message"]).toBe("header list too large");
  });
});
