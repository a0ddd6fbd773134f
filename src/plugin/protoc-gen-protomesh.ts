import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { create } from "@bufbuild/protobuf";
import {
  type CodeGeneratorRequest,
  CodeGeneratorResponse_FileSchema,
  CodeGeneratorResponseSchema,
} from "@bufbuild/protobuf/wkt";
import { createEcmaScriptPlugin, type Plugin } from "@bufbuild/protoplugin";
import {
  type ContractCheck,
  type ContractFinding,
  checkContracts,
  formatFinding,
} from "./check-contracts.js";
import { httpRuleFindings } from "./check-http-rules.js";
import { generateOpenApiFiles, type OpenApiFile } from "./generate-openapi.js";
import { generateServiceModules } from "./generate-service-module.js";
import { compilePackageRoutes } from "./package-routes.js";
import { parsePluginOptions } from "./plugin-options.js";

/** Where the plugin's warnings go; by default stderr, which buf shows. */
export interface PluginReporter {
  warn(line: string): void;
}

/** Options of `createProtomeshPlugin`. */
export interface ProtomeshPluginOptions {
  /** Receives each warning as a `file.proto:line:col: warning: …` line. Default stderr. */
  readonly reporter?: PluginReporter;
  /** Further contract checks, after the policy and HTTP rule checks (see `ContractCheck`). */
  readonly checks?: readonly ContractCheck[];
}

/**
 * Builds the plugin. The contracts of the files to generate are checked first: any error
 * fails the whole run with `file.proto:line:col: message` lines (protoc's shape) and no file
 * at all, so buf writes nothing into gen/; warnings are reported and generation goes on.
 */
export function createProtomeshPlugin(options: ProtomeshPluginOptions = {}): Plugin {
  const reporter = options.reporter ?? { warn: (line) => process.stderr.write(`${line}\n`) };
  const version = `v${packageVersion()}`;
  let errors: ContractFinding[] = [];
  let openApi: OpenApiFile[] = [];
  const generator = createEcmaScriptPlugin({
    name: "protoc-gen-protomesh",
    version,
    parseOptions: parsePluginOptions,
    generateTs(schema) {
      // Compiled once: the HTTP rule checks and the OpenAPI documents read the same routes.
      const packages = compilePackageRoutes(schema.files);
      const findings = checkContracts(schema.files, [
        () => httpRuleFindings(packages),
        ...(options.checks ?? []),
      ]);
      for (const warning of findings.filter((f) => f.severity === "warning")) {
        reporter.warn(formatFinding(warning));
      }
      errors = findings.filter((f) => f.severity === "error");
      if (errors.length > 0) return;
      generateServiceModules(schema);
      const dir = schema.options.openapi;
      openApi = dir
        ? generateOpenApiFiles(packages, { dir, generator: `protoc-gen-protomesh ${version}` })
        : [];
    },
  });
  return {
    name: generator.name,
    version: generator.version,
    run(request: CodeGeneratorRequest) {
      errors = [];
      openApi = [];
      const response = generator.run(request);
      if (errors.length > 0) {
        return create(CodeGeneratorResponseSchema, {
          error: errors.map(formatFinding).join("\n"),
        });
      }
      // protoplugin prints TypeScript only; the JSON documents join its response here.
      for (const file of openApi) {
        response.file.push(create(CodeGeneratorResponse_FileSchema, file));
      }
      return response;
    },
  };
}

/**
 * protomesh's version, from its package.json: the nearest one up from this module, in the
 * sources (`src/plugin/`) and in the built package (`dist/src/plugin/`) alike.
 */
function packageVersion(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const { name, version } = JSON.parse(readFileSync(manifest, "utf8")) as {
        name?: string;
        version?: string;
      };
      if (name === "protomesh" && version) return version;
    }
    if (dirname(dir) === dir)
      throw new Error("protoc-gen-protomesh: cannot find protomesh's package.json");
  }
}

/**
 * protoc-gen-protomesh: per `.proto` file with services, `<file>_protomesh.ts` holding a typed
 * client factory, the resolved call policies and a typed fake for every service; per package
 * with HTTP rules on PUBLIC methods, `openapi/<package path>/openapi.json`.
 */
export const protocGenProtomesh: Plugin = createProtomeshPlugin();
