import { runBuf } from "../buf-runner.js";
import type { CliIo } from "../cli-io.js";
import { parseVerbArgs } from "../parse-verb-args.js";
import type { Verb } from "../verb.js";

/** `protomesh generate`: buf generate with the project's local plugins. */
export const generateVerb: Verb = {
  name: "generate",
  help: `usage: protomesh generate

Runs buf generate as buf.gen.yaml says, with local plugins only (protoc-gen-es and any other
protoc-gen-* in node_modules/.bin). Generated files are never edited by hand: commit proto/
and the generated code together.
`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    parseVerbArgs("generate", args, {}, { min: 0, max: 0 });
    const result = runBuf(["generate"], io.cwd);
    if (result.status !== 0) {
      io.err(`buf generate failed:\n${result.output}\n`);
      return 1;
    }
    if (result.output !== "") io.out(`${result.output}\n`);
    io.out("generated\n");
    return 0;
  },
};
