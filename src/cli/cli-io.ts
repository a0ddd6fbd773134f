/**
 * Where a verb reads and writes. The bin wires it to the process; tests pass their own, so
 * every verb runs in-process and no verb ever touches `process.stdout` or `process.exit`.
 */
export interface CliIo {
  /** The directory the command runs in (the contracts repository for contract verbs). */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Writes text to standard output as is (add the newline yourself). */
  out(text: string): void;
  /** Writes text to standard error as is. */
  err(text: string): void;
  /** Reads standard input to its end (for `-d @-`). */
  readStdin(): Promise<string>;
}
