// A full upgrade by clicking, in real headless Chromium, with the engine running (issue 6 acceptance):
// the start form refuses bad input with the server's words and creates nothing; the plan preview shows
// the waves; Start; the Upgrade page follows the stages and waves live, without a reload; the
// stragglers dialog opens before offline with the demo's stragglers and a pod created with kubectl on
// the old revision after the switch; they are handled; Done; Completed. Screenshots of each page go to
// test-artifacts/console/.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { kubectl } from "../helpers/kubectl.js";
import {
  SOURCE,
  STAGE_WAIT,
  TARGET,
  WAIT,
  buttons,
  fillStartForm,
  login,
  startUpgradeConsole,
  stragglerRows,
  waitForStage,
  type UpgradeConsole,
} from "./upgrade-harness.js";

const NAME = "to-1-28-10";
const LATE_POD = "late-client";

describe("a full upgrade, clicked through in the console", { timeout: 240_000 }, () => {
  let u: UpgradeConsole;
  let page: Page;

  const rest = <T = any>(path: string, method?: "DELETE") =>
    u.admin.rest.requestJson<T>({ path, method, query: method ? { gracePeriodSeconds: "0" } : undefined });
  const text = (testId: string) => page.getByTestId(testId).first().innerText();

  before(async () => {
    u = await startUpgradeConsole();
    page = u.page;
  });
  after(async () => {
    await u?.close();
  });

  test("the start form: bad input shows the server's field errors and creates nothing; the preview shows the plan", async () => {
    await login(page, u.server.url, u.tokens.admin, "/upgrades");
    await page.getByTestId("start-upgrade").click();
    await page.getByTestId("start-upgrade-form").waitFor(WAIT);
    await page.locator('[data-testid="start-offer"][data-version="1.28.10"]').waitFor(WAIT);
    await fillStartForm(page, { waves: "5", approval: "BeforeOffline" });
    assert.match(await text("start-compat"), /Kubernetes 1\.31 is supported by Istio 1\.28/);

    await page.getByTestId("start-concurrency").fill("0");
    await page.getByTestId("start-preview").click();
    await page.locator('[data-testid="plan-preview"][data-valid="false"]').waitFor(WAIT);
    assert.match(await text("plan-errors"), /spec\.dataPlane\.maxConcurrent: number 0 is below the minimum 1/);
    assert.equal(
      await page.locator('[data-testid="field-error"][data-field="spec.dataPlane.maxConcurrent"]').count(),
      1,
      "the refusal is shown at its input",
    );
    await page.getByTestId("start-submit").click();
    await page.getByTestId("start-error").waitFor(WAIT);
    assert.match(await text("start-error"), /maxConcurrent/);
    await page.getByTestId("start-waves").selectOption("explicit");
    await page.getByTestId("start-wave-explicit").fill("bookinfo;;bookinfo");
    await page.getByTestId("start-concurrency").fill("10");
    await page.getByTestId("start-preview").click();
    await page.locator('[data-testid="plan-preview"][data-valid="false"]').waitFor(WAIT);
    assert.match(await text("plan-errors"), /spec\.dataPlane\.waves\.explicit/);
    assert.deepEqual((await rest("/apis/meshlift.io/v1alpha1/meshupgrades")).items, [], "nothing was created");

    await page.getByTestId("start-waves").selectOption("size");
    await page.getByTestId("start-wave-size").fill("5");
    await page.getByTestId("start-preview").click();
    const preview = page.locator('[data-testid="plan-preview"][data-valid="true"]');
    await preview.waitFor(WAIT);
    assert.match(await text("plan-summary"), /1-27-9 \(1\.27\.9\) → 1-28-10 \(1\.28\.10\), a minor upgrade: 3 waves/);
    assert.match(await text("plan-dry-run"), /Kubernetes would create it/);
    const firstWave = await page
      .locator('[data-testid="plan-wave"][data-index="0"] [data-testid="plan-namespace"]')
      .evaluateAll((els) => els.map((e) => e.getAttribute("data-name")));
    assert.equal(firstWave.length, 5);
    assert.match(await text("plan-not-moved"), /Pod tools\/netshoot/);
    await u.browser.screenshot("10-start-preview");
    assert.deepEqual((await rest("/apis/meshlift.io/v1alpha1/meshupgrades")).items, [], "a preview creates nothing");
  });

  test("Start: the Upgrade page follows the stages and waves live, without a reload", async () => {
    await page.getByTestId("start-submit").click();
    await page.locator(`[data-testid="upgrade-detail"][data-name="${NAME}"]`).waitFor(WAIT);
    await page.evaluate(() => ((window as any).__sameDocument = true));
    await waitForStage(page, "DataPlaneUpgrade");
    const step = (stage: string) => page.locator(`[data-testid="pipeline-step"][data-stage="${stage}"]`);
    assert.equal(await step("ControlPlaneUpgrade").getAttribute("data-state"), "done");
    assert.equal(await step("DataPlaneUpgrade").getAttribute("data-state"), "current");
    const b = await buttons(page);
    assert.equal(b.rollback.enabled, true, JSON.stringify(b.rollback));
    assert.equal(b.pause.enabled, true);
    assert.equal(b.resume.enabled, false);
    assert.match(b.resume.text, /the upgrade is not paused \(stage DataPlaneUpgrade\)/);
    assert.equal(b.resume.title, b.resume.text, "the reason is the button's title too");
    assert.equal(b.upgrade.enabled, false);
    assert.match(b.upgrade.text, new RegExp(`MeshUpgrade ${NAME} is active`));
    // the first wave finishes while the page watches
    await page.waitForFunction(
      () =>
        document
          .querySelector('[data-testid="waves-table"] [data-key="wave-0"] [data-col="state"]')
          ?.textContent?.includes("Done"),
      undefined,
      STAGE_WAIT,
    );
    await page.locator('[data-testid="gate"][data-wave="0"][data-phase="Passed"]').waitFor(WAIT);
    assert.equal(
      await page
        .locator('[data-testid="gate"][data-wave="0"] [data-testid="gate-health"]')
        .getAttribute("data-verdict"),
      "Pass",
    );
    await page.getByTestId("gateways-panel").waitFor(WAIT);
    await u.browser.screenshot("11-upgrade-waves");
    assert.equal(await page.evaluate(() => (window as any).__sameDocument), true, "the page was not reloaded");
  });

  test("the stragglers dialog opens before offline and lists the demo's stragglers and a pod created with kubectl after the switch", async () => {
    const dialog = page.getByTestId("stragglers-dialog");
    await dialog.waitFor(STAGE_WAIT);
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="stragglers-dialog"]')?.getAttribute("data-count")) >= 3,
      undefined,
      STAGE_WAIT,
    );
    const listed = await stragglerRows(page);
    for (const s of [
      "Pod tools/netshoot",
      "Deployment legacy-billing/billing-api",
      "Deployment legacy-billing/invoice-renderer",
    ])
      assert.ok(listed.includes(s), `${s} in ${listed.join(", ")}`);
    const netshoot = dialog.locator('[data-testid="straggler"][data-name="netshoot"]');
    assert.match(await netshoot.innerText(), /injected by revision 1-27-9/);
    assert.match(await netshoot.getByTestId("straggler-action").innerText(), /kubectl delete pod netshoot -n tools/);

    // a pod on the old revision after every namespace switched: monitoring has no injection label, so the
    // pod's own istio.io/rev selects the old revision's injector
    const run = await kubectl("kubectl", u.sb.kubeconfigPath, [
      "run",
      LATE_POD,
      "-n",
      "monitoring",
      "--image=docker.io/curlimages/curl:8.10.1",
      `--labels=istio.io/rev=${SOURCE}`,
      "--",
      "sleep",
      "infinity",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const late = dialog.locator(`[data-testid="straggler"][data-name="${LATE_POD}"]`);
    await late.waitFor(STAGE_WAIT);
    assert.equal(await late.getAttribute("data-namespace"), "monitoring");
    assert.match(await late.innerText(), /injected by revision 1-27-9/);
    // Done waits until no proxy runs the old revision
    assert.equal(await page.getByTestId("stragglers-done").isDisabled(), true);
    assert.match(await text("stragglers-done-why"), /still run 1-27-9/);
    assert.equal(await page.getByTestId("action-done").isDisabled(), true);
    await u.browser.screenshot("12-stragglers");
  });

  test("the stragglers handled, Done takes the old revision offline: Completed", async () => {
    await rest(`/api/v1/namespaces/monitoring/pods/${LATE_POD}`, "DELETE");
    await rest("/api/v1/namespaces/tools/pods/netshoot", "DELETE");
    await rest("/apis/apps/v1/namespaces/legacy-billing/deployments/billing-api", "DELETE");
    await rest("/apis/apps/v1/namespaces/legacy-billing/deployments/invoice-renderer", "DELETE");
    await page.getByTestId("stragglers-none").waitFor(STAGE_WAIT);
    // approval BeforeOffline: the engine waits for Done; the dialog confirms what it means
    await page.waitForFunction(
      () => !(document.querySelector('[data-testid="action-done"]') as HTMLButtonElement | null)?.disabled,
      undefined,
      STAGE_WAIT,
    );
    assert.match(await text("action-done-does"), /take 1-27-9 offline \(no rollback after this\)/);
    await page.getByTestId("stragglers-close").click();
    await page.getByTestId("action-done").click();
    await page.getByTestId("stragglers-dialog").waitFor(WAIT);
    assert.equal(await page.getByTestId("stragglers-dialog").getAttribute("data-count"), "0");
    await page.getByTestId("stragglers-done").click();
    await waitForStage(page, ["OldControlPlaneOffline", "Completed"]);
    const b = await buttons(page);
    assert.equal(b.rollback.enabled, false);
    await waitForStage(page, "Completed");
    for (const stage of ["Prechecking", "ControlPlaneUpgrade", "DataPlaneUpgrade", "OldControlPlaneOffline"])
      assert.equal(
        await page.locator(`[data-testid="pipeline-step"][data-stage="${stage}"]`).getAttribute("data-state"),
        "done",
        stage,
      );
    const finished = await buttons(page);
    for (const a of ["rollback", "pause", "resume", "done", "cancel"]) {
      assert.equal(finished[a].enabled, false, a);
      assert.match(finished[a].text, /the upgrade has finished \(Completed\)/, a);
    }
    assert.equal(finished.upgrade.enabled, true, "another upgrade may start");
    const proceed = page.locator('[data-testid="history-entry"][data-action="action Proceed"]');
    assert.match(await proceed.first().innerText(), /by console\/admin/);
    assert.equal(await page.evaluate(() => (window as any).__sameDocument), true, "the page was never reloaded");
    const mu = await rest(`/apis/meshlift.io/v1alpha1/meshupgrades/${NAME}`);
    assert.equal(mu.status.stage, "Completed");
    const istiods = (await rest("/apis/apps/v1/namespaces/istio-system/deployments")).items.map(
      (d: any) => d.metadata.name,
    );
    assert.ok(!istiods.includes(`istiod-${SOURCE}`), `the old istiod is gone: ${istiods.join(", ")}`);
    assert.ok(istiods.includes(`istiod-${TARGET.revision}`));
    await u.browser.screenshot("13-completed");
    assert.deepEqual(
      u.browser.consoleLines.filter((l) => l.startsWith("pageerror")),
      [],
      "no script errors in the page",
    );
  });
});
