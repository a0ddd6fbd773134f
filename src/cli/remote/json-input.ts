import { CliError, usageError } from "../cli-error.js";
import type { CliIo } from "../cli-io.js";

/**
 * The text of `-d`: inline JSON, `@file` or `@-` (standard input). Default `{}` (an empty
 * request). A file that cannot be read fails with its path.
 */
export async function readDataArgument(
  verb: string,
  data: string | undefined,
  io: CliIo,
): Promise<{ readonly text: string; readonly source: string }> {
  if (data === undefined) return { text: "{}", source: "the default request" };
  if (data === "@-") return { text: await io.readStdin(), source: "standard input" };
  if (data.startsWith("@")) {
    const path = data.slice(1);
    if (path === "") throw usageError(verb, "-d @ needs a file name, or @- for standard input");
    try {
      // Imported here: node:fs/promises brings in readline, which a call without @file never needs.
      const { readFile } = await import("node:fs/promises");
      return { text: await readFile(path, "utf8"), source: path };
    } catch (error) {
      throw new CliError(`cannot read -d ${data}: ${(error as Error).message}`);
    }
  }
  return { text: data, source: "-d" };
}

/**
 * JSON.parse with a message that always says where: V8 names the position for most mistakes
 * but not for an unexpected token ("{"a":}"), so then the longest prefix that is still the start
 * of a valid document is found by bisection and the position is the first character after it.
 */
export function parseJsonInput(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const named = /at position (\d+)/.exec(message);
    const position = named ? Number(named[1]) : firstBadPosition(text);
    const { line, column } = lineColumn(text, position);
    const reason = message
      .replace(/ in JSON at position.*$/, "")
      .replace(/, ".*" is not valid JSON$/, "");
    throw new CliError(
      `malformed JSON in ${source} at line ${line} column ${column} (position ${position}): ${reason}`,
      { exitCode: 2 },
    );
  }
}

function firstBadPosition(text: string): number {
  let good = 0;
  let bad = text.length;
  while (bad - good > 1) {
    const middle = (good + bad) >> 1;
    if (isViablePrefix(text.slice(0, middle))) good = middle;
    else bad = middle;
  }
  return good;
}

/** A prefix is viable when JSON.parse accepts it or fails only because the input ended. */
function isViablePrefix(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return true;
  } catch (error) {
    const message = (error as Error).message;
    const at = /at position (\d+)/.exec(message);
    return message.startsWith("Unexpected end") || (at !== null && Number(at[1]) >= prefix.length);
  }
}

function lineColumn(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, position).split("\n");
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}
