// The Sail install mode against the sandbox's simulated Sail operator: an IstioRevision created, Ready, serving
// pods, tagged, guarded against object-by-object removal, and deleted; and a clear refusal where Sail is absent.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startSandbox, type Sandbox } from "../../../sandbox/index.js";
import { parseScenario } from "../../../sandbox/scenario/schema.js";
import { loadCluster, type Cluster } from "../../../src/kube/config.js";
import { KubeError } from "../../../src/kube/errors.js";
import type { RestClient } from "../../../src/kube/rest.js";
import type { KubeObject } from "../../../src/kube/resources.js";
import {
  RevisionManagedBySailError,
  RevisionTaggedError,
  deleteIstioRevision,
  deleteIstioRevisionTag,
  ensureIstioRevision,
  ensureIstioRevisionTag,
  readIstioRevision,
  readIstioRevisionTag,
  removeRevision,
  revisionReadiness,
  revisionTags,
} from "../../../src/upgrade/install/index.js";

const REV = "1-28-10";
const ISTIO_NS = "istio-system";
const TIMING = { podStartMs: 5, podReadyMs: 5, podTerminateMs: 5 };
const SAIL_SCENARIO = `
name: sail-install
nodes: 1
sail: { enabled: true }
istio: { crds: false }
namespaces:
  - name: apps
`;

async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const writesSince = (sb: Sandbox, seq: number) => sb.requestLog.since(seq).filter((r) => r.method !== "GET");

describe("Sail install mode", () => {
  let sb: Sandbox;
  let cluster: Cluster;
  let rest: RestClient;

  before(async () => {
    sb = await startSandbox({ scenario: parseScenario(SAIL_SCENARIO, "sail-install"), timing: TIMING });
    cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
    rest = cluster.rest;
  });
  after(async () => {
    cluster.close();
    await sb.stop();
  });

  test("an IstioRevision is created and becomes Ready; the revision readiness check agrees", async () => {
    assert.deepEqual(await readIstioRevision(rest, REV), {
      exists: false,
      ready: false,
      inUse: false,
      message: `IstioRevision ${REV} does not exist`,
    });
    const applied = await ensureIstioRevision(rest, {
      name: REV,
      version: "1.28.10",
      namespace: ISTIO_NS,
      values: { pilot: { replicaCount: 1 } },
    });
    assert.deepEqual(applied, { apiVersion: "sailoperator.io/v1", kind: "IstioRevision", name: REV, created: true });

    const state = await eventually(async () => {
      const s = await readIstioRevision(rest, REV);
      return s.ready && s;
    }, "IstioRevision Ready");
    assert.deepEqual(
      {
        version: state.version,
        namespace: state.namespace,
        state: state.state,
        inUse: state.inUse,
        message: state.message,
      },
      { version: "1.28.10", namespace: ISTIO_NS, state: "Healthy", inUse: false, message: "" },
    );
    assert.deepEqual((await revisionReadiness(rest, REV, { istioNamespace: ISTIO_NS })).reasons, []);
  });

  test("ensuring it again writes nothing new: created false, resourceVersion unchanged", async () => {
    const path = `/apis/sailoperator.io/v1/istiorevisions/${REV}`;
    const before = await rest.requestJson<KubeObject>({ path });
    const again = await ensureIstioRevision(rest, {
      name: REV,
      version: "v1.28.10",
      namespace: ISTIO_NS,
      values: { pilot: { replicaCount: 1 } },
    });
    assert.equal(again.created, false);
    const after = await rest.requestJson<KubeObject>({ path });
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.deepEqual(after.spec.values, {
      pilot: { replicaCount: 1 },
      revision: REV,
      global: { istioNamespace: ISTIO_NS },
    });
  });

  test("moving it to another namespace is refused before any write", async () => {
    const seq = sb.requestLog.lastSeq;
    await assert.rejects(
      ensureIstioRevision(rest, { name: REV, version: "1.28.10", namespace: "istio-canary" }),
      /IstioRevision 1-28-10 exists in namespace istio-system, not istio-canary; spec\.namespace is immutable/,
    );
    assert.deepEqual(writesSince(sb, seq), []);
  });

  test("a tag points at it: the revision is in use, tagged, and cannot be removed by objects", async () => {
    assert.equal((await ensureIstioRevisionTag(rest, "canary", REV)).created, true);
    const tag = await eventually(async () => {
      const t = await readIstioRevisionTag(rest, "canary");
      return t.revision === REV && t.reconciled && t;
    }, "tag reconciled");
    assert.deepEqual(tag.target, { kind: "IstioRevision", name: REV });
    await eventually(async () => (await readIstioRevision(rest, REV)).inUse === true, "InUse by the tag");
    assert.deepEqual(await revisionTags(rest, REV), { tags: ["canary"], isDefault: false });

    await assert.rejects(removeRevision(rest, REV, { istioNamespaces: [ISTIO_NS] }), RevisionTaggedError);
    const seq = sb.requestLog.lastSeq;
    await assert.rejects(
      removeRevision(rest, REV, { istioNamespaces: [ISTIO_NS], allowTagged: true }),
      (err: unknown) =>
        err instanceof RevisionManagedBySailError &&
        /is managed by the Sail operator \(IstioRevision 1-28-10\) — delete IstioRevision 1-28-10 instead/.test(
          err.message,
        ),
    );
    assert.deepEqual(writesSince(sb, seq), []);
    await assert.rejects(
      ensureIstioRevisionTag(rest, REV, REV),
      /an IstioRevision named "1-28-10" exists: Sail refuses a tag with a revision's name/,
    );
  });

  test("deleting the tag and the IstioRevision takes the revision offline; deleting again finds them absent", async () => {
    assert.equal(await deleteIstioRevisionTag(rest, "canary"), "deleted");
    assert.equal(await deleteIstioRevision(rest, REV, { dryRun: true }), "deleted");
    assert.equal((await readIstioRevision(rest, REV)).exists, true, "a dry run deletes nothing");
    assert.equal(await deleteIstioRevision(rest, REV), "deleted");
    await eventually(async () => !(await readIstioRevision(rest, REV)).exists, "IstioRevision gone");
    const readiness = await eventually(async () => {
      const r = await revisionReadiness(rest, REV, { istioNamespace: ISTIO_NS });
      return r.reasons.length === 3 && r;
    }, "istiod objects collected");
    assert.equal(readiness.ready, false);
    assert.equal(await deleteIstioRevision(rest, REV), "absent");
    assert.equal(await deleteIstioRevisionTag(rest, "canary"), "absent");
  });
});

describe("Sail install mode without the Sail operator", () => {
  let sb: Sandbox;
  let cluster: Cluster;

  before(async () => {
    sb = await startSandbox({
      scenario: parseScenario("name: no-sail\nnodes: 1\nistio: { crds: false }\n", "no-sail"),
      timing: TIMING,
    });
    cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
  });
  after(async () => {
    cluster.close();
    await sb.stop();
  });

  test("every call fails with a clear message and writes nothing", async () => {
    const message =
      /^the Sail operator is not installed: IstioRevision \(sailoperator\.io\/v1\) is not served by this cluster; install it or use install\.mode Manifests$/;
    const seq = sb.requestLog.lastSeq;
    const notInstalled = (err: unknown) => err instanceof KubeError && err.code === 404 && message.test(err.message);
    await assert.rejects(
      ensureIstioRevision(cluster.rest, { name: REV, version: "1.28.10", namespace: ISTIO_NS }),
      notInstalled,
    );
    await assert.rejects(readIstioRevision(cluster.rest, REV), notInstalled);
    await assert.rejects(deleteIstioRevision(cluster.rest, REV), notInstalled);
    await assert.rejects(
      ensureIstioRevisionTag(cluster.rest, "canary", REV),
      /IstioRevisionTag \(sailoperator\.io\/v1\) is not served/,
    );
    // the one non-GET is the DELETE that found nothing (404)
    assert.deepEqual(
      writesSince(sb, seq).map((r) => `${r.method} ${r.code}`),
      ["DELETE 404"],
    );
  });
});
