import { resolve } from "node:path";
import { CliError } from "../cli-error.js";
import type { CliIo } from "../cli-io.js";
import { parseVerbArgs, stringOption } from "../parse-verb-args.js";
import { releaseContracts } from "../release-contracts.js";
import { repositoryFiles } from "../scaffold/repository-templates.js";
import { parseServiceName } from "../scaffold/service-name.js";
import { writeNewFiles } from "../scaffold/write-new-files.js";
import type { Verb } from "../verb.js";

/** The example service `protomesh init` writes unless told otherwise. */
const defaultExample = "acme.greeter.v1.GreeterService";

/** `protomesh init [dir]`: scaffold a contracts repository. */
export const initVerb: Verb = {
  name: "init",
  help: `usage: protomesh init [dir] [--example <org>.<domain>.v1.<Name>Service]

Scaffolds a contracts repository in dir (default: the current directory):
  buf.yaml          lint STANDARD plus the comment rules, breaking FILE
  buf.gen.yaml      local plugins only (protoc-gen-es; protoc-gen-protomesh will join it)
  proto/<org>/<domain>/v1/<name>_service.proto   one example service
  contracts/released.binpb   the released-contracts baseline (recorded with buf)
  scripts/ci.sh     lint, breaking and check-gen
  README.md

Never overwrites: if any of these files exists, nothing is written (exit 1).

  --example NAME   the example service (default ${defaultExample})
`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseVerbArgs("init", args, { example: { type: "string" } }, { min: 0, max: 1 });
    const root = resolve(io.cwd, parsed.positionals[0] ?? ".");
    const example = parseServiceName("init", stringOption(parsed, "example") ?? defaultExample);
    const written = writeNewFiles(root, repositoryFiles(example));
    for (const path of written) io.out(`created ${path}\n`);
    try {
      const release = releaseContracts({ cwd: root });
      if (!release.ok) {
        io.err(`${release.report}\n`);
        return 1;
      }
      io.out(`created contracts/released.binpb (the baseline of protomesh breaking)\n`);
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      io.err(`baseline not recorded: ${error.message}; then run protomesh release\n`);
    }
    io.out(
      `next: protomesh new service ${example.packageName}.NameService, then protomesh generate\n`,
    );
    return 0;
  },
};
