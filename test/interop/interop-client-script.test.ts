// The interop cases over each protomesh transport against gRPC's TestService written on raw
// @grpc/grpc-js, and the `npm run interop:client` command line with gRPC's standard flags.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { delimiter, resolve } from "node:path";
import { createClient, type Transport } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InteropClients, interopCases } from "../../examples/interop/interop-client.js";
import { TestService, UnimplementedService } from "../../gen/grpc/testing/test_pb.js";
import {
  createConnectNodeTransport,
  createHttp2Transport,
  createTransport,
} from "../../src/transport/index.js";
import { closedPort } from "../transport/free-port.js";
import { startRawGrpcJsInteropServer } from "./raw-grpc-js-interop-server.js";

const fixture = (name: string) => readFileSync(`test/fixtures/tls/${name}`);
const caseNames = Object.keys(interopCases);

const transports: [string, (baseUrl: string) => Transport & { close(): unknown }][] = [
  ["http2", (baseUrl) => createHttp2Transport({ target: baseUrl })],
  ["grpc-js", (baseUrl) => createTransport({ baseUrl })],
  [
    "connect-node",
    (baseUrl) => Object.assign(createConnectNodeTransport({ baseUrl }), { close() {} }),
  ],
];

let cleartext: Awaited<ReturnType<typeof startRawGrpcJsInteropServer>>;
let secure: Awaited<ReturnType<typeof startRawGrpcJsInteropServer>>;
beforeAll(async () => {
  cleartext = await startRawGrpcJsInteropServer();
  secure = await startRawGrpcJsInteropServer({
    key: fixture("server.key"),
    cert: fixture("server.pem"),
  });
});
afterAll(async () => {
  await cleartext.close();
  await secure.close();
});

describe.each(transports)("interop cases on the %s transport against raw grpc-js", (_, make) => {
  let transport: Transport & { close(): unknown };
  let clients: InteropClients;
  beforeAll(() => {
    transport = make(`http://127.0.0.1:${cleartext.port}`);
    clients = {
      test: createClient(TestService, transport),
      unimplemented: createClient(UnimplementedService, transport),
    };
  });
  afterAll(async () => {
    await transport.close();
  });

  it.each(caseNames)("%s", async (name) => {
    await interopCases[name]?.(clients);
  });
});

const scripts = (
  JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }
).scripts;

/** Runs the `interop:client` script as npm would; its exit code and output. */
function interopClient(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn("sh", ["-c", `${scripts["interop:client"]} "$@"`, "sh", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PATH: `${resolve("node_modules/.bin")}${delimiter}${process.env.PATH}` },
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((done) => child.on("exit", (code) => done({ code, out })));
}

describe("npm run interop:client", () => {
  it("passes every case over TLS with --ca and --server_host_override against raw grpc-js", async () => {
    const { code, out } = await interopClient([
      ...["--server_host", "127.0.0.1", "--server_port", String(secure.port)],
      ...["--use_tls", "--ca", "test/fixtures/tls/ca.pem"],
      ...["--server_host_override", "foo.test.google.fr", "--test_case", "all"],
    ]);
    expect(out.match(/^PASS /gm)?.length, out).toBe(caseNames.length);
    expect(code).toBe(0);
  }, 60_000);

  it("exits 1 when a case fails, 2 on bad arguments", async () => {
    const port = String(await closedPort());
    const failed = await interopClient([
      ...["--server_port", port, "--test_case", "empty_unary", "--transport", "grpc-js"],
    ]);
    expect(failed.out).toMatch(/^FAIL empty_unary/m);
    expect(failed.code).toBe(1);
    const bad = await interopClient(["--server_port", port, "--test_case", "no_such_case"]);
    expect(bad.code).toBe(2);
  }, 60_000);

  it("is the script package.json names", () => {
    expect(scripts["interop:client"]).toBe("exec node --import tsx examples/interop/client.ts");
  });
});
