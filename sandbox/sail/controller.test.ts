// The simulated Sail operator inside a real sandbox (store, controllers, injection webhook, HTTPS API, kubectl).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { kubectl, kubectlBinaries } from "../../test/helpers/kubectl.js";
import type { KObject } from "../api/types.js";
import { waitFor } from "../controllers/test-helpers.js";
import { startSandbox, type Sandbox } from "../index.js";
import { parseScenario } from "../scenario/schema.js";
import { ISTIO_KEY, ISTIO_REVISION_KEY, ISTIO_REVISION_TAG_KEY } from "./crds.js";

const SCENARIO = `
name: sail-test
nodes: 1
sail: { enabled: true }
istio: { crds: false }
namespaces:
  - name: apps
`;
const TIMING = { podStartMs: 10, podReadyMs: 10, podTerminateMs: 10 };

async function sandbox(): Promise<Sandbox> {
  return startSandbox({ scenario: parseScenario(SCENARIO, "sail-test"), timing: TIMING });
}

function istioRevision(name: string, version: string, values: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: "sailoperator.io/v1",
    kind: "IstioRevision",
    metadata: { name },
    spec: {
      version,
      namespace: "istio-system",
      values: { revision: name, global: { istioNamespace: "istio-system" }, ...values },
    },
  };
}

function istio(version: string, updateStrategy: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: "sailoperator.io/v1",
    kind: "Istio",
    metadata: { name: "default" },
    spec: { version, namespace: "istio-system", updateStrategy },
  };
}

const condition = (obj: KObject | undefined, type: string) =>
  (obj?.status?.conditions ?? []).find((c: { type: string }) => c.type === type);

function appPod(name: string): KObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "apps", labels: { app: name } },
    spec: { containers: [{ name: "app", image: "nginx:1.27" }] },
  };
}

function labelApps(sb: Sandbox, labels: Record<string, string>): void {
  sb.store.mutate("/namespaces", undefined, "apps", (ns) => {
    ns.metadata.labels = { "kubernetes.io/metadata.name": "apps", ...labels };
  });
}

const revisionOf = (sb: Sandbox, name: string) => sb.store.get(ISTIO_REVISION_KEY, undefined, name);
const healthy = (sb: Sandbox, name: string) => revisionOf(sb, name)?.status?.state === "Healthy";

describe("IstioRevision", () => {
  let sb: Sandbox;
  before(async () => {
    sb = await sandbox();
  });
  after(() => sb.stop());

  test("a new IstioRevision brings up a Ready istiod whose webhook injects the namespaces labelled with it", async () => {
    labelApps(sb, { "istio.io/rev": "1-28-10" });
    sb.store.create(ISTIO_REVISION_KEY, istioRevision("1-28-10", "v1.28.10"));

    const rev = await waitFor(() => healthy(sb, "1-28-10") && revisionOf(sb, "1-28-10"), 5000, "Healthy revision");
    assert.equal(condition(rev, "Ready")?.status, "True");
    assert.equal(condition(rev, "Reconciled")?.status, "True");
    assert.equal(rev.status.observedGeneration, 1);
    const istiod = sb.store.get("apps/deployments", "istio-system", "istiod-1-28-10")!;
    assert.deepEqual(
      istiod.metadata.ownerReferences?.map((r) => `${r.kind}/${r.name}`),
      ["IstioRevision/1-28-10"],
    );

    const pod = sb.store.create("/pods", appPod("injected"));
    const proxy = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === "istio-proxy");
    assert.match(proxy?.image ?? "(no sidecar)", /proxyv2:1\.28\.10$/);
    assert.equal(pod.metadata.annotations?.["istio.io/rev"], "1-28-10");
  });

  test("InUse follows the references: the namespace label, then an injected pod alone, then nothing", async () => {
    assert.equal(condition(revisionOf(sb, "1-28-10"), "InUse")?.status, "True");
    labelApps(sb, {});
    await new Promise((r) => setTimeout(r, 100));
    // the pod the revision injected still references it
    assert.equal(condition(revisionOf(sb, "1-28-10"), "InUse")?.status, "True");

    sb.store.delete("/pods", "apps", "injected");
    const inUse = await waitFor(
      () =>
        condition(revisionOf(sb, "1-28-10"), "InUse")?.status === "False" &&
        condition(revisionOf(sb, "1-28-10"), "InUse"),
      5000,
      "InUse False",
    );
    assert.equal(inUse.reason, "NotReferencedByAnything");
  });

  test("a version change re-renders the same revision in place", async () => {
    sb.store.mutate(ISTIO_REVISION_KEY, undefined, "1-28-10", (r) => {
      r.spec.version = "v1.28.11";
    });
    await waitFor(
      () => {
        const d = sb.store.get("apps/deployments", "istio-system", "istiod-1-28-10");
        return d?.spec.template.spec.containers[0].image.endsWith(":1.28.11");
      },
      5000,
      "istiod on 1.28.11",
    );
    const rev = await waitFor(
      () =>
        revisionOf(sb, "1-28-10")?.status?.observedGeneration === 2 &&
        healthy(sb, "1-28-10") &&
        revisionOf(sb, "1-28-10"),
      5000,
      "observedGeneration 2, Healthy",
    );
    assert.equal(rev.spec.version, "v1.28.11");
  });

  test("kubectl get istiorevisions prints Sail's columns", async (t) => {
    const bin = kubectlBinaries().at(-1);
    if (!bin) return t.skip("no kubectl on this machine");
    const out = await kubectl(bin.path, sb.kubeconfigPath, ["get", "istiorevisions"]);
    assert.equal(out.code, 0, out.stderr);
    const [header, row] = out.stdout.trim().split("\n");
    assert.match(header, /^NAME\s+NAMESPACE\s+PROFILE\s+READY\s+STATUS\s+IN USE\s+VERSION\s+AGE$/);
    assert.match(row, /^1-28-10\s+istio-system\s+.*Healthy\s+.*v1\.28\.11\s+\d+s$/);
    const ready = await kubectl(bin.path, sb.kubeconfigPath, [
      "get",
      "istiorev",
      "1-28-10",
      "-o",
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    ]);
    assert.equal(ready.stdout, "True");
  });

  test("kubectl shows READY and IN USE from the conditions", async (t) => {
    const bin = kubectlBinaries().at(-1);
    if (!bin) return t.skip("no kubectl on this machine");
    const out = await kubectl(bin.path, sb.kubeconfigPath, ["get", "istiorevisions", "--no-headers"]);
    assert.match(out.stdout, /^1-28-10\s+istio-system\s+(<none>\s+)?True\s+Healthy\s+False\s+v1\.28\.11\s/);
  });

  test("deleting the IstioRevision garbage-collects everything it installed", async () => {
    sb.store.delete(ISTIO_REVISION_KEY, undefined, "1-28-10");
    await waitFor(
      () =>
        !sb.store.get("apps/deployments", "istio-system", "istiod-1-28-10") &&
        !sb.store.get(
          "admissionregistration.k8s.io/mutatingwebhookconfigurations",
          undefined,
          "istio-sidecar-injector-1-28-10",
        ) &&
        !sb.store.get("/configmaps", "istio-system", "istio-sidecar-injector-1-28-10") &&
        !sb.store.get("rbac.authorization.k8s.io/clusterroles", undefined, "istiod-clusterrole-1-28-10-istio-system"),
      5000,
      "the revision's objects to be gone",
    );
  });

  test("a spec Sail refuses is reported in status and installs nothing", async () => {
    const bad = istioRevision("mismatch", "v1.28.10");
    bad.spec.values.revision = "other";
    sb.store.create(ISTIO_REVISION_KEY, bad);
    const rev = await waitFor(
      () => revisionOf(sb, "mismatch")?.status?.state && revisionOf(sb, "mismatch"),
      5000,
      "status",
    );
    assert.equal(rev.status.state, "ReconcileError");
    assert.match(condition(rev, "Reconciled")?.message ?? "", /spec.values.revision does not match IstioRevision name/);
    assert.equal(sb.store.get("apps/deployments", "istio-system", "istiod-other"), undefined);
    assert.equal(sb.store.get("apps/deployments", "istio-system", "istiod-mismatch"), undefined);
  });

  test("an istiod installed by someone else under the same name is not taken over", async () => {
    sb.store.create("/serviceaccounts", { metadata: { name: "istiod-taken", namespace: "istio-system" } });
    sb.store.create(ISTIO_REVISION_KEY, istioRevision("taken", "v1.28.10"));
    const rev = await waitFor(() => revisionOf(sb, "taken")?.status?.state && revisionOf(sb, "taken"), 5000, "status");
    assert.equal(condition(rev, "Reconciled")?.status, "False");
    assert.match(
      condition(rev, "Reconciled")?.message ?? "",
      /istio-system\/istiod-taken" exists and is not managed by IstioRevision taken/,
    );
    assert.equal(sb.store.get("apps/deployments", "istio-system", "istiod-taken"), undefined);
  });
});

describe("Istio", () => {
  let sb: Sandbox;
  before(async () => {
    sb = await sandbox();
  });
  after(() => sb.stop());

  test("InPlace: the Istio named default installs the unrevisioned istiod and upgrades it in place", async () => {
    sb.store.create(ISTIO_KEY, istio("v1.27.3"));
    await waitFor(() => healthy(sb, "default"), 5000, "IstioRevision default Healthy");
    assert.ok(sb.store.get("apps/deployments", "istio-system", "istiod"));
    const status = await waitFor(
      () =>
        sb.store.get(ISTIO_KEY, undefined, "default")?.status?.state === "Healthy" &&
        sb.store.get(ISTIO_KEY, undefined, "default")!.status,
      5000,
      "Istio Healthy",
    );
    assert.equal(status.activeRevisionName, "default");
    assert.deepEqual(status.revisions, { total: 1, ready: 1, inUse: 0 });

    sb.store.mutate(ISTIO_KEY, undefined, "default", (o) => {
      o.spec.version = "v1.28.0";
    });
    await waitFor(
      () =>
        sb.store
          .get("apps/deployments", "istio-system", "istiod")
          ?.spec.template.spec.containers[0].image.endsWith(":1.28.0"),
      5000,
      "istiod on 1.28.0",
    );
    assert.deepEqual(
      sb.store.list(ISTIO_REVISION_KEY).map((r) => `${r.metadata.name}@${r.spec.version}`),
      ["default@v1.28.0"],
    );
    sb.store.delete(ISTIO_KEY, undefined, "default");
    await waitFor(
      () => !sb.store.get("apps/deployments", "istio-system", "istiod"),
      5000,
      "istiod gone with its Istio",
    );
  });

  test("RevisionBased: a version change adds a revision; the old one is pruned once unused for the grace period", async () => {
    sb.store.create(
      ISTIO_KEY,
      istio("v1.27.3", { type: "RevisionBased", inactiveRevisionDeletionGracePeriodSeconds: 1 }),
    );
    await waitFor(() => healthy(sb, "default-v1-27-3"), 5000, "default-v1-27-3 Healthy");
    labelApps(sb, { "istio.io/rev": "default-v1-27-3" });
    sb.store.create("/pods", appPod("on-old"));

    sb.store.mutate(ISTIO_KEY, undefined, "default", (o) => {
      o.spec.version = "v1.28.0";
    });
    await waitFor(() => healthy(sb, "default-v1-28-0"), 5000, "default-v1-28-0 Healthy");
    assert.ok(
      sb.store.get("apps/deployments", "istio-system", "istiod-default-v1-27-3"),
      "the old istiod keeps running",
    );
    const status = await waitFor(
      () => {
        const s = sb.store.get(ISTIO_KEY, undefined, "default")?.status;
        return s?.activeRevisionName === "default-v1-28-0" && s.revisions.total === 2 && s;
      },
      5000,
      "Istio status with two revisions",
    );
    assert.equal(status.revisions.inUse, 1);

    // still in use past the grace period: never pruned
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(revisionOf(sb, "default-v1-27-3"), "an old revision in use is kept");

    labelApps(sb, { "istio.io/rev": "default-v1-28-0" });
    sb.store.delete("/pods", "apps", "on-old");
    const unusedSince = await waitFor(
      () => {
        const c = condition(revisionOf(sb, "default-v1-27-3"), "InUse");
        return c?.status === "False" && Date.parse(c.lastTransitionTime);
      },
      5000,
      "old revision unused",
    );
    await waitFor(() => !revisionOf(sb, "default-v1-27-3"), 5000, "old revision pruned");
    assert.ok(Date.now() >= unusedSince + 1000, "pruned only after the grace period");
    await waitFor(
      () => !sb.store.get("apps/deployments", "istio-system", "istiod-default-v1-27-3"),
      5000,
      "old istiod gone",
    );
    assert.ok(revisionOf(sb, "default-v1-28-0"), "the active revision stays even though nothing uses it");
  });

  test("an IstioRevisionTag on the Istio follows its active revision and keeps that revision in use", async () => {
    // the namespace opts in through the tag, as with `istioctl tag set prod-stable`
    labelApps(sb, { "istio.io/rev": "prod-stable" });
    sb.store.create(ISTIO_REVISION_TAG_KEY, {
      apiVersion: "sailoperator.io/v1",
      kind: "IstioRevisionTag",
      metadata: { name: "prod-stable" },
      spec: { targetRef: { kind: "Istio", name: "default" } },
    });
    const webhookService = () =>
      sb.store.get(
        "admissionregistration.k8s.io/mutatingwebhookconfigurations",
        undefined,
        "istio-revision-tag-prod-stable",
      )?.webhooks[0].clientConfig.service.name;
    await waitFor(() => webhookService() === "istiod-default-v1-28-0", 5000, "tag webhook on default-v1-28-0");
    const tag = sb.store.get(ISTIO_REVISION_TAG_KEY, undefined, "prod-stable")!;
    assert.equal(tag.status.istioRevision, "default-v1-28-0");
    await waitFor(
      () => condition(sb.store.get(ISTIO_REVISION_TAG_KEY, undefined, "prod-stable"), "InUse")?.status === "True",
      5000,
      "the tag in use by namespace apps",
    );
    await waitFor(
      () => condition(revisionOf(sb, "default-v1-28-0"), "InUse")?.status === "True",
      5000,
      "InUse via the tag",
    );

    sb.store.mutate(ISTIO_KEY, undefined, "default", (o) => {
      o.spec.version = "v1.28.1";
    });
    await waitFor(() => webhookService() === "istiod-default-v1-28-1", 5000, "tag webhook moved to default-v1-28-1");
    // the tag moved away, nothing else uses 1.28.0: pruned after the 1 s grace; the tag's target is kept
    await waitFor(() => !revisionOf(sb, "default-v1-28-0"), 5000, "default-v1-28-0 pruned");
    assert.equal(condition(revisionOf(sb, "default-v1-28-1"), "InUse")?.status, "True");
  });
});
