// Acceptance: real kubectl, every version found on the machine, behaves against the sandbox as on a cluster.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { parse } from "yaml";
import { startSandbox, type Sandbox } from "../../sandbox/index.js";
import { kubectl, kubectlBinaries, kubectlStream } from "../helpers/kubectl.js";

const FIXTURES = resolve(import.meta.dirname, "../../../shared/fixtures/istio");
const TIMING = { podStartMs: 20, podReadyMs: 20, podTerminateMs: 20, jobRunMs: 100, crashLoopMs: 50 };

const APP = (ns: string) => `
apiVersion: v1
kind: Namespace
metadata:
  name: ${ns}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${ns}
  labels: { app: web }
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  strategy:
    rollingUpdate: { maxSurge: 1, maxUnavailable: 0 }
  template:
    metadata:
      labels: { app: web, version: v1 }
    spec:
      containers:
      - name: web
        image: docker.io/library/nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${ns}
spec:
  selector: { app: web }
  ports:
  - port: 80
    targetPort: 80
`;

const binaries = kubectlBinaries();

test("kubectl binaries are present on this machine", () => {
  assert.ok(
    binaries.some((b) => b.name === "kubectl"),
    "kubectl must be on PATH",
  );
});

for (const { name, path } of binaries) {
  describe(`${name} against the sandbox`, () => {
    let sb: Sandbox;
    let k: (args: string[], input?: string) => ReturnType<typeof kubectl>;
    let revision = "";
    before(async () => {
      sb = await startSandbox({ scenario: "demo", timing: TIMING });
      k = (args, input) => kubectl(path, sb.kubeconfigPath, args, { input });
      const istiod = sb.store.list("apps/deployments", "istio-system").find((d) => d.metadata.labels?.app === "istiod");
      revision = istiod?.metadata.labels?.["istio.io/rev"] ?? "";
      assert.ok(revision, "demo has an istiod revision");
    });
    after(async () => sb?.stop());

    test("version reports the scenario's Kubernetes version", async () => {
      const r = await k(["version", "-o", "json"]);
      assert.equal(r.code, 0, r.stderr);
      const v = JSON.parse(r.stdout);
      assert.equal(v.serverVersion.gitVersion, `v${sb.scenario.kubernetesVersion}`);
    });

    test("api-resources lists built-in kinds with short names", async () => {
      const r = await k(["api-resources"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
      assert.match(r.stdout, /^pods\s+po\s+v1\s+true\s+Pod$/m);
      assert.match(
        r.stdout,
        /^mutatingwebhookconfigurations\s+admissionregistration\.k8s\.io\/v1\s+false\s+MutatingWebhookConfiguration$/m,
      );
    });

    test("get ns lists the scenario's namespaces", async () => {
      const r = await k(["get", "ns"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^NAME\s+STATUS\s+AGE$/m);
      assert.match(r.stdout, /^istio-system\s+Active\s+\S+$/m);
    });

    test("apply creates a namespace, deployment and service; wait --for=condition=Available succeeds", async () => {
      const r = await k(["apply", "-f", "-"], APP("conf"));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /deployment\.apps\/web created/);
      const w = await k(["wait", "--for=condition=Available", "deployment/web", "-n", "conf", "--timeout=60s"]);
      assert.equal(w.code, 0, w.stderr);
      assert.match(w.stdout, /deployment\.apps\/web condition met/);
    });

    test("get pods -A -o wide shows running pods with IP and node", async () => {
      const r = await k(["get", "pods", "-A", "-o", "wide"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/m);
      assert.match(r.stdout, /^conf\s+web-[a-z0-9]+-[a-z0-9]{5}\s+1\/1\s+Running\s+0\s+\S+\s+10\.\d+\.\d+\.\d+\s+\S+/m);
    });

    test("get deploy -o yaml returns the object with status", async () => {
      const r = await k(["get", "deploy", "web", "-n", "conf", "-o", "yaml"]);
      assert.equal(r.code, 0, r.stderr);
      const d = parse(r.stdout);
      assert.equal(d.kind, "Deployment");
      assert.equal(d.spec.replicas, 2);
      assert.equal(d.status.availableReplicas, 2);
      assert.ok(Number(d.metadata.resourceVersion) > 0);
    });

    test("label ns istio.io/rev --overwrite, rollout restart and rollout status inject the new sidecars", async () => {
      const l = await k(["label", "ns", "conf", `istio.io/rev=${revision}`, "--overwrite"]);
      assert.equal(l.code, 0, l.stderr);
      assert.match(l.stdout, /namespace\/conf labeled/);
      assert.equal(sb.store.get("/namespaces", undefined, "conf")?.metadata.labels?.["istio.io/rev"], revision);
      const rr = await k(["rollout", "restart", "deployment", "-n", "conf"]);
      assert.equal(rr.code, 0, rr.stderr);
      assert.match(rr.stdout, /deployment\.apps\/web restarted/);
      const rs = await k(["rollout", "status", "deployment/web", "-n", "conf", "--timeout=60s"]);
      assert.equal(rs.code, 0, rs.stderr);
      assert.match(rs.stdout, /successfully rolled out/);
      const pods = sb.store.list("/pods", "conf").filter((p) => !p.metadata.deletionTimestamp);
      assert.equal(pods.length, 2);
      for (const p of pods) {
        const names = [...(p.spec.containers ?? []), ...(p.spec.initContainers ?? [])].map((c: any) => c.name);
        assert.ok(names.includes("istio-proxy"), `pod ${p.metadata.name} has a sidecar`);
        assert.equal(p.metadata.annotations?.["istio.io/rev"], revision);
      }
    });

    test("scale --replicas 0 removes every pod", async () => {
      const r = await k(["scale", "deployment", "web", "-n", "conf", "--replicas", "0"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /deployment\.apps\/web scaled/);
      const w = await k(["wait", "--for=delete", "pod", "-l", "app=web", "-n", "conf", "--timeout=60s"]);
      assert.ok(w.code === 0, w.stderr);
      assert.equal(sb.store.list("/pods", "conf").length, 0);
    });

    test("apply --server-side of the real Istio CRDs, then an EnvoyFilter, then get envoyfilters -A", async () => {
      const crd = await k(["apply", "--server-side", "-f", `${FIXTURES}/crd-all.gen.yaml`]);
      assert.equal(crd.code, 0, crd.stderr);
      assert.match(
        crd.stdout,
        /customresourcedefinition\.apiextensions\.k8s\.io\/envoyfilters\.networking\.istio\.io serverside-applied/,
      );
      const est = await k([
        "wait",
        "--for",
        "condition=established",
        "crd/envoyfilters.networking.istio.io",
        "--timeout=30s",
      ]);
      assert.equal(est.code, 0, est.stderr);
      const ef = await k(["apply", "-f", `${FIXTURES}/envoyfilter.yaml`]);
      assert.equal(ef.code, 0, ef.stderr);
      assert.match(ef.stdout, /envoyfilter\.networking\.istio\.io\/stats-filter-1\.19 (created|configured|unchanged)/);
      const g = await k(["get", "envoyfilters", "-A"]);
      assert.equal(g.code, 0, g.stderr);
      assert.match(g.stdout, /^istio-system\s+stats-filter-1\.19\s+/m);
    });

    test("client-side validation (--dry-run=client) accepts real injected workloads and the sandbox's own pods", async () => {
      // kubectl validates against the sandbox's OpenAPI here, not the server: every field a real
      // injected pod carries (downwardAPI volumes, null condition times) must be in the schema
      for (const fixture of ["hello.yaml.injected", "gateway.yaml.injected", "cronjob-old-version.yaml.injected"]) {
        const r = await k(["create", "--dry-run=client", "-o", "name", "-n", "conf", "-f", resolve(FIXTURES, fixture)]);
        assert.equal(r.code, 0, `${fixture}: ${r.stderr}`);
      }
      const pods = await k(["get", "pods", "-A", "-o", "json"]);
      assert.equal(pods.code, 0, pods.stderr);
      const count = (JSON.parse(pods.stdout) as { items: unknown[] }).items.length;
      assert.ok(count > 0, "the demo has pods");
      const r = await k(["create", "--dry-run=client", "-o", "name", "-f", "-"], pods.stdout);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout
          .trim()
          .split("\n")
          .filter((l) => l.startsWith("pod/")).length,
        count,
      );
      // custom resources too: the CRD's schema as OpenAPI v2 publishes it (the EnvoyFilters applied above)
      const filters = await k(["get", "envoyfilters", "-A", "-o", "json"]);
      assert.equal(filters.code, 0, filters.stderr);
      const ef = await k(["create", "--dry-run=client", "-o", "name", "-f", "-"], filters.stdout);
      assert.equal(ef.code, 0, ef.stderr);
      assert.match(ef.stdout, /^envoyfilter\.networking\.istio\.io\//m);
      // an unknown field is still refused by the same validation, naming it (kubectl validates a List
      // client-side; a single object it leaves to the server, which supports fieldValidation)
      const bad = await k(
        ["create", "--dry-run=client", "-o", "name", "-f", "-"],
        JSON.stringify({
          apiVersion: "v1",
          kind: "List",
          items: [
            {
              apiVersion: "v1",
              kind: "Pod",
              metadata: { name: "bad", namespace: "conf" },
              spec: { containers: [{ name: "c", image: "x" }], volumes: [{ name: "v", downwardAPl: {} }] },
            },
          ],
        }),
      );
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /unknown field "downwardAPl"/);
    });

    test("delete pod removes it; get pods -w ends at its request timeout", async () => {
      const sc = await k(["scale", "deployment", "web", "-n", "conf", "--replicas", "1"]);
      assert.equal(sc.code, 0, sc.stderr);
      const w = await k(["wait", "--for=condition=Available", "deployment/web", "-n", "conf", "--timeout=60s"]);
      assert.equal(w.code, 0, w.stderr);
      const pod = sb.store.list("/pods", "conf").find((p) => !p.metadata.deletionTimestamp)!;
      const watch = kubectlStream(path, sb.kubeconfigPath, ["get", "pods", "-n", "conf", "-w", "--request-timeout=5s"]);
      // the watch must have listed the pod before it is deleted
      for (let i = 0; i < 100 && !watch.output().includes(pod.metadata.name!); i++)
        await new Promise((r) => setTimeout(r, 50));
      const d = await k(["delete", "pod", pod.metadata.name!, "-n", "conf"]);
      assert.equal(d.code, 0, d.stderr);
      assert.match(d.stdout, new RegExp(`pod "${pod.metadata.name}" deleted`));
      assert.equal(sb.store.get("/pods", "conf", pod.metadata.name!), undefined);
      const res = await watch.done;
      assert.match(res.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m);
      assert.match(res.stdout, new RegExp(`^${pod.metadata.name}\\s+`, "m"));
      // the deletion itself is seen live: the pod shows up again as terminating
      assert.ok(res.stdout.split("\n").filter((l) => l.startsWith(pod.metadata.name!)).length >= 2, res.stdout);
    });
  });
}
