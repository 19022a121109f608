// Writes deploy/crds/meshupgrade.yaml from the MeshUpgrade zod schema (src/upgrade/api/schema.ts).
// Usage: npx tsx scripts/gen-crd.ts [--check]   (--check: exit 1 when the committed file is stale)
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { meshUpgradeCrdYaml } from "../src/upgrade/api/crd.js";

const target = fileURLToPath(new URL("../deploy/crds/meshupgrade.yaml", import.meta.url));
const generated = meshUpgradeCrdYaml();

if (process.argv.includes("--check")) {
  const committed = await readFile(target, "utf8").catch(() => "");
  if (committed !== generated) {
    console.error(`${target} is stale: run \`npx tsx scripts/gen-crd.ts\` and commit the result`);
    process.exit(1);
  }
  console.log(`${target} is up to date`);
} else {
  await writeFile(target, generated);
  console.log(`wrote ${target}`);
}
