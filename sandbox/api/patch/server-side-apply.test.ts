import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, type KObject } from "../types.js";
import { recordUpdate, serverSideApply } from "./index.js";

const T0 = "2026-08-22T10:00:00Z";
const T1 = "2026-08-22T10:05:00Z";
const T2 = "2026-08-22T10:10:00Z";

function deploymentConfig(spec: Record<string, unknown>, labels?: Record<string, string>): KObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "shop", ...(labels ? { labels } : {}) },
    spec,
  };
}

const podTemplate = (containers: unknown[]) => ({ metadata: { labels: { app: "web" } }, spec: { containers } });

function apply(
  live: KObject | undefined,
  config: KObject,
  manager: string,
  extra: { force?: boolean; now?: string } = {},
): KObject {
  return serverSideApply(live, config, {
    manager,
    force: extra.force ?? false,
    apiVersion: "apps/v1",
    now: extra.now ?? T0,
  });
}

function conflictOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError && err.code === 409) return err;
    throw err;
  }
  assert.fail("expected a 409 Conflict");
}

const entry = (obj: KObject, manager: string) => obj.metadata.managedFields?.find((e) => e.manager === manager);

describe("server-side apply: create and field ownership", () => {
  test("applying to a missing object creates it, owned by the manager in FieldsV1 with list items keyed by merge keys", () => {
    const config = deploymentConfig(
      {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: podTemplate([{ name: "web", image: "web:1", ports: [{ containerPort: 8080 }] }]),
      },
      { app: "web" },
    );
    const created = apply(undefined, config, "meshlift");
    assert.deepEqual(created.spec, config.spec);
    assert.deepEqual(created.metadata.managedFields, [
      {
        manager: "meshlift",
        operation: "Apply",
        apiVersion: "apps/v1",
        time: T0,
        fieldsType: "FieldsV1",
        fieldsV1: {
          "f:metadata": { "f:labels": { "f:app": {} } },
          "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
              "f:metadata": { "f:labels": { "f:app": {} } },
              "f:spec": {
                "f:containers": {
                  'k:{"name":"web"}': {
                    ".": {},
                    "f:image": {},
                    "f:name": {},
                    "f:ports": { 'k:{"containerPort":8080,"protocol":"TCP"}': { ".": {}, "f:containerPort": {} } },
                  },
                },
              },
            },
          },
        },
      },
    ]);
  });

  test("two managers applying the same value share it without conflict", () => {
    const first = apply(undefined, deploymentConfig({ replicas: 3 }), "alice");
    const second = apply(first, deploymentConfig({ replicas: 3 }), "bob", { now: T1 });
    assert.deepEqual(entry(second, "alice")?.fieldsV1, { "f:spec": { "f:replicas": {} } });
    assert.deepEqual(entry(second, "bob")?.fieldsV1, { "f:spec": { "f:replicas": {} } });
    assert.equal(entry(second, "bob")?.time, T1, "a new entry gets the time even when the object did not change");
  });

  test("applying a different value than another applier owns is a 409 naming manager and field", () => {
    const first = apply(undefined, deploymentConfig({ replicas: 3 }), "alice");
    const err = conflictOf(() => apply(first, deploymentConfig({ replicas: 5 }), "bob"));
    assert.equal(err.reason, "Conflict");
    assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "alice": .spec.replicas');
    assert.deepEqual(err.details?.causes, [
      { reason: "FieldManagerConflict", message: 'conflict with "alice"', field: ".spec.replicas" },
    ]);
  });

  test("a field set by an earlier update (kubectl create) conflicts, naming its API version", () => {
    const created = recordUpdate(
      undefined,
      deploymentConfig({ replicas: 1, paused: false }),
      "kubectl-create",
      "apps/v1",
      T0,
    );
    const err = conflictOf(() => apply(created, deploymentConfig({ replicas: 4, paused: true }), "meshlift"));
    assert.equal(
      err.message,
      'Apply failed with 2 conflicts: conflicts with "kubectl-create" using apps/v1:\n- .spec.paused\n- .spec.replicas',
    );
    assert.deepEqual(
      err.details?.causes?.map((c) => c.field),
      [".spec.paused", ".spec.replicas"],
    );
    assert.ok(err.details?.causes?.every((c) => c.message === 'conflict with "kubectl-create" using apps/v1'));
  });

  test("a conflict inside a list item names the item by key", () => {
    const first = apply(
      undefined,
      deploymentConfig({ template: podTemplate([{ name: "web", image: "web:1" }]) }),
      "alice",
    );
    const err = conflictOf(() =>
      apply(first, deploymentConfig({ template: podTemplate([{ name: "web", image: "web:2" }]) }), "bob"),
    );
    assert.equal(err.details?.causes?.[0].field, '.spec.template.spec.containers[name="web"].image');
  });

  test("force takes ownership: the value changes and the other manager loses the field", () => {
    const first = apply(undefined, deploymentConfig({ replicas: 3, paused: false }), "alice");
    const forced = apply(first, deploymentConfig({ replicas: 5 }), "bob", { force: true, now: T1 });
    assert.equal(forced.spec.replicas, 5);
    assert.deepEqual(entry(forced, "alice")?.fieldsV1, { "f:spec": { "f:paused": {} } });
    assert.deepEqual(entry(forced, "bob")?.fieldsV1, { "f:spec": { "f:replicas": {} } });
  });

  test("a manager that loses all its fields to force disappears from managedFields", () => {
    const first = apply(undefined, deploymentConfig({ replicas: 3 }), "alice");
    const forced = apply(first, deploymentConfig({ replicas: 5 }), "bob", { force: true });
    assert.deepEqual(
      forced.metadata.managedFields?.map((e) => e.manager),
      ["bob"],
    );
  });
});

describe("server-side apply: removal of fields no longer applied", () => {
  test("a label the manager stops applying is removed", () => {
    const first = apply(undefined, deploymentConfig({ replicas: 1 }, { app: "web", tier: "fe" }), "meshlift");
    const second = apply(first, deploymentConfig({ replicas: 1 }, { app: "web" }), "meshlift", { now: T1 });
    assert.deepEqual(second.metadata.labels, { app: "web" });
    assert.deepEqual(entry(second, "meshlift")?.fieldsV1, {
      "f:metadata": { "f:labels": { "f:app": {} } },
      "f:spec": { "f:replicas": {} },
    });
  });

  test("a field the manager stops applying stays when another manager also owns it", () => {
    const first = apply(undefined, deploymentConfig({ replicas: 1 }, { app: "web", tier: "fe" }), "meshlift");
    const shared = apply(first, deploymentConfig({}, { tier: "fe" }), "ops");
    const second = apply(shared, deploymentConfig({ replicas: 1 }, { app: "web" }), "meshlift", { now: T1 });
    assert.deepEqual(second.metadata.labels, { app: "web", tier: "fe" });
  });

  test("a container the manager stops applying is removed, one added by someone else stays", () => {
    const first = apply(
      undefined,
      deploymentConfig({
        template: podTemplate([
          { name: "web", image: "web:1" },
          { name: "debug", image: "busybox" },
        ]),
      }),
      "meshlift",
    );
    const injected = recordUpdate(
      first,
      {
        ...first,
        spec: {
          ...first.spec,
          template: podTemplate([
            ...first.spec.template.spec.containers,
            { name: "istio-proxy", image: "proxyv2:1.22" },
          ]),
        },
      },
      "istio-injector",
      "apps/v1",
      T1,
    );
    const second = apply(
      injected,
      deploymentConfig({ template: podTemplate([{ name: "web", image: "web:2" }]) }),
      "meshlift",
      { now: T2 },
    );
    assert.deepEqual(second.spec.template.spec.containers, [
      { name: "web", image: "web:2" },
      { name: "istio-proxy", image: "proxyv2:1.22" },
    ]);
  });

  test("an emptied map disappears with its last field", () => {
    const first = apply(undefined, deploymentConfig({ replicas: 1 }, { tier: "fe" }), "meshlift");
    const second = apply(first, deploymentConfig({ replicas: 1 }), "meshlift");
    assert.equal(second.metadata.labels, undefined);
    assert.equal(second.metadata.name, "web", "identity fields are never pruned");
  });
});

describe("server-side apply: merging and request validation", () => {
  test("containers merge by name: the injected sidecar in the live object survives an apply of the app container", () => {
    const live = recordUpdate(
      undefined,
      deploymentConfig({
        replicas: 2,
        template: podTemplate([
          { name: "web", image: "web:1", env: [{ name: "A", value: "1" }] },
          { name: "istio-proxy", image: "proxyv2:1.22" },
        ]),
      }),
      "kubectl-create",
      "apps/v1",
      T0,
    );
    const out = apply(
      live,
      deploymentConfig({ template: podTemplate([{ name: "web", env: [{ name: "B", value: "2" }] }]) }),
      "meshlift",
    );
    assert.deepEqual(out.spec.template.spec.containers, [
      {
        name: "web",
        image: "web:1",
        env: [
          { name: "A", value: "1" },
          { name: "B", value: "2" },
        ],
      },
      { name: "istio-proxy", image: "proxyv2:1.22" },
    ]);
    assert.equal(out.spec.replicas, 2);
  });

  test("an object with no managedFields is attributed to before-first-apply, so changing its fields conflicts", () => {
    const live = deploymentConfig({ replicas: 2 });
    const err = conflictOf(() => apply(live, deploymentConfig({ replicas: 3 }), "meshlift"));
    assert.equal(
      err.message,
      'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas',
    );
  });

  test("managedFields in the request body is a 400", () => {
    const config = deploymentConfig({ replicas: 1 });
    config.metadata.managedFields = [];
    assert.throws(
      () => apply(undefined, config, "meshlift"),
      (err: unknown) =>
        err instanceof ApiError && err.code === 400 && err.message === "metadata.managedFields must be nil",
    );
  });

  test("a configuration in another API version than the request is a 400", () => {
    assert.throws(
      () =>
        serverSideApply(
          undefined,
          { ...deploymentConfig({}), apiVersion: "apps/v1beta1" },
          { manager: "m", force: false, apiVersion: "apps/v1", now: T0 },
        ),
      (err: unknown) =>
        err instanceof ApiError &&
        err.code === 400 &&
        err.message ===
          "Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, expected: apps/v1",
    );
  });

  test("a list item without its key field is a 400", () => {
    assert.throws(
      () => apply(undefined, deploymentConfig({ template: podTemplate([{ image: "web:1" }]) }), "meshlift"),
      (err: unknown) =>
        err instanceof ApiError &&
        err.code === 400 &&
        err.message.includes(
          '.spec.template.spec.containers: element 0: associative list with keys has an element that omits key field "name"',
        ),
    );
  });

  test("on the status subresource only .status is applied and the entry records the subresource", () => {
    const live = apply(undefined, deploymentConfig({ replicas: 1 }), "meshlift");
    const out = serverSideApply(
      live,
      {
        ...deploymentConfig({ replicas: 9 }),
        status: { replicas: 1, conditions: [{ type: "Available", status: "True" }] },
      },
      { manager: "deployment-controller", force: false, apiVersion: "apps/v1", now: T1, subresource: "status" },
    );
    assert.equal(out.spec.replicas, 1);
    assert.equal(out.status.replicas, 1);
    const status = entry(out, "deployment-controller");
    assert.equal(status?.subresource, "status");
    assert.deepEqual(status?.fieldsV1, {
      "f:status": {
        "f:conditions": { 'k:{"type":"Available"}': { ".": {}, "f:status": {}, "f:type": {} } },
        "f:replicas": {},
      },
    });
  });

  test("with a status subresource, .status in a main-resource apply is ignored", () => {
    const out = serverSideApply(
      undefined,
      { ...deploymentConfig({ replicas: 1 }), status: { replicas: 7 } },
      {
        manager: "meshlift",
        force: false,
        apiVersion: "apps/v1",
        now: T0,
        hasStatusSubresource: true,
      },
    );
    assert.equal(out.status, undefined);
  });

  test("inputs are not mutated", () => {
    const live = apply(undefined, deploymentConfig({ replicas: 1 }, { a: "1" }), "x");
    const config = deploymentConfig({ replicas: 1 }, { b: "2" });
    const [liveCopy, configCopy] = [structuredClone(live), structuredClone(config)];
    apply(live, config, "x");
    assert.deepEqual(live, liveCopy);
    assert.deepEqual(config, configCopy);
  });
});

describe("recordUpdate: managedFields of non-apply writes", () => {
  test("a create makes one Update entry owning every field set, identity fields excluded", () => {
    const out = recordUpdate(
      undefined,
      deploymentConfig({ replicas: 1 }, { app: "web" }),
      "kubectl-create",
      "apps/v1",
      T0,
    );
    assert.deepEqual(out.metadata.managedFields, [
      {
        manager: "kubectl-create",
        operation: "Update",
        apiVersion: "apps/v1",
        time: T0,
        fieldsType: "FieldsV1",
        fieldsV1: { "f:metadata": { "f:labels": { "f:app": {} } }, "f:spec": { "f:replicas": {} } },
      },
    ]);
  });

  test("an update takes the changed fields from their previous owner (kubectl scale after apply)", () => {
    const applied = apply(undefined, deploymentConfig({ replicas: 1, paused: false }), "meshlift");
    const scaled = recordUpdate(
      applied,
      { ...applied, spec: { ...applied.spec, replicas: 4 } },
      "kubectl",
      "autoscaling/v1",
      T1,
      "scale",
    );
    assert.deepEqual(entry(scaled, "meshlift")?.fieldsV1, { "f:spec": { "f:paused": {} } });
    const scale = entry(scaled, "kubectl");
    assert.equal(scale?.subresource, "scale");
    assert.equal(scale?.operation, "Update");
    assert.deepEqual(scale?.fieldsV1, { "f:spec": { "f:replicas": {} } });
    // the applier now conflicts when it re-applies its old replicas
    const err = conflictOf(() => apply(scaled, deploymentConfig({ replicas: 1, paused: false }), "meshlift"));
    assert.equal(
      err.details?.causes?.[0].message,
      'conflict with "kubectl" with subresource "scale" using autoscaling/v1',
    );
  });

  test("a write that changes nothing leaves managedFields untouched", () => {
    const created = recordUpdate(undefined, deploymentConfig({ replicas: 1 }), "kubectl-create", "apps/v1", T0);
    const same = recordUpdate(created, structuredClone(created), "kubectl-edit", "apps/v1", T1);
    assert.deepEqual(same.metadata.managedFields, created.metadata.managedFields);
  });

  test("removing a field removes it from its owner", () => {
    const created = recordUpdate(
      undefined,
      deploymentConfig({ replicas: 1 }, { a: "1", b: "2" }),
      "kubectl-create",
      "apps/v1",
      T0,
    );
    const edited = structuredClone(created);
    delete edited.metadata.labels!.b;
    const out = recordUpdate(created, edited, "kubectl-edit", "apps/v1", T1);
    assert.deepEqual(
      out.metadata.managedFields?.map((e) => [e.manager, e.fieldsV1]),
      [["kubectl-create", { "f:metadata": { "f:labels": { "f:a": {} } }, "f:spec": { "f:replicas": {} } }]],
    );
  });

  test("managedFields: [{}] sent in an update clears the stored entries", () => {
    const created = recordUpdate(undefined, deploymentConfig({ replicas: 1 }), "kubectl-create", "apps/v1", T0);
    const cleared = recordUpdate(
      created,
      { ...created, metadata: { ...created.metadata, managedFields: [{} as never] } },
      "kubectl-patch",
      "apps/v1",
      T1,
    );
    assert.equal(cleared.metadata.managedFields, undefined);
  });

  test("managedFields are ordered Apply first, then by time", () => {
    const applied = apply(undefined, deploymentConfig({ replicas: 1 }), "meshlift", { now: T1 });
    const labelled = recordUpdate(
      applied,
      { ...applied, metadata: { ...applied.metadata, labels: { x: "y" } } },
      "kubectl-label",
      "apps/v1",
      T0,
    );
    const annotated = recordUpdate(
      labelled,
      { ...labelled, metadata: { ...labelled.metadata, annotations: { a: "b" } } },
      "kubectl-annotate",
      "apps/v1",
      T2,
    );
    assert.deepEqual(
      annotated.metadata.managedFields?.map((e) => `${e.operation}:${e.manager}`),
      ["Apply:meshlift", "Update:kubectl-label", "Update:kubectl-annotate"],
    );
  });
});
