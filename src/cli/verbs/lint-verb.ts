import { runBuf } from "../buf-runner.js";
import type { CliIo } from "../cli-io.js";
import { parseVerbArgs } from "../parse-verb-args.js";
import type { Verb } from "../verb.js";

/** `protomesh lint`: buf lint with the rules of buf.yaml. */
export const lintVerb: Verb = {
  name: "lint",
  help: `usage: protomesh lint

Runs buf lint with the rules of buf.yaml (protomesh init writes STANDARD plus the comment
rules) and fails (exit 1) with one line per finding: file:line:column and the rule.
`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    parseVerbArgs("lint", args, {}, { min: 0, max: 0 });
    const result = runBuf(["lint", "--error-format", "text"], io.cwd);
    if (result.status !== 0) {
      io.err(`${result.output}\n`);
      return 1;
    }
    io.out("lint: no findings\n");
    return 0;
  },
};
