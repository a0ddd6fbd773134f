#!/usr/bin/env node
// Runs protoc-gen-protomesh from its TypeScript sources, as this repository's buf.gen.yaml does
// (a package's own bin is not linked into its own node_modules/.bin, and sources need no build).
// protoplugin, and the TypeScript compiler it imports, are loaded natively first: loaded through
// tsx's hooks they cost about 1.5 s more per run. Then tsx registers, for our .ts sources only.
import { runNodeJs } from "@bufbuild/protoplugin";
import "@bufbuild/protobuf";
import "@connectrpc/connect";
import { register } from "tsx/esm/api";

register();
const { protocGenProtomesh } = await import("./protoc-gen-protomesh.ts");
runNodeJs(protocGenProtomesh);
