/**
 * `npm run interop:server -- --port N [--host H] [--use_tls]`: gRPC's interop TestService on a
 * protomesh server, for any standard interop client. Cleartext runs on `createServer`; with
 * --use_tls the same handlers run on a node:http2 secure server through connect-node (as
 * `createServer` takes no certificates yet), with the test certificate in test/fixtures/tls/
 * (valid for 127.0.0.1, localhost and *.test.google.fr; trust test/fixtures/tls/ca.pem).
 * Prints one line `listening on <url>` and exits 0 on SIGINT/SIGTERM.
 */
import { readFileSync } from "node:fs";
import { createSecureServer, type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createServer } from "../../src/server/index.js";
import { createInteropServices } from "./interop-services.js";

interface Running {
  readonly url: string;
  close(): Promise<void>;
}

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "10000" },
    host: { type: "string", default: "127.0.0.1" },
    use_tls: { type: "boolean", default: false },
  },
  allowNegative: true,
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${JSON.stringify(values.port)}`);
  process.exit(2);
}

const running = values.use_tls
  ? await serveTls(values.host, port)
  : await serveCleartext(values.host, port);
console.log(`listening on ${running.url}`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}

async function serveCleartext(host: string, port: number): Promise<Running> {
  const server = createServer({ services: createInteropServices(), drainTimeoutMs: 1_000 });
  const address = await server.listen({ host, port });
  return { url: address.url, close: () => server.close() };
}

async function serveTls(host: string, port: number): Promise<Running> {
  const tls = new URL("../../test/fixtures/tls/", import.meta.url);
  const handler = connectNodeAdapter({
    routes(router) {
      for (const { service, impl } of createInteropServices()) router.service(service, impl);
    },
  });
  const server = createSecureServer(
    {
      key: readFileSync(new URL("server.key", tls)),
      cert: readFileSync(new URL("server.pem", tls)),
      allowHTTP1: true,
    },
    handler,
  );
  const sessions = new Set<ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `https://${urlHost}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // GOAWAY, so close() does not wait on idle client connections.
        for (const session of sessions) session.close();
      }),
  };
}
