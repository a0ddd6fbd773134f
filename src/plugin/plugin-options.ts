/** Options of protoc-gen-protomesh, beside protoplugin's own (`target`, `import_extension`…). */
export interface PluginOptions {
  /**
   * Where generated code imports the protomesh runtime from: a package name (default
   * `protomesh`, which also gives `protomesh/testing` for the fakes) or, for code generated
   * inside this repository, a directory relative to the output root such as `./../src`
   * (then `./../src/index.js` and `./../src/testing/index.js`).
   */
  readonly runtime: string;
  /**
   * The directory, under the plugin's `out`, of the OpenAPI documents (one per package with
   * HTTP rules on PUBLIC methods); default `openapi`, so `gen/openapi/`. `none` writes none.
   */
  readonly openapi: string | undefined;
}

/** The defaults: generated code imports the published package; OpenAPI into `openapi/`. */
export const defaultPluginOptions: PluginOptions = { runtime: "protomesh", openapi: "openapi" };

/**
 * Parses the plugin's own options strictly: an unknown key, a repeated key or an empty value
 * fails the run rather than being ignored, so a typo in buf.gen.yaml is seen at once.
 */
export function parsePluginOptions(raw: readonly { key: string; value: string }[]): PluginOptions {
  let runtime: string | undefined;
  let openapi: string | undefined;
  for (const { key, value } of raw) {
    switch (key) {
      case "runtime":
        if (runtime !== undefined) throw new Error("option runtime given twice");
        if (value === "") throw new Error("option runtime needs a value, e.g. runtime=protomesh");
        runtime = value.replace(/\/+$/, "");
        break;
      case "openapi": {
        if (openapi !== undefined) throw new Error("option openapi given twice");
        const dir = value.replace(/\/+$/, "");
        if (dir === "" || dir.startsWith("/") || dir.split("/").includes(".."))
          throw new Error(
            "option openapi needs a directory inside the output, e.g. openapi=openapi, or none",
          );
        openapi = dir;
        break;
      }
      default:
        throw new Error(`unknown option ${JSON.stringify(key)} (known: runtime, openapi)`);
    }
  }
  return {
    runtime: runtime ?? defaultPluginOptions.runtime,
    openapi: openapi === "none" ? undefined : (openapi ?? defaultPluginOptions.openapi),
  };
}

/** The two import paths generated code uses: the main API and the fakes. */
export function runtimeImports(options: PluginOptions): { main: string; testing: string } {
  const { runtime } = options;
  if (runtime.startsWith("./") || runtime.startsWith("../")) {
    return { main: `${runtime}/index.js`, testing: `${runtime}/testing/index.js` };
  }
  return { main: runtime, testing: `${runtime}/testing` };
}
