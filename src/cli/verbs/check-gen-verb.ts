import { checkGenerated } from "../check-generated.js";
import type { CliIo } from "../cli-io.js";
import { parseVerbArgs } from "../parse-verb-args.js";
import type { Verb } from "../verb.js";

/** `protomesh check-gen`: fail if the committed generated code is stale. */
export const checkGenVerb: Verb = {
  name: "check-gen",
  help: `usage: protomesh check-gen

Regenerates into a temporary directory and compares with every out: directory of
buf.gen.yaml; fails (exit 1) naming each stale, missing or extra file. The working tree is
never touched.
`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    parseVerbArgs("check-gen", args, {}, { min: 0, max: 0 });
    const r = checkGenerated({ cwd: io.cwd });
    if (r.ok) {
      io.out("generated code is fresh\n");
      return 0;
    }
    const lines = [
      ...r.stale.map((f) => `  stale:   ${f}`),
      ...r.missing.map((f) => `  missing: ${f}`),
      ...r.extra.map((f) => `  extra:   ${f}`),
    ];
    io.err(
      `generated code is not fresh; run protomesh generate and commit:\n${lines.join("\n")}\n`,
    );
    return 1;
  },
};
