// Test inputs read from the shared real-Istio fixtures (parsed once per test process: the CRD file is large).
import { readFileSync, readdirSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import type { KObject } from "./types.js";

const fixturesDir = new URL("../../../shared/fixtures/istio/", import.meta.url);
let crds: KObject[] | undefined;

/** The 15 CustomResourceDefinitions of crd-all.gen.yaml (fresh copies). */
export function istioCRDs(): KObject[] {
  crds ??= parseAllDocuments(readFileSync(new URL("crd-all.gen.yaml", fixturesDir), "utf8"))
    .map((d) => d.toJS() as KObject)
    .filter((o) => o?.kind === "CustomResourceDefinition");
  return structuredClone(crds);
}

/** Every object in the YAML fixtures (List items flattened), with the file it came from. */
export function istioFixtureObjects(): { file: string; object: KObject }[] {
  const out: { file: string; object: KObject }[] = [];
  for (const file of readdirSync(fixturesDir).sort()) {
    if (file.endsWith(".txt")) continue;
    if (file === "crd-all.gen.yaml") {
      for (const crd of istioCRDs()) out.push({ file, object: crd });
      continue;
    }
    for (const doc of parseAllDocuments(readFileSync(new URL(file, fixturesDir), "utf8"))) {
      const o = doc.toJS() as KObject | null;
      if (!o?.kind) continue;
      if (o.kind === "List") for (const item of o.items ?? []) out.push({ file, object: item });
      else out.push({ file, object: o });
    }
  }
  return out;
}
