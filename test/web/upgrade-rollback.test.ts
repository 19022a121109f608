// Roll back mid-way by clicking, in real headless Chromium with the engine running (issue 6
// acceptance): approval PerWave stops after each wave; Done releases exactly the next one; a read-only
// token sees every button disabled with Kubernetes' reason (and the API answers 403); Rollback, confirmed,
// takes the mesh back to the old revision: RolledBack, shown on the pipeline's cancel path, live.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { loginApi } from "../server/api-client.js";
import {
  SOURCE,
  STAGE_WAIT,
  TARGET,
  WAIT,
  buttons,
  fillStartForm,
  login,
  logout,
  startUpgradeConsole,
  waitForStage,
  type UpgradeConsole,
} from "./upgrade-harness.js";

const NAME = "to-1-28-10";

describe("rolling back mid-way, clicked in the console", { timeout: 240_000 }, () => {
  let u: UpgradeConsole;
  let page: Page;

  const rest = <T = any>(path: string) => u.admin.rest.requestJson<T>({ path });
  const waveState = (page: Page, index: number, state: string) =>
    page.waitForFunction(
      ([i, s]) =>
        document
          .querySelector(`[data-testid="waves-table"] [data-key="wave-${i}"] [data-col="state"]`)
          ?.textContent?.includes(s as string),
      [index, state] as const,
      STAGE_WAIT,
    );

  before(async () => {
    u = await startUpgradeConsole();
    page = u.page;
  });
  after(async () => {
    await u?.close();
  });

  test("approval PerWave: the engine stops after wave 1; Done is the only way on, and releases exactly one wave", async () => {
    await login(page, u.server.url, u.tokens.admin, "/upgrades/new");
    await page.getByTestId("start-upgrade-form").waitFor(WAIT);
    await fillStartForm(page, { waves: "3", approval: "PerWave" });
    await page.getByTestId("start-submit").click();
    await page.locator(`[data-testid="upgrade-detail"][data-name="${NAME}"]`).waitFor(WAIT);
    await waveState(page, 0, "WaitingForApproval");
    const waiting = await buttons(page);
    assert.equal(waiting.done.enabled, true, JSON.stringify(waiting.done));
    assert.match(waiting.done.text, /wave 1\/\d+ is done and verified: start wave 2/);
    assert.equal(waiting.resume.enabled, false);
    assert.equal(waiting.rollback.enabled, true);
    assert.equal(waiting.cancel.enabled, true);
    await page.getByTestId("action-done").click();
    await waveState(page, 0, "Done");
    await waveState(page, 1, "WaitingForApproval");
    const states = await page
      .locator('[data-testid="waves-table"] [data-col="state"]')
      .evaluateAll((cells) => cells.map((c) => c.textContent));
    assert.deepEqual(
      states.slice(2),
      states.slice(2).map(() => "Pending"),
      "no wave after 2 began",
    );
    await u.browser.screenshot("14-per-wave-approval");
  });

  test("the read-only token cannot act: every button disabled with Kubernetes' reason, and the API answers 403", async () => {
    await logout(page);
    await login(page, u.server.url, u.tokens.viewer, `/upgrades/${NAME}`);
    await page.locator(`[data-testid="upgrade-detail"][data-name="${NAME}"]`).waitFor(WAIT);
    const b = await buttons(page);
    for (const a of ["rollback", "pause", "resume", "done", "cancel"]) {
      assert.equal(b[a].enabled, false, a);
      assert.match(b[a].text, /user "viewer" to patch meshupgrades\.meshlift\.io/, a);
      assert.equal(b[a].title, b[a].text, `${a}: the reason is the title too`);
    }
    assert.equal(b.upgrade.enabled, false);
    assert.match(b.upgrade.text, /user "viewer" to create meshupgrades\.meshlift\.io/);
    assert.equal(await page.getByTestId("upgrade-selected").isDisabled(), true);
    assert.match(await page.getByTestId("upgrade-selected-why").innerText(), /patch deployments\.apps/);
    await u.browser.screenshot("15-viewer-upgrade");

    const viewer = await loginApi(u.server.url, u.tokens.viewer);
    for (const action of ["Rollback", "Done", "Pause"]) {
      const r = await viewer.call("POST", `/api/upgrades/${NAME}/action`, { action });
      assert.equal(r.status, 403, `${action}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error.message, /User "viewer" cannot patch/);
    }
    const mu = await rest(`/apis/meshlift.io/v1alpha1/meshupgrades/${NAME}`);
    assert.equal(mu.status.stage, "DataPlaneUpgrade");
    assert.notEqual(mu.spec.action, "Rollback");
  });

  test("Rollback, confirmed: RollingBack, then RolledBack on the cancel path, every proxy back on the old revision", async () => {
    await logout(page);
    await login(page, u.server.url, u.tokens.admin, `/upgrades/${NAME}`);
    await page.locator(`[data-testid="upgrade-detail"][data-name="${NAME}"]`).waitFor(WAIT);
    await page.evaluate(() => ((window as any).__sameDocument = true));
    await page.getByTestId("action-rollback").click();
    await page.getByTestId("rollback-confirm").waitFor(WAIT);
    assert.match(
      await page.getByTestId("rollback-confirm").innerText(),
      /Every namespace and workload goes back to 1-27-9/,
    );
    await page.getByTestId("rollback-go").click();
    await waitForStage(page, ["RollingBack", "NewControlPlaneOffline", "RolledBack"]);
    const during = await buttons(page);
    assert.equal(during.pause.enabled, false);
    await waitForStage(page, "RolledBack");
    const step = (stage: string) =>
      page.locator(`[data-testid="pipeline-step"][data-stage="${stage}"]`).getAttribute("data-state");
    assert.equal(await page.getByTestId("pipeline").getAttribute("data-cancelled"), "true");
    assert.equal(await step("RollingBack"), "done");
    assert.equal(await step("RolledBack"), "done");
    assert.equal(await step("DataPlaneUpgrade"), "skipped");
    assert.equal(await step("OldControlPlaneOffline"), "skipped");
    const finished = await buttons(page);
    for (const a of ["rollback", "pause", "resume", "done", "cancel"]) {
      assert.equal(finished[a].enabled, false, a);
      assert.match(finished[a].text, /the upgrade has finished \(RolledBack\)/, a);
    }
    const rollback = page.locator('[data-testid="history-entry"][data-action="action Rollback"]');
    assert.match(await rollback.first().innerText(), /by console\/admin/);
    assert.equal(await page.evaluate(() => (window as any).__sameDocument), true, "the page was never reloaded");
    await u.browser.screenshot("16-rolled-back");

    const pods = (await rest("/api/v1/pods")).items as any[];
    const revisions = new Set(
      pods
        .filter((p) => !["Succeeded", "Failed"].includes(p.status?.phase))
        .map((p) => p.metadata.annotations?.["istio.io/rev"])
        .filter(Boolean),
    );
    assert.deepEqual([...revisions], [SOURCE], "every proxy runs the old revision again");
    const istiods = (await rest("/apis/apps/v1/namespaces/istio-system/deployments")).items.map(
      (d: any) => d.metadata.name,
    );
    assert.ok(!istiods.includes(`istiod-${TARGET.revision}`), `the new istiod is removed: ${istiods.join(", ")}`);
    assert.deepEqual(
      u.browser.consoleLines.filter((l) => l.startsWith("pageerror")),
      [],
      "no script errors in the page",
    );
  });
});
