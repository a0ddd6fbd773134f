// Our own interop client: every case of gRPC's interop-test description, over a real socket,
// against the TestService on a protomesh server, on the grpc-js binding, and on the
// `npm run interop:server` process (cleartext and TLS).
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

const caseNames = Object.keys(interopCases);

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

  it("knows all fourteen cases", () => {
    expect(caseNames).toHaveLength(14);
  });

  it.each(caseNames)("%s", async (name) => {
    await interopCases[name]?.(clients);
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
        await interopCases[name]?.(clients);
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
