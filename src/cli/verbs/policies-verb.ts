import type { CliIo } from "../cli-io.js";
import { parseVerbArgs } from "../parse-verb-args.js";
import { formatPolicyTable, policyRows } from "../policy-table.js";
import { readContracts } from "../read-contracts.js";
import { remoteArgOptions, remoteOptionsHelp } from "../remote/remote-options.js";
import type { Verb } from "../verb.js";

/** `protomesh policies [DIR|URL]`: the effective policy of every method, one row each. */
export const policiesVerb: Verb = {
  name: "policies",
  help: `usage: protomesh policies [DIR|URL]

Prints the effective call policy of every method, one row each: timeout, attempts, retryable
codes, hedging, breaker, bulkhead, visibility, auth and REST route, as the contract resolves
it (library defaults < service default_policy < method policy). Reads this workspace's
contracts, those under DIR, or a running server's over gRPC reflection (http:// or https://).
"3*" in ATTEMPTS: not idempotent, retried only when the request was never sent.
AUTH: none, optional (a token sent must be valid), authenticated, or the scopes, roles and
peer identities needed (a+b: all of them, a|b: any one); "default: authenticated" is a
PUBLIC method with no auth written, enforced only by a server given auth options.

Options for a URL:
${remoteOptionsHelp}
`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseVerbArgs("policies", args, remoteArgOptions, { min: 0, max: 1 });
    const registry = await readContracts(io.cwd, parsed.positionals[0], parsed);
    io.out(`${formatPolicyTable(policyRows(registry))}\n`);
    return 0;
  },
};
