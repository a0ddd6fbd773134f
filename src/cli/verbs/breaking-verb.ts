import { againstEnvVar, checkBreaking, releasedImagePath } from "../breaking-gate.js";
import type { CliIo } from "../cli-io.js";
import { parseVerbArgs, stringOption } from "../parse-verb-args.js";
import type { Verb } from "../verb.js";

/** `protomesh breaking [--against REF|PATH]`: buf breaking (FILE rules) against the baseline. */
export const breakingVerb: Verb = {
  name: "breaking",
  help: `usage: protomesh breaking [--against REF|PATH]

Fails (exit 1) when proto/ breaks a consumer of the released contracts (${releasedImagePath},
recorded by protomesh release), naming each breaking change. buf.yaml says which rules apply.

  --against REF|PATH   compare with a git ref, a directory or a buf image instead
                       (or set ${againstEnvVar})
`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseVerbArgs(
      "breaking",
      args,
      { against: { type: "string" } },
      { min: 0, max: 0 },
    );
    const against = stringOption(parsed, "against");
    const result = checkBreaking({ cwd: io.cwd, against });
    const verdict = result.ok ? "no breaking changes" : "BREAKING changes";
    const text = `${verdict} against ${result.against}\n${result.report}`.trim();
    if (result.ok) io.out(`${text}\n`);
    else io.err(`${text}\n`);
    return result.ok ? 0 : 1;
  },
};
