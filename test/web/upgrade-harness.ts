// The console with the engine running: the demo sandbox (fast pod timing), the MeshUpgrade CRD, the
// rendered manifests of 1.28.10 in a ConfigMap labelled for its revision (what the demo stores, so the
// Manifests install mode finds them), the MeshUpgrade operator in-process, and the console; plus a
// browser and small helpers the Upgrade-page tests share.
import assert from "node:assert/strict";
import { pino } from "pino";
import { stringify } from "yaml";
import type { Page } from "playwright-core";
import { renderManifests } from "../../sandbox/render-cli.js";
import { builtinCatalog } from "../../src/catalog/index.js";
import { loadCluster, type Cluster } from "../../src/kube/config.js";
import { ensureConsoleBuilt } from "../../src/server/index.js";
import { MANIFESTS_REVISION_LABEL } from "../../src/upgrade/api/validate.js";
import { runUpgradeOperator, type UpgradeOperator } from "../../src/upgrade/engine/operator.js";
import { startConsoleHarness, type ConsoleHarness } from "../server/console-harness.js";
import { launchBrowser, type Browser } from "./browser.js";

export const TARGET = { version: "1.28.10", revision: "1-28-10" };
export const SOURCE = "1-27-9";
export const WAIT = { timeout: 15_000 };
/** an upgrade stage can take a while on a loaded machine */
export const STAGE_WAIT = { timeout: 90_000 };

export interface UpgradeConsole extends ConsoleHarness {
  operator: UpgradeOperator;
  operatorCluster: Cluster;
  operatorLogs: string[];
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

export async function startUpgradeConsole(): Promise<UpgradeConsole> {
  await ensureConsoleBuilt({ rebuildIfStale: true });
  const h = await startConsoleHarness();
  const objects = await renderManifests({ version: TARGET.version, revision: TARGET.revision });
  await h.admin.rest.requestJson({
    method: "POST",
    path: "/api/v1/namespaces/istio-system/configmaps",
    body: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: `istio-${TARGET.revision}-manifests`,
        labels: { [MANIFESTS_REVISION_LABEL]: TARGET.revision },
      },
      data: { "manifests.yaml": objects.map((o) => stringify(o)).join("---\n") },
    },
  });
  const operatorLogs: string[] = [];
  const operatorCluster = loadCluster({ kubeconfig: h.sb.kubeconfigPath, env: {} });
  const operator = await runUpgradeOperator({
    cluster: operatorCluster,
    catalog: builtinCatalog(),
    leaseNamespace: "default",
    http: { host: "127.0.0.1", port: 0 },
    logger: pino({ level: "info" }, { write: (line: string) => void operatorLogs.push(line) }),
    debounceMs: 100,
  });
  const browser = await launchBrowser();
  return {
    ...h,
    operator,
    operatorCluster,
    operatorLogs,
    browser,
    page: browser.page,
    async close() {
      await browser.close();
      await operator.stop();
      operatorCluster.close();
      await h.stop();
    },
  };
}

export async function login(page: Page, baseUrl: string, token: string, path = "/upgrades"): Promise<void> {
  await page.goto(baseUrl + path);
  await page.getByTestId("login-form").waitFor(WAIT);
  await page.getByTestId("token").fill(token);
  await page.getByTestId("login-submit").click();
  await page.getByTestId("user").waitFor(WAIT);
}

export async function logout(page: Page): Promise<void> {
  await page.getByTestId("logout").click();
  await page.getByTestId("login-form").waitFor(WAIT);
}

/** Waits until the Upgrade page shows `stage` (from the live stream: the page is never reloaded). */
export async function waitForStage(
  page: Page,
  stage: string | string[],
  timeout = STAGE_WAIT.timeout,
): Promise<string> {
  const stages = Array.isArray(stage) ? stage : [stage];
  const handle = await page.waitForFunction(
    (wanted) => {
      const s = document.querySelector('[data-testid="upgrade-detail"]')?.getAttribute("data-stage");
      return s && (wanted.includes(s) || s === "Failed") ? s : null;
    },
    stages,
    { timeout, polling: 100 },
  );
  const reached = (await handle.jsonValue()) as string;
  if (reached === "Failed" && !stages.includes("Failed")) {
    const message = await page
      .getByTestId("upgrade-message")
      .innerText()
      .catch(() => "");
    assert.fail(`the upgrade Failed while waiting for ${stages.join("/")}: ${message}`);
  }
  return reached;
}

/** The enabled/disabled state of each action button and the reason shown beside it. */
export async function buttons(page: Page): Promise<Record<string, { enabled: boolean; text: string; title: string }>> {
  const out: Record<string, { enabled: boolean; text: string; title: string }> = {};
  for (const a of ["upgrade", "rollback", "pause", "resume", "done", "cancel"]) {
    const button = page.getByTestId(`action-${a}`);
    const enabled = await button.isEnabled();
    const why = page.getByTestId(enabled ? `action-${a}-does` : `action-${a}-why`);
    out[a] = { enabled, text: await why.innerText(), title: (await button.getAttribute("title")) ?? "" };
  }
  return out;
}

/** Every straggler row of the dialog: "Kind namespace/name". */
export async function stragglerRows(page: Page): Promise<string[]> {
  return page
    .locator('[data-testid="stragglers-dialog"] [data-testid="straggler"]')
    .evaluateAll((rows) =>
      rows.map(
        (r) => `${r.getAttribute("data-kind")} ${r.getAttribute("data-namespace")}/${r.getAttribute("data-name")}`,
      ),
    );
}

/** Fills the start form for 1.28.10 in the Manifests mode with a fast health gate. */
export async function fillStartForm(
  page: Page,
  fields: { waves: string; approval: string; maxConcurrent?: string; grace?: string },
): Promise<void> {
  await page.getByTestId("start-version").fill(TARGET.version);
  // the demo stores the target's manifests: the form picks the Manifests mode by itself
  await page.waitForFunction(
    () => (document.querySelector('[data-testid="start-mode"]') as HTMLSelectElement | null)?.value === "Manifests",
    undefined,
    WAIT,
  );
  await page.getByTestId("start-waves").selectOption("size");
  await page.getByTestId("start-wave-size").fill(fields.waves);
  await page.getByTestId("start-concurrency").fill(fields.maxConcurrent ?? "10");
  await page.getByTestId("start-approval").selectOption(fields.approval);
  await page.getByTestId("start-min-ready").fill("0");
  await page.getByTestId("start-grace").fill(fields.grace ?? "1");
}
