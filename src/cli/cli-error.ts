/**
 * A failure the user can act on: one line (or a short block) that says what went wrong and what
 * to do next, printed without a stack trace. `exitCode` 1 is a failure, 2 a usage error.
 */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: 1 | 2;

  constructor(message: string, options?: { readonly exitCode?: 1 | 2; readonly cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** Bad arguments: exit code 2, and the message points at the verb's --help. */
export function usageError(verb: string, message: string): CliError {
  const command = verb === "" ? "protomesh" : `protomesh ${verb}`;
  return new CliError(`${command}: ${message} (see ${command} --help)`, { exitCode: 2 });
}
