// Our own interop client: the fourteen cases of gRPC's interop-test description it implements
// (`implemented` below; `notImplemented` lists the rest), over a real socket, against the
// TestService on a protomesh server, on the grpc-js binding, and on the `npm run interop:server`
// process (cleartext and TLS).
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { delimiter, resolve } from "node:path";
import { createInterface } from "node:readline";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InteropClients, interopCases } from "../../examples/interop/interop-client.js";
import { createInteropServices } from "../../examples/interop/interop-services.js";
import { TestService, UnimplementedService } from "../../gen/grpc/testing/test_pb.js";
import { createGrpcJsServer } from "../../src/server/grpc-js/index.js";
import { createServer, type Server } from "../../src/server/index.js";

/** The cases run, by the names gRPC's description gives them: a renamed case fails the test. */
const implemented = [
  "empty_unary",
  "large_unary",
  "client_streaming",
  "server_streaming",
  "ping_pong",
  "empty_stream",
  "custom_metadata",
  "status_code_and_message",
  "special_status_message",
  "unimplemented_method",
  "unimplemented_service",
  "cancel_after_begin",
  "cancel_after_first_response",
  "timeout_on_sleeping_server",
];

/**
 * Cases of gRPC's description not implemented: cacheable_unary (needs a caching proxy in front
 * of the server), the compression cases (they need per-message compression flags Connect
 * clients do not expose), the auth cases (they need Google credentials) and the soak and ORCA
 * cases (long-running, or load-reporting features protomesh does not have).
 */
const notImplemented = [
  "cacheable_unary",
  "client_compressed_unary",
  "server_compressed_unary",
  "client_compressed_streaming",
  "server_compressed_streaming",
  "compute_engine_creds",
  "jwt_token_creds",
  "oauth2_auth_token",
  "per_rpc_creds",
  "google_default_credentials",
  "compute_engine_channel_credentials",
  "rpc_soak",
  "channel_soak",
  "orca_per_rpc",
  "orca_oob",
];

/** The named case, failing the test if the client has no case of that name. */
function interopCase(name: string): (clients: InteropClients) => Promise<void> {
  const run = interopCases[name];
  if (run === undefined) throw new Error(`the interop client has no case named ${name}`);
  return run;
}

function clientsFor(baseUrl: string, ca?: Buffer): InteropClients {
  const transport = createGrpcTransport(ca ? { baseUrl, nodeOptions: { ca } } : { baseUrl });
  return {
    test: createClient(TestService, transport),
    unimplemented: createClient(UnimplementedService, transport),
  };
}

const engines: [string, () => Server][] = [
  ["protomesh createServer", () => createServer({ services: createInteropServices() })],
  ["grpc-js binding", () => createGrpcJsServer({ services: createInteropServices() })],
];

describe.each(engines)("interop cases against %s", (_name, start) => {
  let server: Server;
  let clients: InteropClients;
  beforeAll(async () => {
    server = start();
    clients = clientsFor((await server.listen()).url);
  });
  afterAll(() => server.close());

  it("has exactly the implemented cases, by gRPC's names, and none of the others", () => {
    expect(Object.keys(interopCases).sort()).toEqual([...implemented].sort());
    for (const name of notImplemented) expect(interopCases[name]).toBeUndefined();
  });

  it.each(implemented)("%s", async (name) => {
    await interopCase(name)(clients);
  });
});

const packageJson = JSON.parse(readFileSync("package.json", "utf8")) as {
  scripts: Record<string, string>;
};
const script = packageJson.scripts["interop:server"] ?? "";

/**
 * Starts the `npm run interop:server` command line on a free port (run directly rather than
 * through npm, so the exit code seen is the server's own) and waits for its `listening on` line.
 */
async function startInteropServer(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  // As npm runs it: through sh with node_modules/.bin first on PATH. The script `exec`s, so the
  // exit code seen is the server's own.
  const child = spawn("sh", ["-c", `${script} "$@"`, "sh", "--port", "0", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, PATH: `${resolve("node_modules/.bin")}${delimiter}${process.env.PATH}` },
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    const match = /^listening on (\S+)$/.exec(line);
    if (match?.[1]) return { child, url: match[1] };
  }
  throw new Error("interop server exited before listening");
}

it("npm run interop:server runs examples/interop/server.ts in one process", () => {
  expect(script).toBe("exec node --import tsx examples/interop/server.ts");
});

/** One UnaryCall from a grpc-js client built by proto-loader from test.proto; the payload size. */
async function grpcJsUnary(url: URL, ca: Buffer | undefined): Promise<number> {
  const definition = protoLoader.loadSync("grpc/testing/test.proto", { includeDirs: ["proto"] });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { testing: { TestService: grpc.ServiceClientConstructor } };
  };
  const credentials = ca ? grpc.credentials.createSsl(ca) : grpc.credentials.createInsecure();
  const client = new loaded.grpc.testing.TestService(
    url.host,
    credentials,
  ) as unknown as grpc.Client & {
    unaryCall(
      request: object,
      callback: (error: Error | null, response?: { payload?: { body: Buffer } }) => void,
    ): void;
  };
  try {
    const response = await new Promise<{ payload?: { body: Buffer } } | undefined>(
      (resolve, reject) =>
        client.unaryCall({ responseSize: 271_828 }, (error, r) =>
          error ? reject(error) : resolve(r),
        ),
    );
    return response?.payload?.body.length ?? -1;
  } finally {
    client.close();
  }
}

describe.each([
  ["cleartext", [] as string[]],
  ["--use_tls", ["--use_tls"]],
])("npm run interop:server (%s)", (_name, args) => {
  it("serves the interop cases and exits 0 on SIGTERM", async () => {
    const { child, url } = await startInteropServer(args);
    try {
      const ca = args.length > 0 ? readFileSync("test/fixtures/tls/ca.pem") : undefined;
      expect(url.startsWith(ca ? "https://" : "http://")).toBe(true);
      const clients = clientsFor(url, ca);
      for (const name of ["large_unary", "ping_pong", "custom_metadata", "unimplemented_service"]) {
        await interopCase(name)(clients);
      }
      // And a client no one here wrote: grpc-js + proto-loader, trusting the test CA over TLS.
      expect(await grpcJsUnary(new URL(url), ca)).toBe(271_828);
    } finally {
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const [code] = await exited;
      expect(code).toBe(0);
    }
  });
});
