#!/usr/bin/env node
/**
 * The `protomesh` bin: a thin shim over `runCli`. The process exits here and only here, once
 * stdout and stderr have drained (a pipe may still hold what a verb wrote).
 *
 * Node's compile cache (in the OS temp directory, Node ≥ 22.1) is turned on before anything
 * else is loaded, so later runs skip compiling the command's modules: a cold start is mostly
 * loading code. It fails silently where the directory is not writable; NODE_DISABLE_COMPILE_CACHE
 * turns it off.
 */
import { enableCompileCache } from "node:module";

enableCompileCache();
const { runCli } = await import("./run-cli.js");

// Only streams written to are drained: the first touch of process.stderr builds its stream.
const written = new Set<NodeJS.WriteStream>();
const write = (stream: NodeJS.WriteStream, text: string) => {
  written.add(stream);
  stream.write(text);
};
const code = await runCli(process.argv.slice(2), {
  cwd: process.cwd(),
  env: process.env,
  out: (text) => write(process.stdout, text),
  err: (text) => write(process.stderr, text),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
});
await Promise.all([...written].map(drain));
process.exit(code);

function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write("", () => resolve()));
}
