import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EchoService } from "../../gen/protomesh/bench/v1/echo_pb.js";
import { createServer, defineService, type Server } from "../../src/index.js";

// What a cold `protomesh call` loads is most of its wall time, so the call path is held to
// what it needs: reflection and one call over the http2 transport, whose frames are its own
// (node:net, not node:http2). These would each add tens of modules, or all of undici (web
// Headers, or node:http imported as a namespace).
const root = resolve(import.meta.dirname, "../..");
const forbiddenPackages =
  /node_modules\/(@grpc\/grpc-js|@connectrpc\/connect-node|pino|prom-client|@opentelemetry|jose|cockatiel)\//;
// grpc-code-name.ts (gRPC's names of status codes) is a leaf: Connect's Code and a table. Of
// src/transport, only the lean http2 engine and the leaves it imports, none of which loads
// grpc-js (the packages above are checked on their own); never the transport index, which does.
const forbiddenSources =
  /\/src\/(server|gateway|resilience|auth|events)\/|\/src\/observe\/(?!grpc-code-name\.ts$)|\/src\/transport\/(index|grpc-js-[\w-]+|grpc-status-error|grpc-metadata|connect-node-transport|create-transport)\.ts$|\/src\/context\/(index|call-context)\.ts$/;

let server: Server;
let url = "";
let dir = "";

beforeAll(async () => {
  server = createServer({
    services: [defineService(EchoService, { echo: (request) => ({ payload: request.payload }) })],
    logger: false,
  });
  url = (await server.listen({ host: "127.0.0.1", port: 0 })).url;
  dir = mkdtempSync(join(tmpdir(), "protomesh-cold-"));
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function loadedBy(args: readonly string[]): Promise<{ urls: string[]; builtins: string[] }> {
  const out = join(dir, `loaded-${args[0]}.json`);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      "--import",
      "tsx",
      "--import",
      "./test/cli/support/record-loaded-modules.ts",
      "src/cli/main.ts",
      ...args,
    ],
    { cwd: root, env: { ...process.env, PROTOMESH_LOADED_MODULES: out } },
  );
  expect(stdout).not.toBe("");
  return JSON.parse(readFileSync(out, "utf8")) as { urls: string[]; builtins: string[] };
}

describe("a cold protomesh call", () => {
  it("loads neither undici nor the server, transports, logging, metrics or auth", async () => {
    const loaded = await loadedBy([
      "call",
      url,
      `${EchoService.typeName}/${EchoService.method.echo.name}`,
      "-d",
      '{"payload":"aGk="}',
    ]);
    // The hook saw the command's own modules, so an empty list cannot pass by accident.
    expect(loaded.urls.some((u) => u.endsWith("/src/cli/verbs/call-verb.ts"))).toBe(true);
    expect(loaded.urls.filter((u) => forbiddenPackages.test(u))).toEqual([]);
    expect(loaded.urls.filter((u) => forbiddenSources.test(u))).toEqual([]);
    expect(loaded.urls.some((u) => u.endsWith("/src/transport/http2/http2-transport.ts"))).toBe(
      true,
    );
    expect(loaded.builtins).toContain("net");
    expect(loaded.builtins).not.toContain("http2");
    expect(loaded.builtins.filter((b) => b.includes("undici"))).toEqual([]);
  });

  it("protomesh health loads no more than call", async () => {
    const loaded = await loadedBy(["health", url]);
    expect(loaded.urls.some((u) => u.endsWith("/src/cli/verbs/health-verb.ts"))).toBe(true);
    expect(loaded.urls.filter((u) => forbiddenPackages.test(u))).toEqual([]);
    expect(loaded.builtins.filter((b) => b.includes("undici"))).toEqual([]);
  });
});
