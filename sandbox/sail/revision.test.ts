import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KObject } from "../api/types.js";
import {
  SailValidationError,
  activeRevisionName,
  computeValues,
  gracePeriodMs,
  releaseOf,
  renderIstioRevision,
  validateRevisionSpec,
} from "./revision.js";

const istio = (spec: Record<string, unknown>, name = "default"): KObject => ({ metadata: { name }, spec });
const revision = (name: string, spec: Record<string, unknown>): KObject => ({ metadata: { name }, spec });

describe("Istio → IstioRevision (Sail istio_controller)", () => {
  test("InPlace keeps the Istio's name; RevisionBased appends the version with dots as dashes", () => {
    assert.equal(activeRevisionName(istio({ version: "v1.28.0" })), "default");
    assert.equal(
      activeRevisionName(istio({ version: "v1.28.0", updateStrategy: { type: "RevisionBased" } })),
      "default-v1-28-0",
    );
  });

  test("the grace period defaults to 30 s and is never negative", () => {
    assert.equal(gracePeriodMs(istio({})), 30_000);
    assert.equal(gracePeriodMs(istio({ updateStrategy: { inactiveRevisionDeletionGracePeriodSeconds: -5 } })), 0);
  });

  test("values carry the revision (empty for default) and the Istio namespace", () => {
    const v = computeValues(istio({ namespace: "mesh", values: { pilot: { replicaCount: 2 } } }), "default-v1-28-0");
    assert.equal(v.revision, "default-v1-28-0");
    assert.equal(v.global.istioNamespace, "mesh");
    assert.equal(v.pilot.replicaCount, 2);
    assert.equal(computeValues(istio({}), "default").revision, "");
  });
});

describe("releaseOf", () => {
  test("accepts Sail's v-prefixed versions and plain releases", () => {
    assert.equal(releaseOf("v1.28.10"), "1.28.10");
    assert.equal(releaseOf("1.27.3"), "1.27.3");
  });

  test("refuses aliases and non-releases with a message naming a usable version", () => {
    assert.throws(() => releaseOf("v1.28-latest"), /alias.*v1\.28\.0/);
    assert.throws(() => releaseOf("banana"), SailValidationError);
    assert.throws(() => releaseOf(undefined), /spec.version not set/);
  });
});

describe("IstioRevision validation (Sail istiorevision_controller validate)", () => {
  const good = {
    version: "v1.28.0",
    namespace: "istio-system",
    values: { revision: "r1", global: { istioNamespace: "istio-system" } },
  };

  test("values.revision must equal the name, and be empty for the IstioRevision named default", () => {
    assert.doesNotThrow(() => validateRevisionSpec(revision("r1", good)));
    assert.throws(() => validateRevisionSpec(revision("r2", good)), /does not match IstioRevision name/);
    assert.throws(() => validateRevisionSpec(revision("default", good)), /must be ""/);
  });

  test("values.global.istioNamespace must equal spec.namespace", () => {
    const spec = { ...good, namespace: "other" };
    assert.throws(() => validateRevisionSpec(revision("r1", spec)), /istioNamespace does not match/);
  });

  test("the chart is rendered as Helm release <name>-istiod, without istioctl's apply-time labels", () => {
    const objects = renderIstioRevision(
      revision("r1", { ...good, values: { ...good.values, pilot: { replicaCount: 2 } } }),
    );
    const istiod = objects.find((o) => o.kind === "Deployment")!;
    assert.equal(istiod.metadata.name, "istiod-r1");
    assert.equal(istiod.spec.replicas, 2);
    assert.equal(istiod.metadata.labels!.release, "r1-istiod");
    assert.equal(istiod.metadata.labels!["operator.istio.io/managed"], undefined);
    assert.match(istiod.spec.template.spec.containers[0].image, /:1\.28\.0$/);
  });
});
