// The manifest renderer users feed to meshlift's Manifests mode (sandbox/render-cli.ts).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import type { KObject } from "../api/types.js";
import { runRenderCli } from "../render-cli.js";

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runRenderCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

const names = (objects: KObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);

describe("render-cli", () => {
  test("prints one YAML document per object a revision installs, with its tags", async () => {
    const out = await run(["--version", "1.28.10", "--revision", "1-28-10", "--tag", "prod-stable"]);
    assert.equal(out.code, 0, out.stderr);
    const objects = parseAllDocuments(out.stdout).map((d) => d.toJS() as KObject);
    const list = names(objects);
    for (const expected of [
      "Deployment/istiod-1-28-10",
      "Service/istiod-1-28-10",
      "ConfigMap/istio-sidecar-injector-1-28-10",
      "MutatingWebhookConfiguration/istio-sidecar-injector-1-28-10",
      "MutatingWebhookConfiguration/istio-revision-tag-prod-stable",
      // tags get a Service from 1.28 (istio-facts §2)
      "Service/istiod-revision-tag-prod-stable",
    ])
      assert.ok(list.includes(expected), `${expected} missing from ${list.join(", ")}`);
    const istiod = objects.find((o) => o.kind === "Deployment")!;
    assert.equal(istiod.metadata.namespace, "istio-system");
    assert.match(istiod.spec.template.spec.containers[0].image, /^docker\.io\/istio\/pilot:1\.28\.10$/);
  });

  test("--namespace and --replicas reach the rendered istiod", async () => {
    const out = await run(["--version", "v1.27.3", "--revision", "canary", "--namespace", "mesh", "--replicas", "2"]);
    assert.equal(out.code, 0, out.stderr);
    const istiod = parseAllDocuments(out.stdout)
      .map((d) => d.toJS() as KObject)
      .find((o) => o.kind === "Deployment")!;
    assert.equal(istiod.metadata.namespace, "mesh");
    assert.equal(istiod.spec.replicas, 2);
  });

  test("without --revision it renders the unrevisioned install, as istioctl does", async () => {
    const out = await run(["--version", "1.28.10"]);
    assert.match(out.stdout, /kind: Deployment\nmetadata:\n {2}name: istiod\n/);
  });

  test("a version that is not a release, or a missing --version, fails with a message and exit code 1", async () => {
    const bad = await run(["--version", "latest"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /"latest" is not an Istio release/);
    const missing = await run(["--revision", "x"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /required option '--version <version>'/);
    const badRevision = await run(["--version", "1.28.10", "--revision", "Not_A_Label"]);
    assert.equal(badRevision.code, 1);
    assert.match(badRevision.stderr, /DNS-1123/);
  });
});
