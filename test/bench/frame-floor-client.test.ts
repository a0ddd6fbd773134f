import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FrameFloorClient } from "../../bench/frame-floor-client.js";
import {
  type EchoMessage,
  EchoMessageSchema,
  EchoService,
  echoPath,
  echoRequest,
} from "../../bench/server-echo.js";
import { createServer, defineService, type Server } from "../../src/index.js";

// The client suite's floor row is only a floor if its calls are real calls: these check that it
// reads the protomesh server's answers, headers and trailers included, over a real socket.
let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer({
    services: [
      defineService(EchoService, {
        echo: (request: EchoMessage) => {
          if (request.skus[0] === "fail") throw new ConnectError("told to fail", Code.NotFound);
          return request;
        },
      } as never),
    ],
    logger: false,
  });
  ({ port } = await server.listen());
});
afterAll(() => server.close());

describe("FrameFloorClient (bench/frame-floor-client.ts)", () => {
  it("gets every echo back, with more calls in flight than the server's stream limit", async () => {
    const client = new FrameFloorClient(port, echoPath);
    const bytes = toBinary(EchoMessageSchema, echoRequest);
    // 300 at once: past the server's SETTINGS_MAX_CONCURRENT_STREAMS, so some wait for a slot,
    // and enough response header blocks to fill and evict HPACK's dynamic table.
    const replies = await Promise.all(Array.from({ length: 300 }, () => client.call(bytes)));
    client.close();
    for (const reply of replies) {
      expect(fromBinary(EchoMessageSchema, reply).skus).toEqual(echoRequest.skus);
    }
  });

  it("rejects a call the server fails, reading grpc-status from the trailers", async () => {
    const client = new FrameFloorClient(port, echoPath);
    const failing = toBinary(EchoMessageSchema, { ...echoRequest, skus: ["fail"] });
    await expect(client.call(failing)).rejects.toThrow(/grpc-status 5: told to fail/);
    const ok = await client.call(toBinary(EchoMessageSchema, echoRequest));
    client.close();
    expect(fromBinary(EchoMessageSchema, ok).skus).toEqual(echoRequest.skus);
  });

  it("rejects a call to a path the server does not serve", async () => {
    const client = new FrameFloorClient(port, "/bench.echo.v1.EchoService/Nope");
    await expect(client.call(toBinary(EchoMessageSchema, echoRequest))).rejects.toThrow(
      /grpc-status 12/,
    );
    client.close();
  });

  it("fails its calls when the connection is refused", async () => {
    const client = new FrameFloorClient(1, echoPath);
    await expect(client.call(toBinary(EchoMessageSchema, echoRequest))).rejects.toThrow();
  });
});
