#!/usr/bin/env node
import { runNodeJs } from "@bufbuild/protoplugin";
import { protocGenProtomesh } from "./protoc-gen-protomesh.js";

runNodeJs(protocGenProtomesh);
