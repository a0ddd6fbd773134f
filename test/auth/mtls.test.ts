// Identity from mTLS on every engine: the verified client certificate's identity (URI SAN, then
// DNS SAN, then CN) is in the call context and the access log; the contract's allowed
// identities are enforced; untrusted and absent certificates never get in.
import { Writable } from "node:stream";
import { Code, createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { ServerCredentials } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GuardedService } from "../../gen/protomesh/testing/v1/guarded_pb.js";
import { identityFromCertificate } from "../../src/auth/index.js";
import { createClient as createProtomeshClient } from "../../src/client/index.js";
import { createGrpcJsServer, type GrpcJsServer } from "../../src/server/grpc-js/index.js";
import { createServer, type Server } from "../../src/server/index.js";
import { rejection } from "../support/rejection.js";
import { guardedService } from "./support/guarded-service.js";
import {
  createTestCa,
  type Pem,
  serverCertificate,
  type TestCa,
} from "./support/mesh-certificates.js";

let ca: TestCa;
let stranger: TestCa;
let server: Server;
let grpcJs: GrpcJsServer;
let url: string;
let grpcJsUrl: string;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  ca = createTestCa("mesh-ca");
  stranger = createTestCa("stranger-ca");
  const serverPem = serverCertificate(ca);
  const logger = pino(
    { level: "info" },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split("\n")) if (line) logLines.push(JSON.parse(line));
        done();
      },
    }),
  );
  server = createServer({
    services: [guardedService()],
    logger,
    auth: {},
    tls: { ...serverPem, ca: ca.cert, requireClientCert: true },
  });
  grpcJs = createGrpcJsServer({
    services: [guardedService()],
    logger: false,
    auth: {},
    credentials: ServerCredentials.createSsl(
      Buffer.from(ca.cert),
      [{ cert_chain: Buffer.from(serverPem.cert), private_key: Buffer.from(serverPem.key) }],
      true,
    ),
  });
  url = (await server.listen()).url;
  grpcJsUrl = (await grpcJs.listen()).url;
});
afterAll(async () => {
  await Promise.all([server?.close(), grpcJs?.close()]);
  ca?.close();
  stranger?.close();
});

/** A client of every engine presenting `client` and trusting the mesh CA. */
function clientsFor(client: Pem | undefined) {
  const nodeOptions = { ca: ca.cert, ...(client ?? {}) };
  const on = (transport: Parameters<typeof createClient>[1]) =>
    createClient(GuardedService, transport);
  return [
    ["lean gRPC", on(createGrpcTransport({ baseUrl: url, nodeOptions }))],
    ["lean Connect", on(createConnectTransport({ baseUrl: url, httpVersion: "2", nodeOptions }))],
    [
      "connect-node gRPC-Web",
      on(createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1", nodeOptions })),
    ],
    [
      "connect-node gRPC-Web on HTTP/2",
      on(createGrpcWebTransport({ baseUrl: url, httpVersion: "2", nodeOptions })),
    ],
    ["grpc-js", on(createGrpcTransport({ baseUrl: grpcJsUrl, nodeOptions }))],
  ] as const;
}

describe("mTLS identity", () => {
  it("puts the URI SAN in the call context and lets an allowed identity call an internal method", async () => {
    const order = ca.issue("order", "URI:spiffe://mesh.test/order,DNS:order.mesh.test");
    for (const [name, client] of clientsFor(order)) {
      const response = await client.internal({});
      expect({ name, identity: response.caller?.identity }).toEqual({
        name,
        identity: "spiffe://mesh.test/order",
      });
    }
    const line = logLines.find(
      (entry) => entry.method === "/protomesh.testing.v1.GuardedService/Internal",
    );
    expect(line?.identity).toBe("spiffe://mesh.test/order");
  });

  it("answers PERMISSION_DENIED to a trusted identity that is not allowed", async () => {
    const payment = ca.issue("payment", "URI:spiffe://mesh.test/payment");
    for (const [name, client] of clientsFor(payment)) {
      const error = await rejection(client.internal({}));
      expect({ name, code: Code[error.code] }).toEqual({ name, code: Code[Code.PermissionDenied] });
      // Authenticated by its certificate, it may call a PUBLIC method needing only that.
      expect((await client.public({})).caller?.identity).toBe("spiffe://mesh.test/payment");
    }
  });

  it("falls back to the DNS SAN, then the subject CN", async () => {
    const dnsOnly = ca.issue("ignored-cn", "DNS:inventory.mesh.test");
    const cnOnly = ca.issue("billing");
    const [[, dnsClient]] = clientsFor(dnsOnly);
    const [[, cnClient]] = clientsFor(cnOnly);
    expect((await dnsClient.public({})).caller?.identity).toBe("inventory.mesh.test");
    expect((await cnClient.public({})).caller?.identity).toBe("billing");
  });

  it("refuses a client certificate from an untrusted CA, and no certificate at all", async () => {
    const untrusted = stranger.issue("order", "URI:spiffe://mesh.test/order");
    for (const [name, client] of [...clientsFor(untrusted), ...clientsFor(undefined)]) {
      const error = await rejection(client.public({}));
      expect({ name, refused: error.code !== Code.PermissionDenied }).toEqual({
        name,
        refused: true,
      });
    }
  });

  it("refuses plaintext on the mTLS port", async () => {
    const plain = createClient(
      GuardedService,
      createGrpcTransport({ baseUrl: url.replace("https:", "http:") }),
    );
    await rejection(plain.public({}, { timeoutMs: 5_000 }));
  });
});

describe("per-target client certificates", () => {
  it("lets each protomesh client present its own certificate", async () => {
    const asOrder = ca.issue("order", "URI:spiffe://mesh.test/order");
    const asBilling = ca.issue("billing", "URI:spiffe://mesh.test/billing");
    const clientAs = (pem: Pem) =>
      createProtomeshClient(GuardedService, {
        baseUrl: url,
        tls: { rootCerts: ca.cert, certChain: pem.cert, privateKey: pem.key },
      });
    expect((await clientAs(asOrder).internal({})).caller?.identity).toBe(
      "spiffe://mesh.test/order",
    );
    expect((await clientAs(asBilling).public({})).caller?.identity).toBe(
      "spiffe://mesh.test/billing",
    );
    expect((await rejection(clientAs(asBilling).internal({}))).code).toBe(Code.PermissionDenied);
  });
});

describe("identityFromCertificate", () => {
  it("reads quoted alt names as node writes them", () => {
    expect(
      identityFromCertificate({
        subject: { CN: "x" } as never,
        subjectaltname: 'DNS:a.test, URI:"spiffe://mesh.test/odd,name"',
      }),
    ).toBe("spiffe://mesh.test/odd,name");
    expect(identityFromCertificate(undefined)).toBeUndefined();
  });
});
