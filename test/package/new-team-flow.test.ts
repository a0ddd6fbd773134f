/**
 * The new-team flow, outside this repository, on the packed tarball only: install it with buf
 * and protoc-gen-es from npm into a temporary project, then on the lowest supported Node
 * (engines) and on Node 24 (both from the npm `node` package, side by side as aliases): init,
 * new service, generate, a plain .mjs service and client over gRPC, a TypeScript consumer
 * type-checked against the shipped .d.ts, protomesh call and health, and a breaking change
 * that protomesh breaking refuses.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = resolve(import.meta.dirname, "../..");
const manifest = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const lowest = manifest.engines.node.replace(/^>=\s*/, "");
const runtimes = [
  { label: `lowest supported (${lowest})`, spec: lowest, dir: "node-lowest" },
  { label: "Node 24", spec: "24", dir: "node-24" },
];
/** The buf and protoc-gen-es this repository is tested with (exact, so npm's cache serves them). */
const lockVersion = (name: string) =>
  (
    JSON.parse(readFileSync(join(repo, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version: string }>;
    }
  ).packages[`node_modules/${name}`]?.version ?? "latest";

const minutes = (n: number) => n * 60_000;
let work = "";
let project = "";
let tarball = "";
let tarballEntries: string[] = [];

/** An environment without the npm_* variables of an outer `npm test`, with `bin` first on PATH. */
function env(bin?: string): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith("npm_") && key !== "NODE_OPTIONS") clean[key] = value;
  }
  const path = [bin, join(project, "node_modules", ".bin"), process.env.PATH].filter(Boolean);
  return { ...clean, PATH: path.join(delimiter), NODE_ENV: "test" };
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; bin?: string | undefined; timeoutMs?: number },
): Promise<Result> {
  return new Promise((done) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: env(options.bin),
        timeout: options.timeoutMs ?? minutes(2),
        maxBuffer: 1 << 26,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

async function ok(
  command: string,
  args: readonly string[],
  options: { cwd: string; bin?: string | undefined; timeoutMs?: number },
): Promise<Result> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited ${result.code}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "protomesh-new-team-"));
  project = join(work, "project");
  mkdirSync(project);
  // npm pack runs prepack, which builds dist/ with tsc and bundles the bin with esbuild.
  const packed = await ok("npm", ["pack", "--json", "--pack-destination", work], {
    cwd: repo,
    timeoutMs: minutes(4),
  });
  const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = join(work, info[0]?.filename ?? "");
  tarballEntries = (info[0]?.files ?? []).map((f) => f.path);

  writeFileSync(
    join(project, "package.json"),
    `${JSON.stringify(
      {
        name: "new-team",
        private: true,
        type: "module",
        allowScripts: { "@bufbuild/buf": true, node: true },
      },
      null,
      2,
    )}\n`,
  );
  await ok(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      tarball,
      `@bufbuild/buf@${lockVersion("@bufbuild/buf")}`,
      `@bufbuild/protoc-gen-es@${lockVersion("@bufbuild/protoc-gen-es")}`,
      `@types/node@${lockVersion("@types/node")}`,
      `tsx@${lockVersion("tsx")}`,
    ],
    { cwd: project, timeoutMs: minutes(5) },
  );
  // Each Node in its own directory: both packages would claim node_modules/.bin/node.
  for (const runtime of runtimes) {
    const dir = join(work, runtime.dir);
    mkdirSync(dir);
    writeFileSync(join(dir, "package.json"), '{"private":true,"allowScripts":{"node":true}}\n');
    await ok(
      "npm",
      [
        "install",
        "--no-save",
        "--no-audit",
        "--no-fund",
        `${runtime.dir}@npm:node@${runtime.spec}`,
      ],
      { cwd: dir, timeoutMs: minutes(5) },
    );
  }
}, minutes(15));

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packed tarball", () => {
  it("holds the compiled package and no test, fixture, benchmark or TypeScript source", () => {
    expect(tarballEntries).toEqual(
      expect.arrayContaining([
        "package.json",
        "README.md",
        "dist/src/index.js",
        "dist/src/index.d.ts",
        "dist/src/index.js.map",
        "dist/cli/protomesh.js",
        "dist/src/server/grpc-js/index.js",
        "dist/gen/grpc/reflection/v1/reflection_pb.js",
      ]),
    );
    const forbidden = tarballEntries.filter(
      (path) =>
        /^(test|bench|examples|contracts|\.ci|src|gen)\//.test(path) ||
        // The bin is the bundle in dist/cli; tsc's unbundled copy of the CLI stays out.
        path.startsWith("dist/src/cli/") ||
        /^proto\/protomesh\/(testing|bench)\//.test(path) ||
        /fixtures?\//.test(path) ||
        /\.test\.|\.spec\./.test(path) ||
        (path.endsWith(".ts") && !path.endsWith(".d.ts")),
    );
    expect(forbidden).toEqual([]);
  });

  it("declares bin, exports with types conditions, peers and no private flag", () => {
    const packed = JSON.parse(
      readFileSync(join(project, "node_modules", "protomesh", "package.json"), "utf8"),
    ) as Record<string, unknown>;
    expect(packed.private).toBeUndefined();
    expect(packed.bin).toEqual({
      protomesh: "./dist/cli/protomesh.js",
      "protoc-gen-protomesh": "./dist/src/plugin/bin.js",
    });
    const exports = packed.exports as Record<string, { types?: string; default?: string }>;
    for (const [subpath, target] of Object.entries(exports)) {
      if (subpath === "./package.json") continue;
      expect(target.types, subpath).toMatch(/^\.\/dist\/.*\.d\.ts$/);
      expect(target.default, subpath).toMatch(/^\.\/dist\/.*\.js$/);
    }
    expect(Object.keys(packed.peerDependencies as object)).toEqual(
      expect.arrayContaining(["@bufbuild/protobuf", "@connectrpc/connect"]),
    );
    expect(packed.dependencies).not.toHaveProperty("@bufbuild/protobuf");
    expect(packed.dependencies).not.toHaveProperty("@connectrpc/connect");
  });
});

describe.each(runtimes)("a new team on $label", (runtime) => {
  const bin = () => join(work, runtime.dir, "node_modules", runtime.dir, "bin");
  const node = () => join(bin(), "node");
  const team = () => join(project, runtime.dir);
  const servers: ChildProcess[] = [];
  afterAll(() => {
    for (const server of servers) server.kill("SIGKILL");
  });

  it("runs the Node it says", async () => {
    const version = await ok(node(), ["--version"], { cwd: project });
    if (runtime.spec === lowest) expect(version.stdout.trim()).toBe(`v${lowest}`);
    else expect(version.stdout.trim()).toMatch(/^v24\./);
  });

  it(
    "init, new service, generate, a plain .mjs service and client, call, health, breaking",
    async () => {
      const at = { cwd: team(), bin: bin() };
      mkdirSync(team());
      const protomesh = (...args: string[]) =>
        run("npx", ["--no-install", "protomesh", ...args], at);

      const init = await protomesh("init");
      expect(init.stderr).toBe("");
      expect(init.code).toBe(0);
      expect((await protomesh("new", "service", "acme.shop.v1.CartService")).code).toBe(0);
      expect((await protomesh("lint")).code).toBe(0);
      const generate = await protomesh("generate");
      expect(generate.stderr).toBe("");
      expect(generate.code).toBe(0);

      writeFileSync(
        join(team(), "server.mjs"),
        `import { createServer, defineService } from "protomesh";
import { CartService } from "./gen/acme/shop/v1/cart_service_pb.js";

const carts = defineService(CartService, {
  async getCart(request) {
    return { cart: { id: request.id, displayName: "served by " + process.version } };
  },
});
const server = createServer({ services: [carts], logger: false });
const address = await server.listen({ host: "127.0.0.1", port: 0 });
console.log(address.url);
process.on("SIGTERM", () => server.close().then(() => process.exit(0)));
`,
      );
      writeFileSync(
        join(team(), "client.mjs"),
        `import { createClient } from "protomesh";
import { CartService } from "./gen/acme/shop/v1/cart_service_pb.js";

const carts = createClient(CartService, { baseUrl: process.argv[2] });
const response = await carts.getCart({ id: "cart-1" });
console.log(JSON.stringify({ id: response.cart.id, displayName: response.cart.displayName }));
process.exit(0);
`,
      );
      const server = spawn(node(), ["server.mjs"], { cwd: team(), env: env(bin()) });
      servers.push(server);
      let serverErrors = "";
      server.stderr.on("data", (chunk: Buffer) => {
        serverErrors += chunk.toString();
      });
      const [line] = (await Promise.race([
        once(createInterface({ input: server.stdout }), "line"),
        once(server, "exit").then(() => {
          throw new Error(`server.mjs exited: ${serverErrors}`);
        }),
      ])) as [string];
      const url = line.trim();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      // protoc-gen-protomesh's output: the typed fake and client factory, with no network.
      writeFileSync(
        join(team(), "fake.mjs"),
        `import { Code } from "@connectrpc/connect";
import {
  cartServicePolicies,
  createCartServiceClient,
  createCartServiceFake,
} from "./gen/acme/shop/v1/cart_service_protomesh.js";

const fake = createCartServiceFake({
  implementation: { getCart: (request) => ({ cart: { id: request.id } }) },
  failures: { getCart: { code: Code.Unavailable, times: 1 } },
});
const carts = createCartServiceClient({
  transport: fake.transport,
  policy: { retry: { backoff: { initialMs: 1, maxMs: 2 } } },
});
const response = await carts.getCart({ id: "cart-2" });
console.log(JSON.stringify({
  id: response.cart.id,
  calls: fake.callsTo("getCart").length,
  timeoutMs: cartServicePolicies.getCart.timeoutMs,
}));
`,
      );
      const viaFake = await ok(node(), ["fake.mjs"], { cwd: team() });
      expect(JSON.parse(viaFake.stdout)).toEqual({ id: "cart-2", calls: 2, timeoutMs: 10_000 });

      const client = await ok(node(), ["client.mjs", url], { cwd: team() });
      expect(JSON.parse(client.stdout)).toEqual({
        id: "cart-1",
        displayName: `served by v${(await ok(node(), ["-p", "process.versions.node"], { cwd: team() })).stdout.trim()}`,
      });

      const call = await protomesh(
        "call",
        url,
        "acme.shop.v1.CartService/GetCart",
        "-d",
        '{"id":"c9"}',
      );
      expect(call.stderr).toBe("");
      expect(call.code).toBe(0);
      expect(JSON.parse(call.stdout)).toMatchObject({ cart: { id: "c9" } });
      for (const protocol of ["connect", "grpc-web"]) {
        const other = await protomesh(
          "call",
          url,
          "acme.shop.v1.CartService/GetCart",
          "--protocol",
          protocol,
          "-d",
          '{"id":"c8"}',
        );
        expect(other.stderr, protocol).toBe("");
        expect(JSON.parse(other.stdout), protocol).toMatchObject({ cart: { id: "c8" } });
      }
      // Usage errors through the real bin: exit 2, one line, no stack trace.
      for (const args of [
        ["bogus"],
        ["call", url, "acme.shop.v1.CartService/GetCart", "-d", '{"id":}'],
      ]) {
        const usage = await protomesh(...args);
        expect(usage.code, args.join(" ")).toBe(2);
        expect(usage.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
        expect(usage.stderr).not.toMatch(/\n\s+at /);
      }
      const health = await protomesh("health", url);
      expect(health).toMatchObject({ code: 0, stdout: "SERVING\n" });
      const put = await protomesh("call", url, "acme.shop.v1.CartService/PutCart", "-d", "{}");
      expect(put.code).toBe(1);
      expect(put.stderr).toContain("ERROR: UNIMPLEMENTED (12)");

      server.kill("SIGTERM");
      await once(server, "exit");
      expect(serverErrors).toBe("");

      // The server no longer listens: one line, exit 1.
      const gone = await protomesh("health", url);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(/^cannot reach .*ECONNREFUSED/);

      // The generated handler and test stubs run as they are.
      const stubTest = await run(
        "npx",
        ["--no-install", "tsx", "--test", "--test-reporter=tap", "test/cart-service.test.ts"],
        at,
      );
      expect(stubTest.stdout).toMatch(/# pass 1/);
      expect(stubTest.code).toBe(0);

      // The contract is released and passes the scaffolded CI script, then is broken:
      // breaking must refuse it.
      expect((await protomesh("release")).code).toBe(0);
      const ci = await run("sh", ["scripts/ci.sh"], at);
      expect(ci.stderr).toBe("");
      expect(ci.code).toBe(0);
      const proto = join(team(), "proto/acme/shop/v1/cart_service.proto");
      writeFileSync(
        proto,
        readFileSync(proto, "utf8").replace("string display_name = 2;", "string title = 2;"),
      );
      const breaking = await protomesh("breaking");
      expect(breaking.code).toBe(1);
      expect(breaking.stderr).toContain("BREAKING changes");
      expect(breaking.stderr).toMatch(/display_name|title/);
    },
    minutes(5),
  );

  it(
    "type-checks a TypeScript consumer and the generated stubs against the shipped .d.ts",
    async () => {
      writeFileSync(
        join(team(), "consumer.ts"),
        `import { createClient, createServer, defineService } from "protomesh";
import { CartService } from "./gen/acme/shop/v1/cart_service_pb.js";

const carts = createClient(CartService, {
  baseUrl: "http://127.0.0.1:1",
  policy: { retry: { maxAttempts: 2 } },
});
export const id: Promise<string | undefined> = carts.getCart({ id: "x" }).then((r) => r.cart?.id);
// @ts-expect-error getCart takes a GetCartRequest, not a number
carts.getCart(42);
export const server = createServer({
  services: [defineService(CartService, { async getCart(request) { return { cart: { id: request.id } }; } })],
});
`,
      );
      writeFileSync(
        join(team(), "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2023",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            strict: true,
            exactOptionalPropertyTypes: true,
            noUncheckedIndexedAccess: true,
            verbatimModuleSyntax: true,
            types: ["node"],
            noEmit: true,
          },
          include: ["consumer.ts", "src", "test", "gen"],
        }),
      );
      const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");
      const result = await run(node(), [tsc, "-p", "tsconfig.json"], { cwd: team() });
      expect(result.stdout + result.stderr).toBe("");
      expect(result.code).toBe(0);
    },
    minutes(3),
  );
});
