import { describe, expect, it } from "vitest";
import { verbTable } from "../../src/cli/verb-table.js";
import { runProtomesh } from "./support/memory-io.js";

describe("protomesh: help, exit codes and usage errors", () => {
  it("--help lists every verb and the exit codes, exit 0", async () => {
    const run = await runProtomesh(["--help"]);
    expect(run.code).toBe(0);
    for (const { name } of verbTable) expect(run.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
    expect(run.stdout).toContain("Exit codes: 0 ok, 1 failure");
    expect(run.stdout).toContain("2 usage");
  });

  it("no arguments prints the help on stderr, exit 2", async () => {
    const run = await runProtomesh([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("usage: protomesh <command>");
  });

  it.each(verbTable.map((e) => e.name))("%s --help prints its usage, exit 0", async (name) => {
    const run = await runProtomesh([name, "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^usage: protomesh ${name}`));
    expect(run.stderr).toBe("");
    const viaHelp = await runProtomesh(["help", name]);
    expect(viaHelp.stdout).toBe(run.stdout);
  });

  it("every verb in the table loads a verb of the same name", async () => {
    for (const entry of verbTable) expect((await entry.load()).name).toBe(entry.name);
  });

  it("an unknown verb is one line, exit 2, with a suggestion", async () => {
    const run = await runProtomesh(["cal", "x"]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain('unknown command "cal"; did you mean call?');
  });

  it("an unknown option or a missing argument is a usage error naming the verb, exit 2", async () => {
    const unknown = await runProtomesh(["lint", "--bogus"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /^protomesh lint: Unknown option '--bogus'.*see protomesh lint --help/,
    );
    const missing = await runProtomesh(["call", "http://127.0.0.1:1"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("protomesh call: missing argument");
    const badProtocol = await runProtomesh(["health", "127.0.0.1:1", "--protocol", "soap"]);
    expect(badProtocol.code).toBe(2);
    expect(badProtocol.stderr).toContain("--protocol must be grpc, connect or grpc-web");
    const badTimeout = await runProtomesh(["health", "127.0.0.1:1", "--timeout", "soon"]);
    expect(badTimeout.code).toBe(2);
    expect(badTimeout.stderr).toContain('--timeout "soon" is not a duration');
  });

  it("--version prints the package's version", async () => {
    const run = await runProtomesh(["--version"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});
