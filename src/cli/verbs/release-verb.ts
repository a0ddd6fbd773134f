import type { CliIo } from "../cli-io.js";
import { parseVerbArgs } from "../parse-verb-args.js";
import { releaseContracts } from "../release-contracts.js";
import type { Verb } from "../verb.js";

/** `protomesh release`: record proto/ as the released contracts. */
export const releaseVerb: Verb = {
  name: "release",
  help: `usage: protomesh release

Records proto/ as the released contracts (contracts/released.binpb, a buf image to commit),
the baseline protomesh breaking compares with. Refuses (exit 1) to record a state that breaks
the previous release; the file is written whole or not at all.
`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    parseVerbArgs("release", args, {}, { min: 0, max: 0 });
    const result = releaseContracts({ cwd: io.cwd });
    if (result.ok) io.out(`${result.report}\n`);
    else io.err(`${result.report}\n`);
    return result.ok ? 0 : 1;
  },
};
