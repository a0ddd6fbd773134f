/**
 * The contract commands behind `npm run breaking`, `release:contracts` and `check:gen`.
 * A thin shim: each command is a pure function returning a result; the process exits here only.
 */
import { checkBreaking } from "./breaking-gate.js";
import { checkGenerated } from "./check-generated.js";
import { formatPolicyTable, policyRows } from "./policy-table.js";
import { readContracts } from "./read-contracts.js";
import { releaseContracts } from "./release-contracts.js";

interface Outcome {
  readonly ok: boolean;
  readonly message: string;
}

const usage = `usage: protomesh <command>
  breaking [--against REF|PATH]   fail if proto/ breaks the released contracts (or REF)
  release-contracts               record proto/ as the released contracts
  check-gen                       fail if gen/ differs from a fresh buf generate
  policies [DIR|URL]              print every method's effective policy, from the sources
                                  (default: this workspace) or a server's reflection`;

async function run(argv: readonly string[], cwd: string): Promise<Outcome> {
  const [command, ...rest] = argv;
  switch (command) {
    case "policies": {
      if (rest.length > 1 || rest[0]?.startsWith("-")) return { ok: false, message: usage };
      const rows = policyRows(await readContracts(cwd, rest[0]));
      return { ok: true, message: formatPolicyTable(rows) };
    }
    case "breaking": {
      const against = parseAgainst(rest);
      if (typeof against === "object") return against;
      const result = checkBreaking({ cwd, against });
      const verdict = result.ok ? "no breaking changes" : "BREAKING changes";
      return {
        ok: result.ok,
        message: `${verdict} against ${result.against}\n${result.report}`.trim(),
      };
    }
    case "release-contracts": {
      const result = releaseContracts({ cwd });
      return { ok: result.ok, message: result.report };
    }
    case "check-gen": {
      const r = checkGenerated({ cwd });
      if (r.ok) return { ok: true, message: "gen/ is fresh" };
      const lines = [
        ...r.stale.map((f) => `  stale:   ${f}`),
        ...r.missing.map((f) => `  missing: ${f}`),
        ...r.extra.map((f) => `  extra:   ${f}`),
      ];
      return {
        ok: false,
        message: `gen/ is not fresh; run npm run generate and commit:\n${lines.join("\n")}`,
      };
    }
    default:
      return { ok: false, message: usage };
  }
}

function parseAgainst(args: readonly string[]): string | undefined | Outcome {
  if (args.length === 0) return undefined;
  const [flag, value, ...more] = args;
  if (flag === "--against" && value !== undefined && more.length === 0) return value;
  if (flag?.startsWith("--against=") && value === undefined) return flag.slice("--against=".length);
  return { ok: false, message: usage };
}

let outcome: Outcome;
try {
  outcome = await run(process.argv.slice(2), process.cwd());
} catch (error) {
  outcome = { ok: false, message: error instanceof Error ? error.message : String(error) };
}
(outcome.ok ? console.log : console.error)(outcome.message);
process.exit(outcome.ok ? 0 : 1);
