/**
 * `node --import` this to learn what a process loaded: on exit it writes, to the file named by
 * PROTOMESH_LOADED_MODULES, the URLs of the modules it loaded (ESM and CommonJS, through
 * `module.registerHooks`) and the Node built-ins (`process.moduleLoadList`), as JSON.
 */
import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";

const out = process.env.PROTOMESH_LOADED_MODULES;
const urls: string[] = [];
registerHooks({
  load(url, context, nextLoad) {
    urls.push(url);
    return nextLoad(url, context);
  },
});
process.on("exit", () => {
  if (out === undefined) return;
  // Undocumented but long-standing: "NativeModule <id>" for each built-in loaded.
  const { moduleLoadList } = process as unknown as { moduleLoadList: readonly string[] };
  const builtins = moduleLoadList
    .filter((entry) => entry.startsWith("NativeModule "))
    .map((entry) => entry.slice("NativeModule ".length));
  writeFileSync(out, JSON.stringify({ urls, builtins }));
});
