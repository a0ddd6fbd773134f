import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import {
  createConnectNodeTransport,
  createTransport,
  type GrpcJsTransport,
  type TransportTls,
} from "../../src/transport/index.js";
import { createScriptedOrderService, createServerLog } from "./scripted-order-service.js";

interface KeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** A self-signed certificate for 127.0.0.1 and localhost, made by openssl at test time. */
function selfSigned(dir: string, name: string): KeyPair {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
      ...["-days", "1", "-subj", `/CN=${name}`, "-keyout", keyPath, "-out", certPath],
      ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
    ],
    { stdio: "ignore" },
  );
  return { cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

let dir: string;
let server: KeyPair;
let client: KeyPair;
let stranger: KeyPair;
let http2: Http2SecureServer;
const sessions = new Set<ServerHttp2Session>();
let port: number;
const opened: Transport[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "protomesh-tls-"));
  server = selfSigned(dir, "server");
  client = selfSigned(dir, "client");
  stranger = selfSigned(dir, "stranger");
  const log = createServerLog();
  // mTLS: the server trusts only the client certificate and requires it.
  http2 = createSecureServer(
    { ...server, ca: client.cert, requestCert: true, rejectUnauthorized: true },
    connectNodeAdapter({
      routes: (router) => router.service(OrderService, createScriptedOrderService(log)),
    }),
  );
  http2.on("session", (session) => sessions.add(session));
  await new Promise<void>((resolve) => http2.listen(0, "127.0.0.1", resolve));
  port = (http2.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const transport of opened) (transport as Partial<GrpcJsTransport>).close?.();
  const closed = new Promise<void>((resolve) => http2.close(() => resolve()));
  // Clients keep idle sessions open; the test is over.
  for (const session of sessions) session.destroy();
  await closed;
  rmSync(dir, { recursive: true, force: true });
});

const cases = [
  {
    name: "http2 lean engine",
    make: (tls: TransportTls) =>
      createTransport({ kind: "http2", baseUrl: `https://127.0.0.1:${port}`, tls }),
  },
  {
    name: "grpc-js channel",
    // An https:// base URL means TLS to the grpc-js transport too.
    make: (tls: TransportTls) => createTransport({ baseUrl: `https://127.0.0.1:${port}`, tls }),
  },
  {
    name: "connect-node gRPC",
    make: (tls: TransportTls) =>
      createConnectNodeTransport({ baseUrl: `https://127.0.0.1:${port}`, tls }),
  },
];

async function getOrder(transport: Transport): Promise<string> {
  opened.push(transport);
  const { order } = await createClient(OrderService, transport).getOrder({ orderId: "ord_tls" });
  return order?.orderId ?? "";
}

async function failure(transport: Transport): Promise<ConnectError> {
  try {
    await getOrder(transport);
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

describe.each(cases)("$name transport over TLS", ({ make }) => {
  it("calls a server with a self-signed certificate, presenting a client certificate", async () => {
    const tls = { rootCerts: server.cert, certChain: client.cert, privateKey: client.key };
    expect(await getOrder(make(tls))).toBe("ord_tls");
  });

  it("refuses a server whose certificate it does not trust", async () => {
    const tls = { rootCerts: stranger.cert, certChain: client.cert, privateKey: client.key };
    expect((await failure(make(tls))).code).toBe(Code.Unavailable);
  });

  it("is refused by the server without a client certificate the server trusts", async () => {
    const tls = { rootCerts: server.cert, certChain: stranger.cert, privateKey: stranger.key };
    expect((await failure(make(tls))).code).toBe(Code.Unavailable);
  });
});
