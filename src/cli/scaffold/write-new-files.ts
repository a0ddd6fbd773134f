import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { CliError } from "../cli-error.js";

/**
 * Writes every file under `root`, or none: if any already exists, fails naming them all and
 * leaves the tree as it was. Shell scripts are made executable. Returns the paths written.
 */
export function writeNewFiles(root: string, files: Readonly<Record<string, string>>): string[] {
  const paths = Object.keys(files);
  const existing = paths.filter((path) => existsSync(join(root, path)));
  if (existing.length > 0) {
    throw new CliError(
      `refusing to overwrite ${existing.join(", ")} in ${root}: move them away or pick another directory`,
    );
  }
  for (const path of paths) {
    const target = join(root, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, files[path] ?? "", { flag: "wx" });
    if (path.endsWith(".sh")) chmodSync(target, 0o755);
  }
  return paths;
}
