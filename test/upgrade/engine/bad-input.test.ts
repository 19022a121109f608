// Bad input is refused with a clear reason and changes nothing (issue 4 acceptance, DESIGN invariant 6):
// an unknown or invalid target, an unsupported path, a missing namespace, malformed waves, a second
// upgrade while one is active, and an action that conflicts with the stage. Each refusal is read from the
// MeshUpgrade's conditions and message; "changes nothing" from the sandbox's request log: the only write
// after the MeshUpgrade is created is its own status.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { MeshUpgradeSpecInput, MeshUpgradeStatus } from "../../../src/upgrade/api/schema.js";
import { startHarness, TARGET, type Harness } from "./harness.js";
import { RequestWindow, describeRequest, isOwnStatusWrite } from "./support.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

/** Reconciles `name` twice; returns its status and every write other than its own status. */
async function reconcileTwice(name: string, window: RequestWindow) {
  await h.reconciler.reconcile(name);
  const result = await h.reconciler.reconcile(name);
  const status = result!.upgrade.status as MeshUpgradeStatus;
  return {
    status,
    otherWrites: window
      .writes()
      .filter((r) => !isOwnStatusWrite(r, name))
      .map(describeRequest),
  };
}

async function refusedSpec(name: string, spec: MeshUpgradeSpecInput) {
  await h.create(name, spec);
  const window = new RequestWindow(h.sb);
  const { status, otherWrites } = await reconcileTwice(name, window);
  assert.deepEqual(otherWrites, [], "nothing but the MeshUpgrade's status was written");
  assert.equal(status.stage, "Failed", status.message);
  assert.match(status.message ?? "", /^refused, nothing was changed: /);
  const valid = status.conditions?.find((c) => c.type === "Valid");
  assert.equal(valid?.status, "False");
  assert.equal(status.plan, undefined, "no plan was made");
  assert.equal(status.installedObjects, undefined, "nothing was installed");
  return { status, valid: valid! };
}

const valid = (more: Partial<MeshUpgradeSpecInput> = {}): MeshUpgradeSpecInput => ({
  to: { version: TARGET.version },
  install: { mode: "Manifests" },
  ...more,
});

describe("refused specs", () => {
  test("an unknown target version", async () => {
    const { valid: c } = await refusedSpec("unknown-version", valid({ to: { version: "1.99.0" } }));
    assert.equal(c.reason, "InvalidSpec");
    assert.match(
      c.message,
      /spec\.to\.version: Istio 1\.99\.0 is not in the release catalog .*\(fix: .*meshlift versions/,
    );
  });

  test("an invalid target version", async () => {
    const { valid: c } = await refusedSpec("invalid-version", valid({ to: { version: "banana" } }));
    assert.equal(c.reason, "InvalidSpec");
    assert.match(c.message, /spec\.to\.version: .*banana.*\(fix: Give a released Istio version/);
  });

  test("an unsupported upgrade path (three minors ahead)", async () => {
    const { valid: c } = await refusedSpec("too-far", valid({ to: { version: "1.30.3" } }));
    assert.match(c.message, /spec\.to\.version: from revision 1-27-9: 1\.27\.9 → 1\.30\.3 crosses 3 minor versions/);
    assert.match(c.message, /fix: Upgrade in steps, one MeshUpgrade each: 1\.27\.9 → 1\.29\.6 → 1\.30\.3/);
  });

  test("a downgrade", async () => {
    const { valid: c } = await refusedSpec("downgrade", valid({ to: { version: "1.26.8" } }));
    assert.match(c.message, /1\.27\.9 → 1\.26\.8 is a downgrade/);
  });

  test("a namespace that does not exist", async () => {
    const { valid: c } = await refusedSpec(
      "missing-namespace",
      valid({ dataPlane: { namespaces: { names: ["bookinfo", "bookinf0-typo"] } } }),
    );
    assert.match(c.message, /spec\.dataPlane\.namespaces\.names\[1\]: namespace "bookinf0-typo" does not exist/);
  });

  test("malformed waves: a namespace in two waves, selected namespaces in none", async () => {
    const { valid: c } = await refusedSpec(
      "bad-waves",
      valid({ dataPlane: { waves: { explicit: [["bookinfo"], ["orders", "bookinfo"]] } } }),
    );
    assert.match(
      c.message,
      /spec\.dataPlane\.waves\.explicit\[1\]\[1\]: namespace "bookinfo" is in wave 0 and again in wave 1/,
    );
    assert.match(c.message, /spec\.dataPlane\.waves\.explicit: selected namespaces in no wave: .*online-boutique/);
  });

  test("malformed waves: an empty wave", async () => {
    const { valid: c } = await refusedSpec(
      "empty-wave",
      valid({ dataPlane: { waves: { explicit: [["bookinfo"], []] } } }),
    );
    assert.match(c.message, /spec\.dataPlane\.waves\.explicit\[1\]: wave 1 is empty/);
  });
});

describe("one upgrade at a time, and actions that do not fit the stage", () => {
  test("a second upgrade while one is active is refused, naming the first", async () => {
    // the first waits for the user to install the revision (Adopt): it holds the lock and writes nothing more
    await h.create("first", { to: { version: TARGET.version }, install: { mode: "Adopt" } });
    const first = await h.reconciler.reconcile("first");
    assert.equal(first!.stage, "ControlPlaneUpgrade");
    const { valid: c } = await refusedSpec("second", valid());
    assert.equal(c.reason, "ConcurrentUpgrade");
    assert.match(c.message, /"first"/);
  });

  test("Resume when not paused is refused, and the stage stays", async () => {
    const window = new RequestWindow(h.sb);
    await window.asUser(() => h.setAction("first", "Resume"));
    const { status, otherWrites } = await reconcileTwice("first", window);
    assert.deepEqual(otherWrites, [], "nothing but the MeshUpgrade's status was written");
    assert.equal(status.stage, "ControlPlaneUpgrade");
    assert.equal(status.acknowledgedAction?.action, "Resume");
    const accepted = status.conditions?.find((c) => c.type === "ActionAccepted");
    assert.equal(accepted?.status, "False");
    assert.equal(accepted?.reason, "ActionRefused");
    assert.match(accepted?.message ?? "", /^Resume: the upgrade is not paused \(stage ControlPlaneUpgrade\)/);
    const refusal = status.history?.find((e) => e.action === "action Resume");
    assert.match(refusal?.reason ?? "", /^refused: /);
  });

  test("Rollback of a finished upgrade is refused", async () => {
    const window = new RequestWindow(h.sb);
    await window.asUser(() => h.setAction("second", "Rollback"));
    const { status, otherWrites } = await reconcileTwice("second", window);
    assert.deepEqual(otherWrites, []);
    assert.equal(status.stage, "Failed");
    const accepted = status.conditions?.find((c) => c.type === "ActionAccepted");
    assert.equal(accepted?.reason, "ActionRefused");
    assert.match(accepted?.message ?? "", /Rollback: the upgrade has finished \(Failed\)/);
  });
});
