import type { CliIo } from "../../../src/cli/cli-io.js";
import { runCli } from "../../../src/cli/run-cli.js";

/** What one in-process `protomesh` run printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command line in-process in `cwd`, with `stdin` as standard input. */
export async function runProtomesh(
  argv: readonly string[],
  options: { readonly cwd?: string; readonly stdin?: string } = {},
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    cwd: options.cwd ?? process.cwd(),
    env: {},
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    readStdin: async () => options.stdin ?? "",
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}
