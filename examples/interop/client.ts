/**
 * `npm run interop:client -- --server_host H --server_port P --test_case NAME [--use_tls
 * [--ca FILE | --use_test_ca] [--server_host_override NAME]] [--transport http2|grpc-js|connect-node]`:
 * gRPC's interop-test client on a protomesh transport, with gRPC's standard flags, so it can be
 * pointed at any language's interop server. `--test_case` takes one case, a comma-separated
 * list, or `all`. Prints `PASS name` or `FAIL name: why` per case; exits 0 when every case
 * passed, 1 when one failed, 2 on bad arguments. Default transport: http2.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createClient, type Transport } from "@connectrpc/connect";
import { TestService, UnimplementedService } from "../../gen/grpc/testing/test_pb.js";
import {
  createConnectNodeTransport,
  createHttp2Transport,
  createTransport,
  type TransportTls,
} from "../../src/transport/index.js";
import { interopCases } from "./interop-client.js";

const transports = ["http2", "grpc-js", "connect-node"] as const;
type TransportKind = (typeof transports)[number];

function usage(message: string): never {
  console.error(
    `${message}\nusage: interop:client --server_port P --test_case NAME|all [--server_host H] [--use_tls] [--ca FILE | --use_test_ca] [--server_host_override NAME] [--transport ${transports.join("|")}]`,
  );
  process.exit(2);
}

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      server_host: { type: "string", default: "localhost" },
      server_port: { type: "string" },
      test_case: { type: "string" },
      use_tls: { type: "boolean", default: false },
      use_test_ca: { type: "boolean", default: false },
      ca: { type: "string" },
      server_host_override: { type: "string" },
      transport: { type: "string", default: "http2" },
    },
    allowNegative: true,
  }));
} catch (error) {
  usage((error as Error).message);
}
const port = Number(values.server_port);
if (!Number.isInteger(port) || port <= 0 || port > 65_535)
  usage("--server_port must be a port number");
const kind = values.transport as TransportKind;
if (!transports.includes(kind)) usage(`--transport must be one of ${transports.join(", ")}`);
const requested = String(values.test_case ?? "");
const names =
  requested === "all" ? Object.keys(interopCases) : requested.split(",").filter(Boolean);
if (names.length === 0) usage("--test_case is required");
for (const name of names) if (!(name in interopCases)) usage(`unknown test case ${name}`);

const host = String(values.server_host);
const useTls = values.use_tls === true;
const caFile =
  typeof values.ca === "string"
    ? values.ca
    : values.use_test_ca === true
      ? new URL("../../test/fixtures/tls/ca.pem", import.meta.url)
      : undefined;
const tls: TransportTls | undefined = useTls
  ? {
      ...(caFile !== undefined && { rootCerts: readFileSync(caFile) }),
      ...(typeof values.server_host_override === "string" && {
        serverName: values.server_host_override,
      }),
    }
  : undefined;
const baseUrl = `${useTls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`;

function makeTransport(): Transport & { close(): unknown } {
  switch (kind) {
    case "http2":
      return createHttp2Transport({ target: baseUrl, ...(tls && { tls }) });
    case "grpc-js":
      return createTransport({ baseUrl, ...(tls && { tls }) });
    case "connect-node":
      return Object.assign(createConnectNodeTransport({ baseUrl, ...(tls && { tls }) }), {
        close() {},
      });
  }
}

const transport = makeTransport();
const clients = {
  test: createClient(TestService, transport),
  unimplemented: createClient(UnimplementedService, transport),
};
let failed = 0;
for (const name of names) {
  try {
    await interopCases[name]?.(clients);
    console.log(`PASS ${name}`);
  } catch (error) {
    failed++;
    console.log(`FAIL ${name}: ${(error as Error).message}`);
  }
}
await transport.close();
process.exit(failed === 0 ? 0 : 1);
