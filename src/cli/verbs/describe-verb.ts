import type { FileRegistry } from "@bufbuild/protobuf";
import { CliError } from "../cli-error.js";
import type { CliIo } from "../cli-io.js";
import { parseVerbArgs } from "../parse-verb-args.js";
import { describeDescriptor } from "../remote/describe-descriptor.js";
import { createReflectionClient } from "../remote/reflection-client.js";
import { remoteArgOptions, remoteOptionsHelp } from "../remote/remote-options.js";
import { withRemoteSession } from "../remote/with-remote-session.js";
import type { Verb } from "../verb.js";

/** `protomesh describe <url> <symbol>`, by server reflection. */
export const describeVerb: Verb = {
  name: "describe",
  help: `usage: protomesh describe <url> <symbol>

Prints a service, method (package.Service/Method or package.Service.Method), message or enum
as the server describes it through reflection, in .proto syntax.

${remoteOptionsHelp}
`,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseVerbArgs("describe", args, remoteArgOptions, { min: 2, max: 2 });
    const [url = "", input = ""] = parsed.positionals;
    const symbol = input.replace(/^\//, "").replace("/", ".");
    const text = await withRemoteSession("describe", parsed, url, async (session) => {
      const registry = await createReflectionClient(session).registryFor(symbol);
      const desc = registry.get(symbol) ?? methodOf(registry, symbol);
      if (!desc || desc.kind === "extension") {
        throw new CliError(
          `${session.options.url.href} describes no service, method, message or enum ${symbol}`,
        );
      }
      return describeDescriptor(desc);
    });
    io.out(text);
    return 0;
  },
};

function methodOf(registry: FileRegistry, symbol: string) {
  const cut = symbol.lastIndexOf(".");
  const service = registry.getService(symbol.slice(0, cut));
  return service?.methods.find((m) => m.name === symbol.slice(cut + 1));
}
