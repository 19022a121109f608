import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import YAML from "yaml";
import type { KObject } from "../api/types.js";
import {
  InjectionError,
  SIDECAR_STATUS,
  injectPod,
  proxyImageFor,
  workloadOf,
  type InjectionContext,
} from "./injector.js";
import { renderRevision, type RevisionSpec } from "./render.js";

/** The pod template of an injected Deployment fixture from istio/istio pkg/kube/inject/testdata/inject. */
function injectedFixture(name: string): {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: any;
} {
  const text = readFileSync(new URL(`../../../shared/fixtures/istio/${name}`, import.meta.url), "utf8");
  return YAML.parseAllDocuments(text)[0].toJS().spec.template;
}

/** The revision's injector context, with the values the istio/istio injection tests use (hub registry.istio.io/testing, tag latest). */
function revisionContext(spec: Partial<RevisionSpec> = {}, namespace = "default"): InjectionContext {
  const objects = renderRevision({ version: "1.30.3", revision: "", hub: "registry.istio.io/testing", ...spec });
  const r = spec.revision ? `-${spec.revision}` : "";
  const injectorConfigMap = structuredClone(
    objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === `istio-sidecar-injector${r}`)!,
  );
  const values = JSON.parse(injectorConfigMap.data.values);
  values.global.tag = "latest";
  values.global.proxy.resources = { limits: { cpu: "2", memory: "1Gi" }, requests: { cpu: "100m", memory: "128Mi" } };
  injectorConfigMap.data.values = JSON.stringify(values);
  return {
    namespace: { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    injectorConfigMap,
    meshConfigMap: objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === `istio${r}`),
    revision: spec.revision || "default",
    istioNamespace: "istio-system",
  };
}

/** A pod as the ReplicaSet controller of Deployment `deployment` creates it. */
function deploymentPod(
  deployment: string,
  meta: { labels?: Record<string, string>; annotations?: Record<string, string> },
  spec: Record<string, unknown>,
): KObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${deployment}-7d4f8b9c5-`,
      namespace: "default",
      labels: { ...meta.labels, "pod-template-hash": "7d4f8b9c5" },
      ...(meta.annotations ? { annotations: meta.annotations } : {}),
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: `${deployment}-7d4f8b9c5`, uid: "u1", controller: true },
      ],
    },
    spec,
  };
}

function inject(pod: KObject, ctx: InjectionContext): KObject {
  const result = injectPod(pod, ctx);
  assert.ok(result.injected, result.injected ? "" : result.reason);
  return result.pod;
}

const names = (list: any[] | undefined) => (list ?? []).map((x) => x.name);
const helloPod = () =>
  deploymentPod(
    "hello",
    { labels: { app: "hello", tier: "backend", track: "stable" } },
    {
      containers: [
        {
          name: "hello",
          image: "fake.docker.io/google-samples/hello-go-gke:1.0",
          ports: [{ name: "http", containerPort: 80 }],
        },
      ],
    },
  );

void describe("injectPod against istio/istio injected fixtures", () => {
  void test("native sidecar (hello.yaml.injected): istio-proxy is an init container with restartPolicy Always", () => {
    const want = injectedFixture("hello.yaml.injected");
    const got = inject(helloPod(), revisionContext({ nativeSidecars: true }));
    assert.equal(got.metadata.annotations![SIDECAR_STATUS], want.metadata.annotations[SIDECAR_STATUS]);
    assert.deepEqual(names(got.spec.initContainers), names(want.spec.initContainers));
    assert.deepEqual(names(got.spec.containers), names(want.spec.containers));
    assert.deepEqual(names(got.spec.volumes), names(want.spec.volumes));
    const proxy = got.spec.initContainers[1];
    const wantProxy = want.spec.initContainers[1];
    assert.equal(proxy.restartPolicy, "Always");
    assert.deepEqual(proxy.env, wantProxy.env);
    assert.deepEqual(proxy.args, wantProxy.args);
    assert.deepEqual(proxy.volumeMounts, wantProxy.volumeMounts);
    assert.deepEqual(proxy.lifecycle, wantProxy.lifecycle);
    assert.equal(proxy.image, wantProxy.image);
    assert.deepEqual(got.spec.initContainers[0].args, want.spec.initContainers[0].args);
    for (const k of Object.keys(want.metadata.annotations).filter((k) => k !== SIDECAR_STATUS))
      assert.equal(got.metadata.annotations![k], want.metadata.annotations[k], k);
    for (const [k, v] of Object.entries(want.metadata.labels)) assert.equal(got.metadata.labels![k], v, k);
    assert.equal(got.metadata.labels!["istio.io/rev"], undefined, "the injector never writes the istio.io/rev label");
  });

  void test("classic sidecar (hello-old-version.yaml.injected): istio-proxy appended to containers", () => {
    const want = injectedFixture("hello-old-version.yaml.injected");
    const got = inject(helloPod(), revisionContext({ nativeSidecars: false }));
    assert.equal(got.metadata.annotations![SIDECAR_STATUS], want.metadata.annotations[SIDECAR_STATUS]);
    assert.deepEqual(names(got.spec.containers), ["hello", "istio-proxy"]);
    assert.deepEqual(names(got.spec.initContainers), ["istio-init"]);
    assert.equal(got.spec.containers[1].restartPolicy, undefined);
    assert.equal(got.spec.containers[1].lifecycle, undefined);
  });

  void test("the pod annotation sidecar.istio.io/nativeSidecar overrides the revision setting both ways", () => {
    const off = helloPod();
    off.metadata.annotations = { "sidecar.istio.io/nativeSidecar": "false" };
    assert.deepEqual(names(inject(off, revisionContext({ nativeSidecars: true })).spec.containers), [
      "hello",
      "istio-proxy",
    ]);
    const on = helloPod();
    on.metadata.annotations = { "sidecar.istio.io/nativeSidecar": "true" };
    assert.deepEqual(names(inject(on, revisionContext({ nativeSidecars: false })).spec.initContainers), [
      "istio-init",
      "istio-proxy",
    ]);
  });

  void test("traffic annotations (traffic-annotations.yaml.injected): iptables args, resources and PROXY_CONFIG", () => {
    const want = injectedFixture("traffic-annotations.yaml.injected");
    const annotations = Object.fromEntries(
      Object.entries(want.metadata.annotations as Record<string, string>).filter(
        ([k]) => k.startsWith("traffic.") || k === "proxy.istio.io/config" || k === "sidecar.istio.io/proxyCPU",
      ),
    );
    const pod = deploymentPod(
      "traffic",
      { labels: { app: "traffic" }, annotations },
      {
        containers: [
          {
            name: "traffic",
            image: "fake.docker.io/google-samples/traffic-go-gke:1.0",
            ports: [{ name: "http", containerPort: 80 }],
          },
        ],
      },
    );
    const got = inject(pod, revisionContext({ nativeSidecars: true }));
    assert.equal(got.metadata.annotations![SIDECAR_STATUS], want.metadata.annotations[SIDECAR_STATUS]);
    assert.deepEqual(got.spec.initContainers[0].args, want.spec.initContainers[0].args);
    assert.deepEqual(got.spec.initContainers[0].env, want.spec.initContainers[0].env);
    const env = (c: any, n: string) => c.env.find((e: any) => e.name === n)?.value;
    assert.equal(env(got.spec.initContainers[1], "PROXY_CONFIG"), env(want.spec.initContainers[1], "PROXY_CONFIG"));
    assert.deepEqual(got.spec.initContainers[1].resources, { requests: { cpu: "4000m" } });
  });

  void test("gateway template (gateway.yaml.injected): router proxy replaces image auto, user fields kept as overrides", () => {
    const want = injectedFixture("gateway.yaml.injected");
    const pod: KObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "istio-ingressgateway",
        namespace: "default",
        labels: { istio: "ingressgateway" },
        annotations: { "inject.istio.io/templates": "gateway" },
      },
      spec: { containers: [{ name: "istio-proxy", image: "auto", resources: {}, imagePullPolicy: "IfNotPresent" }] },
    };
    const ctx = revisionContext();
    const got = inject(pod, ctx);
    assert.equal(got.metadata.annotations![SIDECAR_STATUS], want.metadata.annotations[SIDECAR_STATUS]);
    assert.equal(
      got.metadata.annotations!["proxy.istio.io/overrides"],
      want.metadata.annotations["proxy.istio.io/overrides"],
    );
    assert.equal(got.spec.initContainers, undefined);
    const proxy = got.spec.containers[0];
    assert.deepEqual(names(got.spec.containers), ["istio-proxy"]);
    assert.equal(proxy.image, want.spec.containers[0].image);
    assert.deepEqual(proxy.args, want.spec.containers[0].args);
    assert.equal(proxy.imagePullPolicy, "IfNotPresent");
    assert.deepEqual(proxy.resources, {});
    assert.deepEqual(got.spec.securityContext, want.spec.securityContext);
    assert.deepEqual(got.metadata.labels, {
      ...want.metadata.labels,
      "service.istio.io/canonical-name": "istio-ingressgateway",
    });
  });
});

void describe("injectPod: how a revisioned istiod finds itself (istio-facts §2)", () => {
  void test("a revisioned pod carries discoveryAddress and CA_ADDR of istiod-<rev> and its real revision", () => {
    const got = inject(helloPod(), revisionContext({ revision: "1-30-3" }));
    const proxy = [...got.spec.initContainers, ...got.spec.containers].find((c: any) => c.name === "istio-proxy");
    const env = (n: string) => proxy.env.find((e: any) => e.name === n).value;
    assert.equal(env("PROXY_CONFIG"), '{"discoveryAddress":"istiod-1-30-3.istio-system.svc:15012"}\n');
    assert.equal(env("CA_ADDR"), "istiod-1-30-3.istio-system.svc:15012");
    assert.equal(got.metadata.annotations!["istio.io/rev"], "1-30-3");
    assert.equal(JSON.parse(got.metadata.annotations![SIDECAR_STATUS]).revision, "1-30-3");
  });

  void test("proxy image: <hub>/<proxy.image>:<tag>, variant suffix, sidecar.istio.io/proxyImage wins", () => {
    const values = {
      global: {
        hub: "docker.io/istio",
        tag: "1.29.2",
        variant: "distroless",
        istioNamespace: "istio-system",
        proxy: { image: "proxyv2" },
      },
      revision: "",
    };
    assert.equal(proxyImageFor(values, {}), "docker.io/istio/proxyv2:1.29.2-distroless");
    assert.equal(
      proxyImageFor(values, { "sidecar.istio.io/proxyImageType": "debug" }),
      "docker.io/istio/proxyv2:1.29.2-debug",
    );
    assert.equal(
      proxyImageFor(values, { "sidecar.istio.io/proxyImage": "my.registry/envoy:x" }),
      "my.registry/envoy:x",
    );
  });
});

void describe("injectPod: injectRequired (pkg/kube/inject/inject.go)", () => {
  const cases: {
    scenario: string;
    change: (p: KObject) => void;
    injected: boolean;
    policy?: "enabled" | "disabled";
  }[] = [
    { scenario: "plain pod under policy enabled", change: () => {}, injected: true },
    { scenario: "hostNetwork pod", change: (p) => (p.spec.hostNetwork = true), injected: false },
    { scenario: "pod in kube-system", change: (p) => (p.metadata.namespace = "kube-system"), injected: false },
    {
      scenario: "pod in local-path-storage",
      change: (p) => (p.metadata.namespace = "local-path-storage"),
      injected: false,
    },
    {
      scenario: "annotation sidecar.istio.io/inject=false",
      change: (p) => (p.metadata.annotations = { "sidecar.istio.io/inject": "false" }),
      injected: false,
    },
    {
      scenario: "label inject=true beats annotation inject=false",
      change: (p) => {
        p.metadata.annotations = { "sidecar.istio.io/inject": "false" };
        p.metadata.labels!["sidecar.istio.io/inject"] = "true";
      },
      injected: true,
    },
    { scenario: "policy disabled without an opt-in", change: () => {}, injected: false, policy: "disabled" },
    {
      scenario: "policy disabled with annotation inject=true",
      change: (p) => (p.metadata.annotations = { "sidecar.istio.io/inject": "true" }),
      injected: true,
      policy: "disabled",
    },
    {
      scenario: "a pod already carrying sidecar.istio.io/status",
      change: (p) => (p.metadata.annotations = { [SIDECAR_STATUS]: "{}" }),
      injected: false,
    },
  ];
  for (const c of cases) {
    void test(`${c.scenario} → ${c.injected ? "injected" : "left alone"}`, () => {
      const ctx = revisionContext();
      if (c.policy)
        ctx.injectorConfigMap.data.config = ctx.injectorConfigMap.data.config.replace(
          "policy: enabled",
          `policy: ${c.policy}`,
        );
      const pod = helloPod();
      c.change(pod);
      assert.equal(injectPod(pod, ctx).injected, c.injected);
    });
  }

  void test("neverInjectSelector and alwaysInjectSelector apply only when the pod expressed no choice", () => {
    const ctx = revisionContext();
    const config = YAML.parse(ctx.injectorConfigMap.data.config);
    config.neverInjectSelector = [{ matchLabels: { tier: "backend" } }];
    ctx.injectorConfigMap.data.config = YAML.stringify(config);
    assert.equal(injectPod(helloPod(), ctx).injected, false);
    const optedIn = helloPod();
    optedIn.metadata.labels!["sidecar.istio.io/inject"] = "true";
    assert.equal(injectPod(optedIn, ctx).injected, true);
  });

  void test("an unknown template is an injection error (istiod rejects the pod)", () => {
    const pod = helloPod();
    pod.metadata.annotations = { "inject.istio.io/templates": "grpc-agent" };
    assert.throws(() => injectPod(pod, revisionContext()), InjectionError);
  });
});

void describe("workloadOf (GetDeployMetaFromPod)", () => {
  void test("ReplicaSet pods map to their Deployment; CronJob jobs to the CronJob; bare pods to themselves", () => {
    assert.deepEqual(workloadOf(helloPod()), { name: "hello", kind: "Deployment", apiVersion: "apps/v1" });
    const job: KObject = {
      metadata: {
        generateName: "report-28934520-",
        labels: { "job-name": "report-28934520" },
        ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "report-28934520", uid: "j", controller: true }],
      },
    };
    assert.deepEqual(workloadOf(job), { name: "report", kind: "CronJob", apiVersion: "batch/v1" });
    assert.deepEqual(workloadOf({ metadata: { name: "solo" } }), { name: "solo", kind: "Pod", apiVersion: "v1" });
  });
});
