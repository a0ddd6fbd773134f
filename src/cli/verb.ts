import type { CliIo } from "./cli-io.js";

/**
 * One `protomesh` verb. Each lives in its own module under `verbs/` and is registered once in
 * `verb-table.ts`, which loads it only when it runs, so `protomesh --help` stays fast.
 */
export interface Verb {
  /** The word typed after `protomesh`. */
  readonly name: string;
  /** The full `--help` text: usage line, what it does, options, exit codes when special. */
  readonly help: string;
  /** Runs with the arguments after the verb; resolves to the exit code (0 ok, 1 failure). */
  run(args: readonly string[], io: CliIo): Promise<number>;
}
