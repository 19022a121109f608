#!/usr/bin/env node
// Launcher of `meshlift`, also installable as the kubectl plugin `kubectl-meshlift` (kubectl runs
// any executable named kubectl-<name> on PATH for `kubectl <name>`; a symlink works too).
// Runs the compiled CLI when a build exists (dist/), otherwise the TypeScript source through tsx.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// Node resolves a symlinked main module to its real path, so this is the package root either way
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const compiled = path.join(root, "dist", "src", "cli", "main.js");

if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  let register;
  try {
    ({ register } = await import("tsx/esm/api"));
  } catch {
    process.stderr.write(
      "error: meshlift is not built (no dist/) and tsx is not installed to run it from source — run `npm install` in " +
        root +
        "\n",
    );
    process.exit(3);
  }
  register();
  await import(pathToFileURL(path.join(root, "src", "cli", "main.ts")).href);
}
