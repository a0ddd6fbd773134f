import { createServer, type Http2Server, type IncomingHttpHeaders } from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { EchoRequestSchema, EchoService } from "../../../gen/protomesh/bench/v1/echo_pb.js";
import { createHttp2Transport } from "../../../src/transport/http2/http2-transport.js";

let server: Http2Server | undefined;
afterEach(async () => {
  await new Promise((done) => server?.close(done) ?? done(undefined));
  server = undefined;
});

describe("a URL target with a path", () => {
  it("sends every call under that path, as a path-routing proxy expects", async () => {
    const seen: IncomingHttpHeaders[] = [];
    server = createServer();
    server.on("stream", (stream, headers) => {
      seen.push(headers);
      stream.respond(
        { ":status": 200, "content-type": "application/grpc", "grpc-status": "12" },
        { endStream: true },
      );
    });
    await new Promise<void>((done) => server?.listen(0, "127.0.0.1", done));
    const { port } = server.address() as AddressInfo;
    const transport = createHttp2Transport({ target: `http://127.0.0.1:${port}/edge/grpc/` });
    try {
      const error = await createClient(EchoService, transport)
        .echo(create(EchoRequestSchema, {}))
        .catch((e: unknown) => e);
      expect(ConnectError.from(error).code).toBe(Code.Unimplemented);
      expect(seen.map((h) => h[":path"])).toEqual([`/edge/grpc/${EchoService.typeName}/Echo`]);
    } finally {
      await transport.close();
    }
  });
});
