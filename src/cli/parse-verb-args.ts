import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { usageError } from "./cli-error.js";

/** What `parseVerbArgs` found: the values of the options given, and the positionals. */
export interface ParsedVerbArgs {
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * Strict parsing with `node:util`'s parseArgs: an unknown option, a missing value or too many
 * or too few positionals is a usage error (exit 2) naming the verb.
 */
export function parseVerbArgs(
  verb: string,
  args: readonly string[],
  options: ParseArgsOptionsConfig,
  positionals: { readonly min: number; readonly max: number },
): ParsedVerbArgs {
  let parsed: ParsedVerbArgs;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' messages name the option and the fix; drop its advice about "--" only.
    const message = error instanceof Error ? error.message.split(". To specify")[0] : "";
    throw usageError(verb, message ?? String(error));
  }
  const count = parsed.positionals.length;
  if (count < positionals.min) throw usageError(verb, "missing argument");
  if (count > positionals.max) {
    throw usageError(verb, `unexpected argument "${parsed.positionals[positionals.max]}"`);
  }
  return parsed;
}

/** The string value of an option, or undefined. */
export function stringOption(parsed: ParsedVerbArgs, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === "string" ? value : undefined;
}

/** Every value of a repeatable string option. */
export function stringOptions(parsed: ParsedVerbArgs, name: string): string[] {
  const value = parsed.values[name];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return typeof value === "string" ? [value] : [];
}
