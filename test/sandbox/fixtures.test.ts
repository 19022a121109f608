// Acceptance "Real fixtures apply": Istio's own install files, applied with the real kubectl, land in the
// sandbox as they land in a cluster — including the refusals a current server gives for removed API versions.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { startSandbox, type Sandbox } from "../../sandbox/index.js";
import { parseScenario } from "../../sandbox/scenario/schema.js";
import { resourceKey, type KObject } from "../../sandbox/api/types.js";
import { kubectl } from "../helpers/kubectl.js";

const FIXTURES = resolve(import.meta.dirname, "../../../shared/fixtures/istio");
const TIMING = { podStartMs: 20, podReadyMs: 20, podTerminateMs: 20, jobRunMs: 100, crashLoopMs: 50 };
const fixture = (name: string) => resolve(FIXTURES, name);

/** The objects of a multi-document fixture, as kubectl reads them (empty documents skipped). */
function fixtureObjects(name: string): KObject[] {
  return parseAllDocuments(readFileSync(fixture(name), "utf8"))
    .map((d) => d.toJS() as KObject | null)
    .filter((o): o is KObject => !!o && typeof o === "object" && !!o.kind);
}

/** Where the sandbox keeps an object of this apiVersion/kind, or undefined when the version is not served. */
function storedCopy(sb: Sandbox, o: KObject): KObject | undefined {
  const t = sb.store.typeForKind(o.apiVersion!, o.kind!);
  if (!t) return undefined;
  return sb.store.get(
    resourceKey(t.group, t.plural),
    t.namespaced ? o.metadata.namespace : undefined,
    o.metadata.name!,
  );
}

/** The message kubectl ≥1.25 prints for an object whose apiVersion/kind discovery does not list. */
function noMatchesMessage(o: KObject, file: string): string {
  return (
    `resource mapping not found for name: "${o.metadata.name}" namespace: "${o.metadata.namespace}" from "${file}": ` +
    `no matches for kind "${o.kind}" in version "${o.apiVersion}"\nensure CRDs are installed first`
  );
}

const REMOVED_IN_1_25 = new Set(["policy/v1beta1/PodDisruptionBudget", "autoscaling/v2beta1/HorizontalPodAutoscaler"]);
const removedIn125 = (o: KObject) => REMOVED_IN_1_25.has(`${o.apiVersion}/${o.kind}`);

// The fixtures name istio-system but do not create it (istioctl creates it first). Applied, not `kubectl create
// namespace`: kubectl ≥1.32 sends that one as protobuf, which the sandbox does not decode.
const ISTIO_SYSTEM = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: istio-system\n";

/** Starts an empty sandbox and installs the Istio CRDs the way istioctl/helm users do (server-side apply). */
async function sandboxWithIstioCrds(scenario: Parameters<typeof startSandbox>[0]["scenario"]) {
  const sb = await startSandbox({ scenario, empty: true, timing: TIMING });
  const k = (args: string[], input?: string) => kubectl("kubectl", sb.kubeconfigPath, args, { input });
  const crds = await k(["apply", "--server-side", "-f", fixture("crd-all.gen.yaml")]);
  return { sb, k, crds };
}

describe("Real Istio fixtures against a current server (the sandbox's default Kubernetes version, 1.25+)", () => {
  let sb: Sandbox;
  let k: (args: string[], input?: string) => ReturnType<typeof kubectl>;
  let crds: Awaited<ReturnType<typeof kubectl>>;
  before(async () => {
    ({ sb, k, crds } = await sandboxWithIstioCrds(parseScenario("name: istio-fixtures\n", "istio-fixtures.yaml")));
  });
  after(async () => sb?.stop());

  test("crd-all.gen.yaml applies server-side: every Istio CRD is established and its kinds are served", async () => {
    assert.equal(crds.code, 0, crds.stderr);
    const defined = fixtureObjects("crd-all.gen.yaml");
    assert.ok(defined.length >= 15, "the fixture holds all Istio CRDs");
    for (const crd of defined) {
      assert.match(
        crds.stdout,
        new RegExp(
          `^customresourcedefinition\\.apiextensions\\.k8s\\.io/${crd.metadata.name!.replace(/\./g, "\\.")} serverside-applied$`,
          "m",
        ),
      );
      const stored = sb.store.get("apiextensions.k8s.io/customresourcedefinitions", undefined, crd.metadata.name!);
      assert.ok(stored, `CRD ${crd.metadata.name} is stored`);
      assert.equal(stored.spec.names.kind, crd.spec.names.kind);
      assert.deepEqual(
        stored.spec.versions.map((v: any) => v.name),
        crd.spec.versions.map((v: any) => v.name),
      );
      assert.ok(
        stored.metadata.managedFields?.some((m) => m.manager === "kubectl" && m.operation === "Apply"),
        "server-side apply records kubectl as the field manager",
      );
      for (const v of crd.spec.versions.filter((v: any) => v.served))
        assert.ok(
          sb.registry.byResource(crd.spec.group, v.name, crd.spec.names.plural),
          `${crd.spec.names.plural}.${crd.spec.group}/${v.name} is served`,
        );
    }
    const established = await k([
      "wait",
      "--for=condition=Established",
      "crd/envoyfilters.networking.istio.io",
      "--timeout=10s",
    ]);
    assert.equal(established.code, 0, established.stderr);
  });

  test("default_tag.yaml: the `default` revision tag webhook is created with its selectors intact", async () => {
    const r = await k(["apply", "-f", fixture("default_tag.yaml")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^mutatingwebhookconfiguration\.admissionregistration\.k8s\.io\/istio-revision-tag-default created$/m,
    );
    const [want] = fixtureObjects("default_tag.yaml");
    const mwc = sb.store.get(
      "admissionregistration.k8s.io/mutatingwebhookconfigurations",
      undefined,
      "istio-revision-tag-default",
    );
    assert.ok(mwc);
    assert.equal(mwc.metadata.labels?.["istio.io/tag"], "default");
    assert.equal(mwc.metadata.labels?.["istio.io/rev"], "test-dev2");
    assert.deepEqual(
      mwc.webhooks.map((w: any) => w.name),
      want.webhooks.map((w: any) => w.name),
    );
    assert.deepEqual(mwc.webhooks[0].namespaceSelector, want.webhooks[0].namespaceSelector);
    assert.deepEqual(mwc.webhooks[0].clientConfig.service, want.webhooks[0].clientConfig.service);
  });

  test("rev-16-injector.yaml: the revision's injector webhook is created, and re-applying it changes nothing", async () => {
    const r = await k(["apply", "-f", fixture("rev-16-injector.yaml")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /istio-sidecar-injector-1-16 created/);
    const [want] = fixtureObjects("rev-16-injector.yaml");
    const mwc = sb.store.get(
      "admissionregistration.k8s.io/mutatingwebhookconfigurations",
      undefined,
      "istio-sidecar-injector-1-16",
    );
    assert.ok(mwc);
    assert.equal(mwc.metadata.labels?.["istio.io/rev"], "1-16");
    assert.deepEqual(
      mwc.webhooks.map((w: any) => w.objectSelector),
      want.webhooks.map((w: any) => w.objectSelector),
    );
    const rv = mwc.metadata.resourceVersion;
    const again = await k(["apply", "-f", fixture("rev-16-injector.yaml")]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /istio-sidecar-injector-1-16 unchanged/);
    assert.equal(again.stderr, "", "no warnings (kubectl found every field in the served OpenAPI)");
    assert.equal(
      sb.store.get(
        "admissionregistration.k8s.io/mutatingwebhookconfigurations",
        undefined,
        "istio-sidecar-injector-1-16",
      )?.metadata.resourceVersion,
      rv,
    );
  });

  test("envoyfilter.yaml needs its namespace: refused before istio-system exists, created after", async () => {
    const early = await k(["apply", "-f", fixture("envoyfilter.yaml")]);
    assert.equal(early.code, 1);
    assert.match(
      early.stderr,
      /Error from server \(NotFound\): error when creating ".*envoyfilter\.yaml": namespaces "istio-system" not found/,
    );

    const ns = await k(["apply", "-f", "-"], ISTIO_SYSTEM);
    assert.equal(ns.code, 0, ns.stderr);
    const r = await k(["apply", "-f", fixture("envoyfilter.yaml")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^envoyfilter\.networking\.istio\.io\/stats-filter-1\.19 created$/m);
    const [want] = fixtureObjects("envoyfilter.yaml");
    const ef = sb.store.get("networking.istio.io/envoyfilters", "istio-system", "stats-filter-1.19");
    assert.ok(ef);
    assert.equal(ef.apiVersion, "networking.istio.io/v1alpha3");
    assert.equal(ef.spec.priority, -1);
    assert.deepEqual(ef.spec.configPatches, want.spec.configPatches);
    assert.equal(ef.spec.configPatches[0].match.proxy.proxyVersion, "^1\\.19.*");
  });

  test("rev-1-10-0-install.yaml: PDB policy/v1beta1 and HPA autoscaling/v2beta1 are refused as on 1.25+, every other object is created", async () => {
    const file = fixture("rev-1-10-0-install.yaml");
    const objects = fixtureObjects("rev-1-10-0-install.yaml");
    const refused = objects.filter(removedIn125);
    assert.deepEqual(refused.map((o) => o.kind).sort(), ["HorizontalPodAutoscaler", "PodDisruptionBudget"]);

    const r = await k(["apply", "-f", file]);
    assert.equal(r.code, 1, "kubectl exits 1 when any object is refused");
    for (const o of refused)
      assert.ok(r.stderr.includes(noMatchesMessage(o, file)), `stderr names ${o.kind}:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /Error from server/, "the refusal comes from discovery, before any request");

    for (const o of objects) {
      const stored = storedCopy(sb, o);
      if (removedIn125(o)) {
        assert.equal(
          sb.store.typeForKind(o.apiVersion!, o.kind!),
          undefined,
          `${o.apiVersion} ${o.kind} is not served`,
        );
        continue;
      }
      assert.ok(stored, `${o.kind} ${o.metadata.name} is created`);
      assert.deepEqual(stored.metadata.labels, o.metadata.labels, `${o.kind} ${o.metadata.name} keeps its labels`);
      assert.match(r.stdout, new RegExp(`/${o.metadata.name!.replace(/\./g, "\\.")} created$`, "m"));
    }
    assert.deepEqual(sb.store.list("policy/poddisruptionbudgets", "istio-system"), []);
    assert.deepEqual(sb.store.list("autoscaling/horizontalpodautoscalers", "istio-system"), []);

    const istiod = sb.store.get("apps/deployments", "istio-system", "istiod-1-10-0");
    assert.deepEqual(istiod?.spec.strategy.rollingUpdate, { maxSurge: "100%", maxUnavailable: "25%" });
    const filters = sb.store
      .list("networking.istio.io/envoyfilters", "istio-system")
      .filter((f) => f.metadata.labels?.["istio.io/rev"] === "1-10-0");
    assert.equal(filters.length, objects.filter((o) => o.kind === "EnvoyFilter").length);
    assert.ok(
      filters.every((f) => f.spec.configPatches.every((p: any) => typeof p.match?.proxy?.proxyVersion === "string")),
      "each filter keeps its proxyVersion match",
    );

    // re-applying makes kubectl compute 3-way patches from the served OpenAPI: every field it walks must be there
    const again = await k(["apply", "-f", file]);
    assert.doesNotMatch(again.stderr, /warning: error calculating patch/);
    assert.match(again.stdout, /^deployment\.apps\/istiod-1-10-0 unchanged$/m);
    assert.match(again.stdout, /^envoyfilter\.networking\.istio\.io\/stats-filter-1\.10-1-10-0 unchanged$/m);
  });
});

describe("Real Istio fixtures against Kubernetes 1.24, where policy/v1beta1 and autoscaling/v2beta1 are still served", () => {
  let sb: Sandbox;
  let k: (args: string[], input?: string) => ReturnType<typeof kubectl>;
  let crds: Awaited<ReturnType<typeof kubectl>>;
  before(async () => {
    const scenario = parseScenario('name: kube-1-24\nkubernetesVersion: "1.24.17"\n', "kube-1-24.yaml");
    ({ sb, k, crds } = await sandboxWithIstioCrds(scenario));
  });
  after(async () => sb?.stop());

  test("rev-1-10-0-install.yaml applies completely, PodDisruptionBudget and HorizontalPodAutoscaler included", async () => {
    assert.equal(crds.code, 0, crds.stderr);
    const version = await k(["version", "-o", "json"]);
    assert.equal(JSON.parse(version.stdout).serverVersion.gitVersion, "v1.24.17");
    const ns = await k(["apply", "-f", "-"], ISTIO_SYSTEM);
    assert.equal(ns.code, 0, ns.stderr);

    const r = await k(["apply", "-f", fixture("rev-1-10-0-install.yaml")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^poddisruptionbudget\.policy\/istiod-1-10-0 created$/m);
    assert.match(r.stdout, /^horizontalpodautoscaler\.autoscaling\/istiod-1-10-0 created$/m);
    for (const o of fixtureObjects("rev-1-10-0-install.yaml"))
      assert.ok(storedCopy(sb, o), `${o.apiVersion} ${o.kind} ${o.metadata.name} is created`);

    const pdb = sb.store.get("policy/poddisruptionbudgets", "istio-system", "istiod-1-10-0");
    assert.equal(pdb?.spec.minAvailable, 1);
    assert.deepEqual(pdb?.spec.selector.matchLabels, { app: "istiod", "istio.io/rev": "1-10-0" });
    const hpa = sb.store.get("autoscaling/horizontalpodautoscalers", "istio-system", "istiod-1-10-0");
    assert.equal(hpa?.spec.maxReplicas, 5);
    assert.equal(hpa?.spec.scaleTargetRef.name, "istiod-1-10-0");
  });
});
