// The console's Upgrade API on the demo mesh, without an engine (the test writes the status the engine
// would): the plan preview validates, prechecks, plans and dry-runs a create with the user's token and
// creates nothing; every action is refused with the engine's guard's reason (409) exactly when the guard
// says so, a read-only user gets Kubernetes' 403 first, and the verdicts travel with each upgrade, also
// on the live stream; Manual mode's "Upgrade selected" adds to spec.dataPlane.restartSelected.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { MeshUpgradeObject, PlanPreview } from "../../src/server/index.js";
import { MANIFESTS_REVISION_LABEL } from "../../src/upgrade/api/validate.js";
import { loginApi, type ApiUser } from "./api-client.js";
import { openEvents, startConsoleHarness, type ConsoleHarness } from "./console-harness.js";

const MU = "/apis/meshlift.io/v1alpha1/meshupgrades";
const AT = "2026-11-22T10:00:00Z";

describe("the Upgrade API on the demo mesh", () => {
  let h: ConsoleHarness;
  let admin: ApiUser;
  let viewer: ApiUser;

  const meshUpgrades = async () => (await h.admin.rest.requestJson<any>({ path: MU })).items as any[];
  const setStatus = (name: string, status: Record<string, unknown>) =>
    h.admin.rest.requestJson({
      method: "PATCH",
      path: `${MU}/${name}/status`,
      contentType: "application/merge-patch+json",
      body: { status },
    });
  const setSpec = (name: string, spec: Record<string, unknown>) =>
    h.admin.rest.requestJson({
      method: "PATCH",
      path: `${MU}/${name}`,
      contentType: "application/merge-patch+json",
      body: { spec },
    });
  /** the console's copy, once its cache has seen `ready` */
  async function consoleCopy(name: string, ready: (u: MeshUpgradeObject) => boolean): Promise<MeshUpgradeObject> {
    const until = Date.now() + 5_000;
    for (;;) {
      const r = await admin.call<MeshUpgradeObject>("GET", `/api/upgrades/${name}`);
      if (r.status === 200 && ready(r.body)) return r.body;
      if (Date.now() > until) throw new Error(`the console's copy of ${name} never matched: ${JSON.stringify(r.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  before(async () => {
    h = await startConsoleHarness();
    admin = await loginApi(h.server.url, h.tokens.admin);
    viewer = await loginApi(h.server.url, h.tokens.viewer);
  });
  after(async () => {
    await h?.stop();
  });

  test("the plan preview: waves → namespaces → workloads, gateways, what no wave moves, prechecks, a dry-run create; nothing is created", async () => {
    const r = await admin.call<PlanPreview>("POST", "/api/upgrades?dryRun=true", {
      spec: { to: { version: "1.28" }, dataPlane: { waves: { size: 4 }, canary: ["bookinfo"] } },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const p = r.body;
    assert.equal(p.valid, true, JSON.stringify(p.errors));
    assert.equal(p.name, "to-1-28-10");
    assert.deepEqual(p.to, { revision: "1-28-10", version: "1.28.10" });
    assert.deepEqual(p.from, { revision: "1-27-9", version: "1.27.9" });
    assert.deepEqual(p.dryRun, { ok: true, status: 201, message: "Kubernetes would create it" });
    // the canary first, alone; then groups of four
    assert.deepEqual(
      p.waves[0].namespaces.map((n) => n.name),
      ["bookinfo"],
    );
    const bookinfo = p.waves[0].namespaces[0].workloads.map((w) => w.name);
    assert.ok(bookinfo.includes("productpage-v1") && bookinfo.includes("reviews-v2"), bookinfo.join());
    for (const wave of p.waves.slice(1, -1)) assert.ok(wave.namespaces.length <= 4);
    const gateways = p.waves.flatMap((w) => w.gateways);
    assert.ok(
      gateways.some((g) => g.gateway === "injected"),
      `an injected gateway is planned: ${JSON.stringify(gateways)}`,
    );
    const notMoved = p.notMoved.map((w) => `${w.kind} ${w.namespace}/${w.name}`);
    for (const straggler of [
      "Pod tools/netshoot",
      "Deployment legacy-billing/billing-api",
      "Deployment legacy-billing/invoice-renderer",
    ])
      assert.ok(notMoved.includes(straggler), `${straggler} in ${notMoved.join(", ")}`);
    assert.match(p.notMoved.find((w) => w.name === "netshoot")!.why, /pod without a controller/);
    assert.ok(p.findings.some((f) => f.id === "namespace-injection-label-conflict"));
    assert.equal(p.counts.errors, 0);
    assert.deepEqual(await meshUpgrades(), [], "a preview creates nothing");
  });

  test("a preview of bad input lists every refused field and creates nothing; the viewer's preview shows Kubernetes' refusal", async () => {
    const zero = await admin.call<PlanPreview>("POST", "/api/upgrades?dryRun=true", {
      spec: { to: { version: "1.28" }, dataPlane: { maxConcurrent: 0 } },
    });
    assert.equal(zero.status, 200);
    assert.equal(zero.body.valid, false);
    assert.deepEqual(
      zero.body.errors.map((e) => e.field),
      ["spec.dataPlane.maxConcurrent"],
    );
    const waves = await admin.call<PlanPreview>("POST", "/api/upgrades?dryRun=true", {
      spec: { to: { version: "1.28" }, dataPlane: { waves: { explicit: [["bookinfo"], [], ["bookinfo"]] } } },
    });
    assert.equal(waves.body.valid, false);
    const fields = waves.body.errors.map((e) => e.field);
    assert.ok(
      fields.length >= 2 && fields.every((f) => f.startsWith("spec.dataPlane.waves.explicit")),
      `the empty wave and the namespace in two waves: ${fields.join()}`,
    );
    assert.ok([...zero.body.errors, ...waves.body.errors].every((e) => e.message && e.fix));
    const unknown = await admin.call<PlanPreview>("POST", "/api/upgrades?dryRun=true", {
      spec: { to: { version: "9.99" } },
    });
    assert.equal(unknown.body.valid, false);
    assert.match(unknown.body.errors[0].field, /^spec\.to\.version/);
    assert.equal(unknown.body.dryRun, null);

    const asViewer = await viewer.call<PlanPreview>("POST", "/api/upgrades?dryRun=true", {
      spec: { to: { version: "1.28" } },
    });
    assert.equal(asViewer.status, 200);
    assert.equal(asViewer.body.valid, false);
    assert.equal(asViewer.body.dryRun?.ok, false);
    assert.equal(asViewer.body.dryRun?.status, 403);
    assert.match(asViewer.body.dryRun!.message, /User "viewer" cannot create/);
    assert.ok(asViewer.body.waves.length > 0, "the plan is still shown");
    assert.deepEqual(await meshUpgrades(), []);
  });

  test("Manifests mode needs the target's manifests: refused until a ConfigMap labelled for the revision appears", async () => {
    const body = { spec: { to: { version: "1.28.10" }, install: { mode: "Manifests" } } };
    const before = await admin.call<PlanPreview>("POST", "/api/upgrades?dryRun=true", body);
    assert.ok(
      before.body.errors.some((e) => e.field === "spec.install.manifests.configMapRef"),
      JSON.stringify(before.body.errors),
    );
    await h.admin.rest.requestJson({
      method: "POST",
      path: "/api/v1/namespaces/istio-system/configmaps",
      body: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "istio-1-28-10-manifests", labels: { [MANIFESTS_REVISION_LABEL]: "1-28-10" } },
        data: { "manifests.yaml": "" },
      },
    });
    const until = Date.now() + 5_000;
    for (;;) {
      const options = await admin.call("GET", "/api/upgrade-options");
      if (options.body.manifestRevisions.includes("1-28-10")) break;
      assert.ok(Date.now() < until, `the console never saw the ConfigMap: ${JSON.stringify(options.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const afterwards = await admin.call<PlanPreview>("POST", "/api/upgrades?dryRun=true", body);
    assert.equal(afterwards.body.valid, true, JSON.stringify(afterwards.body.errors));
    const options = await admin.call("GET", "/api/upgrade-options");
    assert.equal(options.body.current, "1.27.9");
    assert.ok(options.body.offers.some((o: any) => o.version === "1.28.10" && o.kubernetes.status));
    assert.ok(options.body.tags.some((t: any) => t.name === "prod-stable"));
    assert.ok(options.body.namespaces.includes("bookinfo"));
  });

  test("every action follows the engine's guard: 409 with its reason when refused, the viewer's 403 first, verdicts on the live stream", async () => {
    const created = await admin.call("POST", "/api/upgrades", {
      name: "guarded",
      spec: { to: { version: "1.28" }, approval: { mode: "PerWave" } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const stream = await openEvents(h.server.url, viewer.cookie);
    try {
      await stream.waitFor((e) => e.type === "hello", 2_000);
      const wave = (states: string[]) => ({
        stage: "DataPlaneUpgrade",
        from: { revision: "1-27-9", version: "1.27.9" },
        to: { revision: "1-28-10", version: "1.28.10" },
        plan: { waves: states.map((_, index) => ({ index, namespaces: [`ns-${index}`], workloads: [] })) },
        progress: { waves: states.map((state, index) => ({ index, state })) },
      });
      await setStatus("guarded", wave(["Running", "Pending"]));
      const seen = await stream.waitFor(
        (e) => e.type === "upgrade" && e.object.status?.stage === "DataPlaneUpgrade" && !!e.object.console,
        3_000,
      );
      const actions = (seen.event as any).object.console.actions;
      assert.deepEqual(
        Object.entries(actions)
          .filter(([, v]: any) => v.allowed)
          .map(([k]) => k)
          .sort(),
        ["Cancel", "Pause", "Rollback"],
      );
      await consoleCopy("guarded", (u) => u.status?.stage === "DataPlaneUpgrade");

      const resume = await admin.call("POST", "/api/upgrades/guarded/action", { action: "Resume" });
      assert.equal(resume.status, 409);
      assert.equal(
        resume.body.error.message,
        "Resume is not possible now: the upgrade is not paused (stage DataPlaneUpgrade)",
      );
      const done = await admin.call("POST", "/api/upgrades/guarded/action", { action: "Done" });
      assert.equal(done.status, 409);
      assert.match(done.body.error.message, /no wave is waiting for approval/);
      const viewerPause = await viewer.call("POST", "/api/upgrades/guarded/action", { action: "Pause" });
      assert.equal(viewerPause.status, 403);
      assert.match(viewerPause.body.error.message, /User "viewer" cannot patch/);
      const viewerResume = await viewer.call("POST", "/api/upgrades/guarded/action", { action: "Resume" });
      assert.equal(viewerResume.status, 403, "Kubernetes' refusal comes before the guard's");
      assert.equal((await h.admin.rest.requestJson<any>({ path: `${MU}/guarded` })).spec.action, undefined);

      // a wave waits for approval: Done sets Proceed
      await setStatus("guarded", wave(["WaitingForApproval", "Pending"]));
      await consoleCopy("guarded", (u) => u.console?.approval?.kind === "wave");
      const approved = await admin.call<MeshUpgradeObject>("POST", "/api/upgrades/guarded/action", { action: "Done" });
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.spec.action, "Proceed");
      assert.equal(approved.body.metadata.annotations?.["meshlift.io/requested-by"], "admin");

      // Pause, not yet acknowledged: every other action waits for the engine to take it
      const paused = await admin.call<MeshUpgradeObject>("POST", "/api/upgrades/guarded/action", { action: "Pause" });
      assert.equal(paused.status, 200, JSON.stringify(paused.body));
      const nonce = paused.body.spec.actionNonce;
      await consoleCopy("guarded", (u) => u.console?.pendingAction?.action === "Pause");
      const early = await admin.call("POST", "/api/upgrades/guarded/action", { action: "Rollback" });
      assert.equal(early.status, 409);
      assert.match(early.body.error.message, /Pause was asked and the engine has not acknowledged it yet/);

      // the engine took it: paused; Resume and Cancel now
      await setStatus("guarded", {
        stage: "Paused",
        pausedFrom: "DataPlaneUpgrade",
        acknowledgedAction: { action: "Pause", nonce, at: AT },
      });
      await consoleCopy("guarded", (u) => u.status?.stage === "Paused" && u.console?.pendingAction === null);
      const again = await admin.call("POST", "/api/upgrades/guarded/action", { action: "Pause" });
      assert.equal(again.status, 409);
      assert.match(again.body.error.message, /already paused/);
      const cancel = await admin.call<MeshUpgradeObject>("POST", "/api/upgrades/guarded/action", { action: "Cancel" });
      assert.equal(cancel.status, 200);
      assert.equal(cancel.body.spec.action, "Rollback");

      // the old revision going offline: no rollback, whichever button asks
      await setStatus("guarded", {
        stage: "OldControlPlaneOffline",
        pausedFrom: null,
        acknowledgedAction: { action: "Rollback", nonce: cancel.body.spec.actionNonce, at: AT },
      });
      await consoleCopy("guarded", (u) => u.status?.stage === "OldControlPlaneOffline");
      for (const action of ["Rollback", "Cancel"]) {
        const r = await admin.call("POST", "/api/upgrades/guarded/action", { action });
        assert.equal(r.status, 409, action);
        assert.match(r.body.error.message, /the old revision 1-27-9 is being removed: rollback is no longer possible/);
      }
      const unknown = await admin.call("POST", "/api/upgrades/guarded/action", { action: "Explode" });
      assert.equal(unknown.status, 400);
      assert.match(unknown.body.error.message, /Proceed \| Rollback \| Pause \| Resume \| Done \| Cancel/);
      const missing = await admin.call("POST", "/api/upgrades/no-such/action", { action: "Pause" });
      assert.equal(missing.status, 404);
    } finally {
      stream.close();
    }
  });

  test("Upgrade selected: Manual mode adds the picked workloads to restartSelected; Automatic mode and strangers are refused", async () => {
    await setSpec("guarded", { dataPlane: { restart: "Automatic" } });
    await setStatus("guarded", {
      stage: "DataPlaneUpgrade",
      progress: {
        waves: [
          { index: 0, state: "Running" },
          { index: 1, state: "Pending" },
        ],
        workloads: [
          { kind: "Deployment", namespace: "bookinfo", name: "details-v1", wave: 0, state: "WaitingForUser" },
          { kind: "Deployment", namespace: "shop", name: "cart", wave: 1, state: "Pending" },
        ],
      },
    });
    await consoleCopy("guarded", (u) => u.status?.stage === "DataPlaneUpgrade");
    const pick = { workloads: [{ kind: "Deployment", namespace: "bookinfo", name: "details-v1" }] };
    const automatic = await admin.call("POST", "/api/upgrades/guarded/restart-selected", pick);
    assert.equal(automatic.status, 409);
    assert.match(automatic.body.error.message, /restarts workloads itself/);

    await setSpec("guarded", { dataPlane: { restart: "Manual" } });
    const first = await admin.call<MeshUpgradeObject>("POST", "/api/upgrades/guarded/restart-selected", pick);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const second = await admin.call<MeshUpgradeObject>("POST", "/api/upgrades/guarded/restart-selected", {
      workloads: [{ kind: "Deployment", namespace: "shop", name: "cart" }, pick.workloads[0]],
    });
    assert.deepEqual(second.body.spec.dataPlane.restartSelected, [
      { kind: "Deployment", namespace: "bookinfo", name: "details-v1" },
      { kind: "Deployment", namespace: "shop", name: "cart" },
    ]);
    const stranger = await admin.call("POST", "/api/upgrades/guarded/restart-selected", {
      workloads: [{ kind: "Deployment", namespace: "bookinfo", name: "not-planned" }],
    });
    assert.equal(stranger.status, 400);
    assert.match(stranger.body.error.message, /not in the plan of MeshUpgrade "guarded"/);
    const asViewer = await viewer.call("POST", "/api/upgrades/guarded/restart-selected", pick);
    assert.equal(asViewer.status, 403);
    const copy = await consoleCopy("guarded", (u) => (u.console?.restart.selected.length ?? 0) === 2);
    assert.equal(copy.console?.restart.mode, "Manual");
  });

  test("no token and no session id appears in any log line", () => {
    const secrets = [h.tokens.admin, h.tokens.viewer, admin.cookie.split("=")[1], viewer.cookie.split("=")[1]];
    for (const line of h.logs) for (const s of secrets) assert.ok(!line.includes(s), `a secret in: ${line}`);
  });
});
