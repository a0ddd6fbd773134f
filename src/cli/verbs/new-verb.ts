import { usageError } from "../cli-error.js";
import type { CliIo } from "../cli-io.js";
import { parseVerbArgs } from "../parse-verb-args.js";
import { parseServiceName } from "../scaffold/service-name.js";
import { serviceFiles } from "../scaffold/service-templates.js";
import { writeNewFiles } from "../scaffold/write-new-files.js";
import type { Verb } from "../verb.js";

/** `protomesh new service <org>.<domain>.v1.<Name>Service`. */
export const newVerb: Verb = {
  name: "new",
  help: `usage: protomesh new service <org>.<domain>.v<N>.<Name>Service

Adds, in the current contracts repository:
  proto/<org>/<domain>/v<N>/<name>_service.proto   a contract that passes protomesh lint:
                    comments on everything, one Request and one Response per RPC, the read
                    marked NO_SIDE_EFFECTS and the write IDEMPOTENT (only those are retried)
  src/<name>-service.ts        a handler stub (defineService from protomesh)
  test/<name>-service.test.ts  a test stub (node:test, a real server on 127.0.0.1)

Never overwrites (exit 1). Run protomesh generate next: the stubs import gen/.
`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseVerbArgs("new", args, {}, { min: 2, max: 2 });
    const [kind = "", fullName = ""] = parsed.positionals;
    if (kind !== "service") throw usageError("new", `unknown kind "${kind}"; try new service`);
    const name = parseServiceName("new", fullName);
    for (const path of writeNewFiles(io.cwd, serviceFiles(name))) io.out(`created ${path}\n`);
    io.out("next: protomesh lint && protomesh generate\n");
    return 0;
  },
};
