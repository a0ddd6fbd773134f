/**
 * `npm run interop:server -- --port N [--host H] [--use_tls]`: gRPC's interop TestService on a
 * protomesh server, for any standard interop client. With --use_tls it serves the test
 * certificate in test/fixtures/tls/ (valid for 127.0.0.1, localhost and *.test.google.fr;
 * trust test/fixtures/tls/ca.pem).
 * Prints one line `listening on <url>` and exits 0 on SIGINT/SIGTERM.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createServer } from "../../src/server/index.js";
import { createInteropServices } from "./interop-services.js";

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

const tlsDir = new URL("../../test/fixtures/tls/", import.meta.url);
const server = createServer({
  services: createInteropServices(),
  drainTimeoutMs: 1_000,
  ...(values.use_tls && {
    tls: {
      key: readFileSync(new URL("server.key", tlsDir)),
      cert: readFileSync(new URL("server.pem", tlsDir)),
    },
  }),
});
const { url } = await server.listen({ host: values.host, port });
console.log(`listening on ${url}`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
