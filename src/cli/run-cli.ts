import { CliError, usageError } from "./cli-error.js";
import type { CliIo } from "./cli-io.js";
import { type VerbEntry, verbTable } from "./verb-table.js";

/** Exit codes, the same for every verb: documented in `protomesh --help`. */
const exitCodes = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * Runs one `protomesh` command line and resolves to its exit code; never throws and never
 * exits, so the bin decides the exit in one place and tests run commands in-process. Errors
 * become one clear line on stderr, with no stack trace (set PROTOMESH_DEBUG=1 to get one).
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  table: readonly VerbEntry[] = verbTable,
): Promise<number> {
  try {
    return await dispatch(argv, io, table);
  } catch (error) {
    io.err(`${describeFailure(error)}\n`);
    if (io.env.PROTOMESH_DEBUG && error instanceof Error && error.stack) io.err(`${error.stack}\n`);
    return error instanceof CliError ? error.exitCode : exitCodes.failure;
  }
}

async function dispatch(
  argv: readonly string[],
  io: CliIo,
  table: readonly VerbEntry[],
): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.err(topHelp(table));
    return exitCodes.usage;
  }
  if (first === "--help" || first === "-h") {
    io.out(topHelp(table));
    return exitCodes.ok;
  }
  if (first === "help") {
    if (rest[0] === undefined) {
      io.out(topHelp(table));
      return exitCodes.ok;
    }
    io.out((await find(table, rest[0]).load()).help);
    return exitCodes.ok;
  }
  if (first === "--version" || first === "-v") {
    io.out(`${await packageVersion()}\n`);
    return exitCodes.ok;
  }
  const verb = await find(table, first).load();
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(verb.help);
    return exitCodes.ok;
  }
  return verb.run(rest, io);
}

function find(table: readonly VerbEntry[], name: string): VerbEntry {
  const entry = table.find((e) => e.name === name);
  if (entry) return entry;
  if (name.startsWith("-")) throw usageError("", `unknown option ${name}`);
  const near = table.filter((e) => e.name.startsWith(name.slice(0, 2))).map((e) => e.name);
  const hint = near.length > 0 ? `; did you mean ${near.join(" or ")}?` : "";
  throw usageError("", `unknown command "${name}"${hint}`);
}

function topHelp(table: readonly VerbEntry[]): string {
  const width = Math.max(...table.map((e) => e.name.length));
  const lines = table.map((e) => `  ${e.name.padEnd(width)}  ${e.summary}`);
  return `usage: protomesh <command> [arguments]

${lines.join("\n")}

protomesh <command> --help  shows a command's arguments and options.
protomesh --version         prints the version.

Exit codes: 0 ok, 1 failure (a check failed, a call returned an error, a host was
unreachable), 2 usage (an unknown command, option or malformed argument).
`;
}

/** One line for any failure: ours as written, Connect's with its code, others by message. */
function describeFailure(error: unknown): string {
  if (error instanceof CliError) return error.message;
  if (error instanceof Error) return `protomesh: ${error.message}`;
  return `protomesh: ${String(error)}`;
}

async function packageVersion(): Promise<string> {
  const { readFileSync, existsSync } = await import("node:fs");
  const { dirname, join } = await import("node:path");
  // src/cli/ from sources, dist/src/cli/ once built: the package.json is a few levels up.
  let dir = import.meta.dirname;
  for (let i = 0; i < 4; i++) {
    const path = join(dir, "package.json");
    if (existsSync(path)) {
      const json = JSON.parse(readFileSync(path, "utf8")) as { name?: string; version?: string };
      if (json.name === "protomesh") return json.version ?? "unknown";
    }
    dir = dirname(dir);
  }
  return "unknown";
}
