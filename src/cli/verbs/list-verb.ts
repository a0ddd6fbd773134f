import type { CliIo } from "../cli-io.js";
import { parseVerbArgs } from "../parse-verb-args.js";
import { createReflectionClient } from "../remote/reflection-client.js";
import { remoteArgOptions, remoteOptionsHelp } from "../remote/remote-options.js";
import { findService } from "../remote/resolve-method.js";
import { withRemoteSession } from "../remote/with-remote-session.js";
import type { Verb } from "../verb.js";

/** `protomesh list <url> [service]`, by server reflection. */
export const listVerb: Verb = {
  name: "list",
  help: `usage: protomesh list <url> [package.Service]

Lists the services a server exposes through grpc.reflection.v1 (or v1alpha), one a line;
given a service, lists its methods as package.Service/Method, ready for protomesh call.

${remoteOptionsHelp}
`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseVerbArgs("list", args, remoteArgOptions, { min: 1, max: 2 });
    const [url = "", serviceName] = parsed.positionals;
    const lines = await withRemoteSession("list", parsed, url, async (session) => {
      const reflection = createReflectionClient(session);
      if (serviceName === undefined) return reflection.listServices();
      const registry = await reflection.registryFor(serviceName);
      const service = findService(registry, serviceName, session.options.url.href);
      return service.methods.map((m) => `${service.typeName}/${m.name}`);
    });
    for (const line of lines) io.out(`${line}\n`);
    return 0;
  },
};
