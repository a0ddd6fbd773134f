import { createClient } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../../gen/grpc/health/v1/health_pb.js";
import type { CliIo } from "../cli-io.js";
import { parseVerbArgs } from "../parse-verb-args.js";
import { remoteArgOptions, remoteOptionsHelp } from "../remote/remote-options.js";
import { withRemoteSession } from "../remote/with-remote-session.js";
import type { Verb } from "../verb.js";

/** `protomesh health <url> [service]`: for scripts and probes. */
export const healthVerb: Verb = {
  name: "health",
  help: `usage: protomesh health <url> [service]

Asks grpc.health.v1.Health/Check for the server ("" when no service is given) or one service,
and prints the status. Exit 0 only when SERVING; 1 for NOT_SERVING, SERVICE_UNKNOWN, an
unknown service, an error or an unreachable server — fit for readiness probes.

${remoteOptionsHelp}
`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseVerbArgs("health", args, remoteArgOptions, { min: 1, max: 2 });
    const [url = "", service = ""] = parsed.positionals;
    const status = await withRemoteSession("health", parsed, url, async (session) => {
      const client = createClient(Health, session.grpc);
      const response = await client.check(
        { service },
        { signal: session.signal, headers: session.headers },
      );
      return response.status;
    });
    const name = ServingStatus[status] ?? String(status);
    if (status === ServingStatus.SERVING) {
      io.out(`${name}\n`);
      return 0;
    }
    io.err(`${name}\n`);
    return 1;
  },
};
