import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
let child: ChildProcess | undefined;

afterEach(() => {
  if (child?.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    process.kill(-child.pid, "SIGKILL");
  }
});

/** Resolves with the printed sample call once the demo has written it. */
function sampleCall(proc: ChildProcess): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let out = "";
    proc.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (out.includes("Ctrl-C stops")) resolvePromise(out);
    });
    proc.once("exit", (code) =>
      reject(new Error(`npm start exited (${code}) before printing a call:\n${out}`)),
    );
  });
}

it("npm start boots the mesh, answers the printed call, and exits 0 on SIGINT", async () => {
  // Its own process group, so SIGINT reaches npm and the mesh as Ctrl-C in a terminal would.
  child = spawn("npm", ["start", "--silent"], {
    cwd: root,
    detached: true,
    env: { ...process.env, ORDER_PORT: "0", INVENTORY_PORT: "0", GATEWAY_PORT: "0", WEB_PORT: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const out = await sampleCall(child);
  const lines = out.split("\n");
  const call = lines.find((l) => l.startsWith("curl ")) ?? "";
  expect(lines.some((l) => /^gateway +http:\/\/127\.0\.0\.1:\d+ /.test(l))).toBe(true);
  const restCall = lines.find((l) => l.startsWith("curl ") && l.endsWith("/v1/orders")) ?? "";
  expect(restCall).not.toBe("");
  const rest = await promisify(execFile)("sh", ["-c", restCall]);
  expect((JSON.parse(rest.stdout) as { order?: { status?: string } }).order?.status).toBe(
    "ORDER_STATUS_CONFIRMED",
  );
  expect(call).toMatch(/http:\/\/127\.0\.0\.1:\d+\/acme\.order\.v1\.OrderService\/CreateOrder$/);

  const { stdout } = await promisify(execFile)("sh", ["-c", call]);
  const reply = JSON.parse(stdout) as { order?: { status?: string; total?: unknown } };
  expect(reply.order?.status).toBe("ORDER_STATUS_CONFIRMED");
  expect(reply.order?.total).toEqual({ currencyCode: "EUR", units: "25" });

  const exited = once(child, "exit");
  process.kill(-(child.pid ?? 0), "SIGINT");
  const [code, signal] = await exited;
  expect({ code, signal }).toEqual({ code: 0, signal: null });
});
