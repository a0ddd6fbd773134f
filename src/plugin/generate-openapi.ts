import { readMethodContract } from "../contract/index.js";
import { buildOpenApi } from "../contract/openapi/index.js";
import { formatJson } from "./format-json.js";
import type { PackageRoutes } from "./package-routes.js";

/** One generated document: its path under the plugin's `out` and its text. */
export interface OpenApiFile {
  readonly name: string;
  readonly content: string;
}

/**
 * One OpenAPI 3.1 document per package with HTTP rules, at `<dir>/<package path>/openapi.json`
 * (e.g. `openapi/acme/order/v1/openapi.json`): the REST surface the gateway serves for the
 * package, so the same route compiler and document builder as its `/openapi.json`. Like the
 * gateway, it holds the PUBLIC methods only; a package whose rules are all on internal methods
 * gets no document. The root's `x-protomesh-source` names the generator and the package's
 * proto files. Deterministic and formatted as Biome does (`formatJson`), keys in the
 * builder's order (paths and schemas sorted by name). `packages` come from
 * `compilePackageRoutes`, with no errors (the plugin checks them first).
 */
export function generateOpenApiFiles(
  packages: readonly PackageRoutes[],
  options: { readonly dir: string; readonly generator: string },
): OpenApiFile[] {
  const out: OpenApiFile[] = [];
  for (const { package: pkg, files, routes: all } of packages) {
    const routes = all.filter((r) => readMethodContract(r.method).visibility === "public");
    if (routes.length === 0) continue;
    const sources = files.map((f) => f.proto.name);
    const title = pkg === "" ? "(no package)" : pkg;
    const document = buildOpenApi(routes, {
      title,
      version: /(?:^|\.)(v\d+(?:(?:alpha|beta)\d*)?)$/.exec(pkg)?.[1] ?? "unversioned",
      description:
        `The REST surface of ${title}: its PUBLIC methods with google.api.http rules, as the ` +
        "protomesh gateway serves them. Generated from the proto files named in " +
        "x-protomesh-source; do not edit.",
      extensions: {
        "x-protomesh-source": {
          generator: options.generator,
          files: sources,
        },
      },
    });
    const dir = pkg === "" ? options.dir : `${options.dir}/${pkg.replaceAll(".", "/")}`;
    out.push({ name: `${dir}/openapi.json`, content: formatJson(document) });
  }
  return out;
}
