import type { DescFile } from "@bufbuild/protobuf";
import {
  compileHttpRulesReporting,
  type HttpRoute,
  type HttpRuleError,
} from "../contract/http-rule/index.js";

/** One package's HTTP rules, compiled once for both the checks and the OpenAPI document. */
export interface PackageRoutes {
  /** The proto package, e.g. `acme.order.v1` (empty for none). */
  readonly package: string;
  /** The package's files in the request, sorted by name. */
  readonly files: readonly DescFile[];
  /** Every route that compiles, internal methods' too. */
  readonly routes: readonly HttpRoute[];
  /** Every rule that does not (see `checkHttpRules`). */
  readonly errors: readonly HttpRuleError[];
}

/**
 * The HTTP rules of `files`, compiled per package (sorted by name) with the gateway's route
 * compiler: a package is the unit of a contract and of its OpenAPI document.
 */
export function compilePackageRoutes(files: readonly DescFile[]): PackageRoutes[] {
  const byPackage = new Map<string, DescFile[]>();
  for (const file of files) {
    const list = byPackage.get(file.proto.package);
    if (list) list.push(file);
    else byPackage.set(file.proto.package, [file]);
  }
  return [...byPackage.keys()].sort().map((pkg) => {
    const pkgFiles = (byPackage.get(pkg) ?? []).sort((a, b) =>
      a.proto.name < b.proto.name ? -1 : a.proto.name > b.proto.name ? 1 : 0,
    );
    const { routes, errors } = compileHttpRulesReporting(pkgFiles.flatMap((f) => f.services));
    return { package: pkg, files: pkgFiles, routes, errors };
  });
}
