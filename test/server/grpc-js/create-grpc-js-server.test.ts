// createGrpcJsServer: listen/close like createServer, TLS through grpc-js credentials, and the
// handler's signal when the client goes away.
import { readFileSync } from "node:fs";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ServerCredentials } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { createTestService } from "../../../examples/interop/test-service.js";
import { TestService } from "../../../gen/grpc/testing/test_pb.js";
import { createGrpcJsServer } from "../../../src/server/grpc-js/index.js";
import { defineService } from "../../../src/server/index.js";

const tls = (name: string) => readFileSync(`test/fixtures/tls/${name}`);

describe("createGrpcJsServer", () => {
  it("listens on an ephemeral loopback port and closes", async () => {
    const server = createGrpcJsServer({
      services: [defineService(TestService, createTestService())],
    });
    const address = await server.listen();
    expect(address.host).toBe("127.0.0.1");
    expect(address.port).toBeGreaterThan(0);
    expect(address.url).toBe(`http://127.0.0.1:${address.port}`);
    await server.close();
    const client = createClient(TestService, createGrpcTransport({ baseUrl: address.url }));
    await expect(client.emptyCall({})).rejects.toMatchObject({ code: Code.Unavailable });
  });

  it("serves TLS with grpc-js server credentials", async () => {
    const server = createGrpcJsServer({
      services: [defineService(TestService, createTestService())],
      credentials: ServerCredentials.createSsl(null, [
        { private_key: tls("server.key"), cert_chain: tls("server.pem") },
      ]),
    });
    const { url } = await server.listen();
    try {
      expect(url.startsWith("https://127.0.0.1:")).toBe(true);
      const transport = createGrpcTransport({ baseUrl: url, nodeOptions: { ca: tls("ca.pem") } });
      const response = await createClient(TestService, transport).unaryCall({ responseSize: 7 });
      expect(response.payload?.body.length).toBe(7);
    } finally {
      await server.close();
    }
  });

  it("aborts the handler's signal with CANCELED when the client cancels", async () => {
    let aborted: Promise<unknown> = Promise.resolve("handler never ran");
    const server = createGrpcJsServer({
      services: [
        defineService(TestService, {
          async *streamingOutputCall(_request, context) {
            aborted = new Promise((resolve) =>
              context.signal.addEventListener("abort", () => resolve(context.signal.reason)),
            );
            yield {};
            await aborted; // hold the stream open until the call ends
          },
        }),
      ],
    });
    const { url } = await server.listen();
    try {
      const client = createClient(TestService, createGrpcTransport({ baseUrl: url }));
      const controller = new AbortController();
      const responses = client
        .streamingOutputCall({}, { signal: controller.signal })
        [Symbol.asyncIterator]();
      await responses.next();
      controller.abort();
      await expect(responses.next()).rejects.toMatchObject({ code: Code.Canceled });
      expect(ConnectError.from(await aborted).code).toBe(Code.Canceled);
    } finally {
      await server.close();
    }
  });
});
