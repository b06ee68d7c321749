#!/usr/bin/env node
// The `agora` command: run the compiled CLI when built (dist/), else the TypeScript through tsx.
import { existsSync } from "node:fs";
import { URL } from "node:url";

const compiled = new URL("../dist/src/cli/main.js", import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
