// Acceptance: kubectl 1.32+ imperative commands, which write protobuf bodies, create the objects they
// would on a cluster (kubectl ≤ 1.31 sends JSON and is covered by kubectl.test.ts).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startSandbox, type Sandbox } from "../../sandbox/index.js";
import { kubectl, kubectlBinaries } from "../helpers/kubectl.js";

const TIMING = { podStartMs: 20, podReadyMs: 20, podTerminateMs: 20 };
const PROTOBUF_WRITERS = ["kubectl.1.32", "kubectl.1.33"];
const found = kubectlBinaries().filter((b) => PROTOBUF_WRITERS.includes(b.name));

test("kubectl 1.32 or 1.33 is on this machine for the protobuf-body tests", { skip: found.length === 0 }, () => {
  assert.ok(found.length > 0);
});

for (const { name, path } of found) {
  describe(`${name} create commands against the sandbox`, () => {
    const ns = `pb-${name.split(".").at(-1)}`;
    let sb: Sandbox;
    const k = async (...args: string[]) => {
      const r = await kubectl(path, sb.kubeconfigPath, args, { timeoutMs: 30_000 });
      assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
      return r.stdout;
    };
    const stored = (key: string, objName: string, namespace: string | undefined = ns) => {
      const o = sb.store.get(key, namespace, objName);
      assert.ok(o, `${key} ${namespace ?? ""}/${objName} is in the store`);
      return o;
    };

    before(async () => {
      sb = await startSandbox({ scenario: "demo", timing: TIMING });
    });
    after(async () => sb?.stop());

    test("create namespace", async () => {
      await k("create", "namespace", ns);
      assert.equal(stored("/namespaces", ns, undefined).metadata.name, ns);
    });

    test("create configmap --from-literal stores the data", async () => {
      await k("create", "configmap", "settings", "-n", ns, "--from-literal=greeting=hello", "--from-literal=empty=");
      assert.deepEqual(stored("/configmaps", "settings").data, { greeting: "hello", empty: "" });
    });

    test("create secret generic stores base64 data", async () => {
      await k("create", "secret", "generic", "creds", "-n", ns, "--from-literal=password=hunter2");
      const secret = stored("/secrets", "creds");
      assert.equal(secret.data.password, Buffer.from("hunter2").toString("base64"));
    });

    test("create serviceaccount", async () => {
      await k("create", "serviceaccount", "robot", "-n", ns);
      stored("/serviceaccounts", "robot");
    });

    test("create deployment --replicas=2 rolls out two pods of the image", async () => {
      await k("create", "deployment", "web", "-n", ns, "--image=nginx:1.27", "--replicas=2", "--port=8080");
      const d = stored("apps/deployments", "web");
      assert.equal(d.spec.replicas, 2);
      assert.equal(d.spec.template.spec.containers[0].image, "nginx:1.27");
      await k("rollout", "status", "deployment/web", "-n", ns, "--timeout=30s");
      assert.equal(sb.store.list("/pods", ns, { labelSelector: "app=web" }).length, 2);
    });

    test("create job and create cronjob", async () => {
      await k("create", "job", "once", "-n", ns, "--image=busybox", "--", "echo", "hi");
      assert.deepEqual(stored("batch/jobs", "once").spec.template.spec.containers[0].command, ["echo", "hi"]);
      await k("create", "cronjob", "nightly", "-n", ns, "--image=busybox", "--schedule=0 3 * * *", "--", "date");
      assert.equal(stored("batch/cronjobs", "nightly").spec.schedule, "0 3 * * *");
    });

    test("create role and rolebinding", async () => {
      await k("create", "role", "reader", "-n", ns, "--verb=get,list", "--resource=pods");
      assert.deepEqual(stored("rbac.authorization.k8s.io/roles", "reader").rules, [
        { verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] },
      ]);
      await k("create", "rolebinding", "reader", "-n", ns, "--role=reader", `--serviceaccount=${ns}:robot`);
      assert.deepEqual(stored("rbac.authorization.k8s.io/rolebindings", "reader").subjects, [
        { kind: "ServiceAccount", name: "robot", namespace: ns },
      ]);
    });

    test("create pdb keeps minAvailable as an int or a percentage", async () => {
      await k("create", "pdb", "web", "-n", ns, "--selector=app=web", "--min-available=1");
      assert.equal(stored("policy/poddisruptionbudgets", "web").spec.minAvailable, 1);
      // over other pods: a second budget covering app=web would make drain's evictions fail (429/500)
      await k("create", "pdb", "batch-half", "-n", ns, "--selector=app=batch", "--max-unavailable=50%");
      assert.equal(stored("policy/poddisruptionbudgets", "batch-half").spec.maxUnavailable, "50%");
    });

    test("run a pod and expose the deployment", async () => {
      await k("run", "solo", "-n", ns, "--image=nginx", "--restart=Never");
      assert.equal(stored("/pods", "solo").spec.containers[0].image, "nginx");
      await k("expose", "deployment", "web", "-n", ns, "--port=80", "--target-port=8080");
      assert.deepEqual(stored("/services", "web").spec.selector, { app: "web" });
      await k("create", "service", "clusterip", "api", "-n", ns, "--tcp=80:8080");
      const port = stored("/services", "api").spec.ports[0];
      assert.equal(port.port, 80);
      assert.equal(port.targetPort, 8080);
    });

    test("create token", async (t) => {
      const served = (sb.registry.byKey("/serviceaccounts")?.subresources as string[] | undefined)?.includes("token");
      if (!served) return t.skip("the sandbox does not serve serviceaccounts/token");
      assert.notEqual((await k("create", "token", "robot", "-n", ns)).trim(), "");
    });

    test("drain evicts the selected pods and the deployment replaces them", async () => {
      const node = sb.store.list("/pods", ns, { labelSelector: "app=web" })[0].spec.nodeName as string;
      const out = await k("drain", node, "--pod-selector=app=web", "--ignore-daemonsets", "--timeout=30s");
      assert.match(out, /evicted/);
      await k("uncordon", node);
      await k("rollout", "status", "deployment/web", "-n", ns, "--timeout=30s");
    });
  });
}
