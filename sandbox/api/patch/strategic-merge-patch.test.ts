import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { ApiError, type KObject } from "../types.js";
import { applyStrategicMergePatch, builtinPatchSchema, smpUnsupportedForCustomResource } from "./index.js";

const deployments = builtinPatchSchema("Deployment");

function deployment(podSpec: Record<string, unknown>, extra: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "shop" },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: podSpec },
    },
    ...extra,
  };
}

/** The first document of a real Istio fixture: a Deployment after sidecar injection. */
function injectedFixture(file: string): KObject {
  const text = readFileSync(new URL(`../../../../shared/fixtures/istio/${file}`, import.meta.url), "utf8");
  return parseAllDocuments(text)[0].toJS() as KObject;
}

const names = (list: { name: string }[]) => list.map((c) => c.name);

describe("strategic merge patch: maps and lists by patch strategy", () => {
  const cases: { name: string; target: KObject; patch: unknown; expect: (out: KObject) => void }[] = [
    {
      name: "a map merges key by key and null deletes a key",
      target: deployment({ containers: [{ name: "app", image: "a:1" }] }, {}),
      patch: {
        metadata: { labels: { team: "x" } },
        spec: { template: { metadata: { labels: { app: null, tier: "fe" } } } },
      },
      expect: (out) => {
        assert.deepEqual(out.metadata.labels, { team: "x" });
        assert.deepEqual(out.spec.template.metadata.labels, { tier: "fe" });
      },
    },
    {
      // strategicpatch mergeSortedSlice: patch items keep patch order; a server-only item is placed before the first
      // patch item it preceded live, and new items have no live position, so they come before it
      name: "containers merge by name: a patched container keeps its other fields, a new one joins in patch order",
      target: deployment({
        containers: [
          { name: "app", image: "a:1", args: ["--x"] },
          { name: "istio-proxy", image: "proxy:1" },
        ],
      }),
      patch: {
        spec: {
          template: {
            spec: {
              containers: [
                { name: "app", image: "a:2" },
                { name: "debug", image: "busybox" },
              ],
            },
          },
        },
      },
      expect: (out) => {
        assert.deepEqual(out.spec.template.spec.containers, [
          { name: "app", image: "a:2", args: ["--x"] },
          { name: "debug", image: "busybox" },
          { name: "istio-proxy", image: "proxy:1" },
        ]);
      },
    },
    {
      name: "env merges by name, volumeMounts by mountPath, container ports by containerPort",
      target: deployment({
        containers: [
          {
            name: "app",
            env: [
              { name: "A", value: "1" },
              { name: "B", value: "2" },
            ],
            volumeMounts: [{ name: "data", mountPath: "/data" }],
            ports: [{ containerPort: 80, name: "http" }],
          },
        ],
      }),
      patch: {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: "app",
                  env: [{ name: "B", value: "3" }],
                  volumeMounts: [{ name: "data2", mountPath: "/data", readOnly: true }],
                  ports: [
                    { containerPort: 80, protocol: "TCP" },
                    { containerPort: 15090, name: "http-envoy-prom" },
                  ],
                },
              ],
            },
          },
        },
      },
      expect: (out) => {
        const [app] = out.spec.template.spec.containers;
        assert.deepEqual(app.env, [
          { name: "A", value: "1" },
          { name: "B", value: "3" },
        ]);
        assert.deepEqual(app.volumeMounts, [{ name: "data2", mountPath: "/data", readOnly: true }]);
        assert.deepEqual(app.ports, [
          { containerPort: 80, name: "http", protocol: "TCP" },
          { containerPort: 15090, name: "http-envoy-prom" },
        ]);
      },
    },
    {
      name: "tolerations and args have no patch strategy: the patch list replaces the live one",
      target: deployment({
        containers: [{ name: "app", args: ["a", "b"] }],
        tolerations: [{ key: "x", operator: "Exists" }],
      }),
      patch: {
        spec: {
          template: {
            spec: { tolerations: [{ key: "y", operator: "Exists" }], containers: [{ name: "app", args: ["c"] }] },
          },
        },
      },
      expect: (out) => {
        assert.deepEqual(out.spec.template.spec.tolerations, [{ key: "y", operator: "Exists" }]);
        assert.deepEqual(out.spec.template.spec.containers[0].args, ["c"]);
      },
    },
    {
      name: "finalizers merge as a set of strings, without duplicates",
      target: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", finalizers: ["a", "b"] } },
      patch: { metadata: { finalizers: ["b", "c"] } },
      expect: (out) => assert.deepEqual(out.metadata.finalizers, ["a", "b", "c"]),
    },
    {
      name: "ownerReferences merge by uid",
      target: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: "p",
          ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "u1", controller: true }],
        },
      },
      patch: {
        metadata: {
          ownerReferences: [
            { apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "u1", blockOwnerDeletion: true },
          ],
        },
      },
      expect: (out) =>
        assert.deepEqual(out.metadata.ownerReferences, [
          {
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            name: "rs",
            uid: "u1",
            controller: true,
            blockOwnerDeletion: true,
          },
        ]),
    },
    {
      name: "an empty patch list of a merged list leaves the live list alone",
      target: deployment({ containers: [{ name: "app" }] }),
      patch: { spec: { template: { spec: { containers: [] } } } },
      expect: (out) => assert.deepEqual(names(out.spec.template.spec.containers), ["app"]),
    },
    {
      name: "a value of another type replaces the live one",
      target: deployment({ containers: [{ name: "app" }] }, { status: { conditions: "broken" } }),
      patch: { status: { conditions: [{ type: "Available", status: "True" }] } },
      expect: (out) => assert.deepEqual(out.status.conditions, [{ type: "Available", status: "True" }]),
    },
    {
      name: "status conditions merge by type",
      target: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p" },
        status: {
          conditions: [
            { type: "Ready", status: "False" },
            { type: "PodScheduled", status: "True" },
          ],
        },
      },
      patch: { status: { conditions: [{ type: "Ready", status: "True" }] } },
      expect: (out) =>
        assert.deepEqual(out.status.conditions, [
          { type: "Ready", status: "True" },
          { type: "PodScheduled", status: "True" },
        ]),
    },
    {
      name: "Service ports merge by port",
      target: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "s" },
        spec: {
          ports: [
            { port: 80, name: "http" },
            { port: 443, name: "https" },
          ],
        },
      },
      patch: { spec: { ports: [{ port: 443, targetPort: 8443 }] } },
      expect: (out) =>
        assert.deepEqual(out.spec.ports, [
          { port: 80, name: "http" },
          { port: 443, name: "https", targetPort: 8443 },
        ]),
    },
    {
      name: "a new field's nested nulls are dropped, not stored",
      target: deployment({ containers: [{ name: "app" }] }),
      patch: { spec: { template: { spec: { securityContext: { runAsUser: 1000, fsGroup: null } } } } },
      expect: (out) => assert.deepEqual(out.spec.template.spec.securityContext, { runAsUser: 1000 }),
    },
    {
      name: "CronJob pod spec lives at spec.jobTemplate.spec.template.spec",
      target: {
        apiVersion: "batch/v1",
        kind: "CronJob",
        metadata: { name: "cj" },
        spec: {
          jobTemplate: {
            spec: {
              template: {
                spec: {
                  containers: [
                    { name: "a", image: "a:1" },
                    { name: "b", image: "b:1" },
                  ],
                },
              },
            },
          },
        },
      },
      patch: { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: "b", image: "b:2" }] } } } } } },
      expect: (out) =>
        assert.deepEqual(out.spec.jobTemplate.spec.template.spec.containers, [
          { name: "a", image: "a:1" },
          { name: "b", image: "b:2" },
        ]),
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const frozen = structuredClone(c.target);
      const out = applyStrategicMergePatch(c.target, c.patch, builtinPatchSchema(c.target.kind!));
      c.expect(out);
      assert.deepEqual(c.target, frozen, "the live object is not mutated");
    });
  }
});

describe("strategic merge patch: directives", () => {
  test("$patch: delete on a list item removes the item with that merge key", () => {
    const live = deployment({
      containers: [
        {
          name: "app",
          env: [
            { name: "A", value: "1" },
            { name: "B", value: "2" },
          ],
        },
      ],
    });
    const out = applyStrategicMergePatch(
      live,
      { spec: { template: { spec: { containers: [{ name: "app", env: [{ $patch: "delete", name: "A" }] }] } } } },
      deployments,
    );
    assert.deepEqual(out.spec.template.spec.containers[0].env, [{ name: "B", value: "2" }]);
  });

  test("$patch: replace on a list makes the list exactly the patch items", () => {
    const live = deployment({ containers: [{ name: "app" }, { name: "istio-proxy" }] });
    const out = applyStrategicMergePatch(
      live,
      { spec: { template: { spec: { containers: [{ name: "only", image: "x" }, { $patch: "replace" }] } } } },
      deployments,
    );
    assert.deepEqual(out.spec.template.spec.containers, [{ name: "only", image: "x" }]);
  });

  test("$patch: replace on a map replaces the map instead of merging it", () => {
    const live = deployment({ containers: [{ name: "app" }] });
    const out = applyStrategicMergePatch(
      live,
      { spec: { selector: { $patch: "replace", matchLabels: { app: "new" } } } },
      deployments,
    );
    assert.deepEqual(out.spec.selector, { matchLabels: { app: "new" } });
  });

  test("$patch: delete on a map empties it", () => {
    const live = deployment({ containers: [{ name: "app" }] }, { status: { replicas: 2 } });
    const out = applyStrategicMergePatch(live, { status: { $patch: "delete" } }, deployments);
    assert.deepEqual(out.status, {});
  });

  test("$patch: merge on a map or a list item merges as usual", () => {
    const live = deployment({ containers: [{ name: "app", image: "a:1" }] });
    const out = applyStrategicMergePatch(
      live,
      {
        spec: {
          $patch: "merge",
          replicas: 5,
          template: { spec: { containers: [{ $patch: "merge", name: "app", tty: true }] } },
        },
      },
      deployments,
    );
    assert.equal(out.spec.replicas, 5);
    assert.deepEqual(out.spec.template.spec.containers, [{ name: "app", image: "a:1", tty: true }]);
  });

  test("$deleteFromPrimitiveList removes values from a set of primitives", () => {
    const live: KObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", finalizers: ["a", "b", "c"] } };
    const out = applyStrategicMergePatch(
      live,
      { metadata: { "$deleteFromPrimitiveList/finalizers": ["b"] } },
      builtinPatchSchema("ConfigMap"),
    );
    assert.deepEqual(out.metadata.finalizers, ["a", "c"]);
  });

  test("$retainKeys clears the live keys it does not list (switching a Deployment to Recreate)", () => {
    const live = deployment({ containers: [{ name: "app" }] });
    live.spec.strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } };
    const out = applyStrategicMergePatch(
      live,
      { spec: { strategy: { $retainKeys: ["type"], rollingUpdate: null, type: "Recreate" } } },
      deployments,
    );
    assert.deepEqual(out.spec.strategy, { type: "Recreate" });
  });

  test("$retainKeys that does not list a key the patch sets is a 400", () => {
    const live = deployment({ containers: [{ name: "app" }] });
    assert.throws(
      () =>
        applyStrategicMergePatch(
          live,
          { spec: { strategy: { $retainKeys: ["type"], rollingUpdate: { maxSurge: 1 } } } },
          deployments,
        ),
      (err: unknown) =>
        err instanceof ApiError && err.code === 400 && err.message === "invalid patch format of retainKeys",
    );
  });

  test("$setElementOrder orders the items it names; a server-only item stays before the item that followed it live", () => {
    const live = deployment({ containers: [{ name: "a" }, { name: "istio-proxy" }, { name: "b" }] });
    const out = applyStrategicMergePatch(
      live,
      {
        spec: {
          template: {
            spec: {
              "$setElementOrder/containers": [{ name: "b" }, { name: "a" }, { name: "c" }],
              containers: [{ name: "c", image: "c" }],
            },
          },
        },
      },
      deployments,
    );
    // live order a, istio-proxy, b: istio-proxy preceded b, and b now comes first
    assert.deepEqual(names(out.spec.template.spec.containers), ["istio-proxy", "b", "a", "c"]);
  });

  test("$setElementOrder for a set of primitives orders the merged values", () => {
    const live: KObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", finalizers: ["a", "b"] } };
    const out = applyStrategicMergePatch(
      live,
      { metadata: { "$setElementOrder/finalizers": ["c", "b", "a"], finalizers: ["c"] } },
      builtinPatchSchema("ConfigMap"),
    );
    assert.deepEqual(out.metadata.finalizers, ["c", "b", "a"]);
  });

  test("a patch item whose order disagrees with $setElementOrder is a 400", () => {
    const live = deployment({ containers: [{ name: "a" }, { name: "b" }] });
    assert.throws(
      () =>
        applyStrategicMergePatch(
          live,
          {
            spec: {
              template: {
                spec: {
                  "$setElementOrder/containers": [{ name: "a" }, { name: "b" }],
                  containers: [{ name: "b" }, { name: "a" }],
                },
              },
            },
          },
          deployments,
        ),
      (err: unknown) =>
        err instanceof ApiError && err.code === 400 && err.message.startsWith("The order in patch list"),
    );
  });

  test("a merged list item without its merge key is a 400 naming the key", () => {
    const live = deployment({ containers: [{ name: "app" }] });
    assert.throws(
      () =>
        applyStrategicMergePatch(live, { spec: { template: { spec: { containers: [{ image: "x" }] } } } }, deployments),
      (err: unknown) =>
        err instanceof ApiError && err.code === 400 && /does not contain declared merge key: name/.test(err.message),
    );
  });

  test("an unknown $patch value is a 400", () => {
    const live = deployment({ containers: [{ name: "app" }] });
    assert.throws(
      () => applyStrategicMergePatch(live, { spec: { $patch: "explode" } }, deployments),
      (err: unknown) => err instanceof ApiError && err.code === 400 && /unknown patch type/.test(err.message),
    );
  });

  test("lists of lists are refused with 422 like kube-apiserver", () => {
    const live: KObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", finalizers: ["a"] } };
    assert.throws(
      () => applyStrategicMergePatch(live, { metadata: { finalizers: [["x"]] } }, builtinPatchSchema("ConfigMap")),
      (err: unknown) =>
        err instanceof ApiError &&
        err.code === 422 &&
        err.details?.causes?.[0].message === "lists of lists are not supported",
    );
  });

  test("a body that is not a JSON object is a 400", () => {
    assert.throws(
      () => applyStrategicMergePatch(deployment({}), [{ op: "add" }], deployments),
      (err: unknown) => err instanceof ApiError && err.code === 400,
    );
  });

  test("custom resources get the real 415 message", () => {
    const err = smpUnsupportedForCustomResource();
    assert.equal(err.code, 415);
    assert.equal(err.reason, "UnsupportedMediaType");
    assert.equal(
      err.message,
      "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
    );
  });
});

describe("strategic merge patch: exactly what kubectl sends", () => {
  test("kubectl rollout restart adds the restartedAt pod-template annotation and keeps the injected template", () => {
    const live = injectedFixture("hello.yaml.injected");
    // kubectl/pkg/polymorphichelpers/objectrestarter.go, sent as a two-way strategic merge patch
    const patch = JSON.parse(
      '{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-08-22T10:00:00Z"}}}}}',
    );
    const out = applyStrategicMergePatch(live, patch, deployments);
    assert.equal(out.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"], "2026-08-22T10:00:00Z");
    assert.equal(out.spec.template.metadata.annotations["istio.io/rev"], "default");
    assert.deepEqual(out.spec.template.spec, live.spec.template.spec);
  });

  test("kubectl set image changes one container's image and leaves the injected istio-proxy alone", () => {
    const live = injectedFixture("hello-old-version.yaml.injected");
    assert.deepEqual(names(live.spec.template.spec.containers), ["hello", "istio-proxy"]);
    const patch = JSON.parse(
      '{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"hello"},{"name":"istio-proxy"}],"containers":[{"image":"fake.docker.io/google-samples/hello-go-gke:2.0","name":"hello"}]}}}}',
    );
    const out = applyStrategicMergePatch(live, patch, deployments);
    const [hello, proxy] = out.spec.template.spec.containers;
    assert.equal(hello.image, "fake.docker.io/google-samples/hello-go-gke:2.0");
    assert.deepEqual(hello.ports, live.spec.template.spec.containers[0].ports);
    assert.deepEqual(proxy, live.spec.template.spec.containers[1]);
  });

  test("kubectl rollout undo of a DaemonSet replaces the whole template with $patch: replace", () => {
    const live: KObject = {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "agent" },
      spec: {
        selector: { matchLabels: { app: "agent" } },
        template: {
          metadata: {
            labels: { app: "agent" },
            annotations: { "kubectl.kubernetes.io/restartedAt": "2026-08-22T10:00:00Z" },
          },
          spec: {
            containers: [{ name: "agent", image: "agent:2", env: [{ name: "NEW", value: "1" }] }],
            hostNetwork: true,
          },
        },
      },
    };
    // the ControllerRevision data the daemon controller stores (getPatch), sent back verbatim by kubectl rollout undo
    const patch = JSON.parse(
      '{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"app":"agent"}},"spec":{"containers":[{"image":"agent:1","name":"agent","resources":{}}]}}}}',
    );
    const out = applyStrategicMergePatch(live, patch, builtinPatchSchema("DaemonSet"));
    assert.deepEqual(out.spec.template, {
      metadata: { labels: { app: "agent" } },
      spec: { containers: [{ image: "agent:1", name: "agent", resources: {} }] },
    });
    assert.deepEqual(out.spec.selector, live.spec.selector);
  });

  test("client-side kubectl apply: the three-way patch removes a label, an env var and a volume, and switches a volume source", () => {
    const live = deployment(
      {
        containers: [
          {
            name: "app",
            image: "app:1",
            env: [
              { name: "A", value: "1" },
              { name: "B", value: "2" },
            ],
          },
          { name: "istio-proxy", image: "proxy:1.22" },
        ],
        volumes: [
          { name: "data", emptyDir: {} },
          { name: "old", emptyDir: {} },
        ],
      },
      {},
    );
    live.metadata.labels = { app: "web", tier: "fe" };
    live.metadata.finalizers = ["example.com/keep", "example.com/drop"];
    // what kubectl apply computes with CreateThreeWayMergePatch against last-applied-configuration
    const patch = JSON.parse(`{
      "metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}\\n"},"labels":{"tier":null},
        "$deleteFromPrimitiveList/finalizers":["example.com/drop"],"$setElementOrder/finalizers":["example.com/keep"]},
      "spec":{"template":{"spec":{
        "$setElementOrder/containers":[{"name":"app"}],
        "$setElementOrder/volumes":[{"name":"data"}],
        "containers":[{"$setElementOrder/env":[{"name":"A"}],"env":[{"$patch":"delete","name":"B"}],"image":"app:2","name":"app"}],
        "volumes":[{"$retainKeys":["configMap","name"],"configMap":{"name":"cfg"},"name":"data"},{"$patch":"delete","name":"old"}]}}}}`);
    const out = applyStrategicMergePatch(live, patch, deployments);
    assert.deepEqual(out.metadata.labels, { app: "web" });
    assert.deepEqual(out.metadata.finalizers, ["example.com/keep"]);
    assert.equal(out.metadata.annotations!["kubectl.kubernetes.io/last-applied-configuration"], "{}\n");
    assert.deepEqual(out.spec.template.spec.containers, [
      { name: "app", image: "app:2", env: [{ name: "A", value: "1" }] },
      { name: "istio-proxy", image: "proxy:1.22" },
    ]);
    assert.deepEqual(out.spec.template.spec.volumes, [{ name: "data", configMap: { name: "cfg" } }]);
  });
});
