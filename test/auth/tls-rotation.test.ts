// Certificate and CA rotation from files: a server whose certificate, key and CA files are
// replaced takes the new ones for new connections without a restart, while calls in flight
// on the old connection finish.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "vitest";
import { GuardedService } from "../../gen/protomesh/testing/v1/guarded_pb.js";
import { createServer } from "../../src/server/index.js";
import { rejection } from "../support/rejection.js";
import { guardedService } from "./support/guarded-service.js";
import { createTestCa, type Pem, serverCertificate } from "./support/mesh-certificates.js";

const dir = mkdtempSync(join(tmpdir(), "protomesh-rotation-"));
const files = {
  certFile: join(dir, "server.pem"),
  keyFile: join(dir, "server.key"),
  caFile: join(dir, "ca.pem"),
};
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes each file atomically (write aside, rename), as a secret volume update does. */
function install(server: Pem, ca: string): void {
  for (const [path, text] of [
    [files.keyFile, server.key],
    [files.certFile, server.cert],
    [files.caFile, ca],
  ] as const) {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
}

function clientOf(url: string, ca: string, client: Pem) {
  return createClient(
    GuardedService,
    createGrpcTransport({ baseUrl: url, nodeOptions: { ca, ...client } }),
  );
}

async function eventually(check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("condition not met in time");
}

describe("TLS files rotation", () => {
  it("serves the new certificate and CA to new connections, and lets calls in flight finish", async () => {
    const oldCa = createTestCa("old-ca");
    const newCa = createTestCa("new-ca");
    install(serverCertificate(oldCa), oldCa.cert);
    const server = createServer({
      services: [guardedService()],
      logger: false,
      auth: {},
      tls: { ...files, requireClientCert: true, reloadIntervalMs: 100 },
    });
    try {
      const { url } = await server.listen();
      const oldClient = clientOf(
        url,
        oldCa.cert,
        oldCa.issue("order", "URI:spiffe://mesh.test/order"),
      );
      expect((await oldClient.public({})).caller?.identity).toBe("spiffe://mesh.test/order");
      // A slow stream in flight on the old connection across the rotation.
      const inFlight = (async () => {
        const seen: string[] = [];
        for await (const answer of oldClient.watch({ count: 3, delayMs: 400 })) {
          seen.push(answer.caller?.identity ?? "");
        }
        return seen;
      })();

      install(serverCertificate(newCa), newCa.cert);
      const newClientPem = newCa.issue("order-v2", "URI:spiffe://mesh.test/order-v2");
      await eventually(async () => {
        try {
          const fresh = clientOf(url, newCa.cert, newClientPem);
          return (await fresh.public({})).caller?.identity === "spiffe://mesh.test/order-v2";
        } catch {
          return false;
        }
      });
      expect(await inFlight).toEqual(Array(3).fill("spiffe://mesh.test/order"));
      // A new connection with the old CA's certificates is refused now.
      const stale = clientOf(url, oldCa.cert, oldCa.issue("order", "URI:spiffe://mesh.test/order"));
      await rejection(stale.public({}));
    } finally {
      await server.close();
      oldCa.close();
      newCa.close();
    }
  });

  it("keeps the previous set when the new files do not match", async () => {
    const ca = createTestCa("steady-ca");
    install(serverCertificate(ca), ca.cert);
    const errors: unknown[] = [];
    const server = createServer({
      services: [guardedService()],
      logger: false,
      auth: {},
      tls: {
        ...files,
        requireClientCert: true,
        reloadIntervalMs: 100,
        onReloadError: (error) => errors.push(error),
      },
    });
    try {
      const { url } = await server.listen();
      // A key that belongs to another certificate: refused, the old set stays.
      const other = serverCertificate(ca);
      writeFileSync(files.keyFile, other.key);
      await eventually(async () => errors.length > 0);
      const client = clientOf(url, ca.cert, ca.issue("order", "URI:spiffe://mesh.test/order"));
      expect((await client.public({})).caller?.identity).toBe("spiffe://mesh.test/order");
    } finally {
      await server.close();
      ca.close();
    }
  });
});
