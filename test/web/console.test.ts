// The console in real headless Chromium against the demo sandbox: log in, the overview matches the
// cluster, cluster changes appear without a reload, the precheck lists the demo's findings, forms
// show the server's errors, and a read-only user sees disabled actions with the reason. Screenshots
// of each page go to test-artifacts/console/.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { ensureConsoleBuilt } from "../../src/server/index.js";
import { startConsoleHarness, type ConsoleHarness } from "../server/console-harness.js";
import { launchBrowser, type Browser } from "./browser.js";

const WAIT = { timeout: 10_000 };

describe("the console in Chromium", () => {
  let h: ConsoleHarness;
  let browser: Browser;
  let page: Page;

  const rest = <T = any>(path: string, init: { method?: "PATCH" | "POST"; body?: unknown; merge?: boolean } = {}) =>
    h.admin.rest.requestJson<T>({
      path,
      method: init.method,
      body: init.body,
      contentType: init.merge ? "application/merge-patch+json" : undefined,
    });
  const text = (testId: string) => page.getByTestId(testId).first().innerText();

  async function loginAs(token: string) {
    await page.getByTestId("token").fill(token);
    await page.getByTestId("login-submit").click();
    // the page asked for before logging in comes back: wait for the shell, not a particular page
    await page.getByTestId("user").waitFor(WAIT);
  }

  before(async () => {
    await ensureConsoleBuilt({ rebuildIfStale: true });
    h = await startConsoleHarness();
    browser = await launchBrowser();
    page = browser.page;
  });
  after(async () => {
    await browser?.close();
    await h?.stop();
  });

  test("the login page refuses a wrong token with the server's reason, then logs the admin in", async () => {
    await page.goto(h.server.url);
    await page.getByTestId("login-form").waitFor(WAIT);
    await browser.screenshot("01-login");
    await page.getByTestId("token").fill("wrong-token-0123456789abcdef");
    await page.getByTestId("login-submit").click();
    await page.getByTestId("login-error").waitFor(WAIT);
    assert.match(await text("login-error"), /Kubernetes rejected this token/);
    await loginAs(h.tokens.admin);
    await page.getByTestId("overview").waitFor(WAIT);
    assert.equal(await text("user"), "admin");
    assert.ok(!page.url().includes(h.tokens.admin), "the token is never in the URL");
    const cookies = await browser.context.cookies();
    assert.deepEqual(
      cookies.map((c) => [c.name, c.httpOnly, c.sameSite]),
      [["meshlift_session", true, "Strict"]],
    );
    assert.equal(await page.evaluate(() => document.cookie), "", "page scripts cannot read the session cookie");
  });

  test("the overview matches the sandbox: revision 1-27-9 (1.27.9, tag prod-stable), namespace and proxy counts", async () => {
    const card = page.locator('[data-testid="revision-card"][data-revision="1-27-9"]');
    await card.waitFor(WAIT);
    assert.equal(await card.getByTestId("revision-version").innerText(), "1.27.9");
    assert.match(await card.getByTestId("revision-tags").innerText(), /prod-stable/);

    const namespaces = (await rest("/api/v1/namespaces")).items as unknown[];
    const pods = (await rest("/api/v1/pods")).items as any[];
    const proxies = pods.filter(
      (p) =>
        !["Succeeded", "Failed"].includes(p.status?.phase) &&
        [...(p.spec.containers ?? []), ...(p.spec.initContainers ?? [])].some((c: any) => c.name === "istio-proxy"),
    ).length;
    assert.equal(await page.getByTestId("total-namespaces").getAttribute("data-count"), String(namespaces.length));
    const table = page.getByTestId("namespaces-table");
    await page.waitForFunction(
      (n) => document.querySelector('[data-testid="namespaces-table"]')?.getAttribute("data-total") === String(n),
      namespaces.length,
      WAIT,
    );
    assert.equal(await table.getAttribute("data-total"), String(namespaces.length));
    assert.equal(await page.getByTestId("total-proxies").getAttribute("data-count"), String(proxies));
    assert.equal(await card.getByTestId("revision-proxies").innerText(), String(proxies));
    const bar = page.locator('[data-testid="chart-bar"][data-version="1.27.9"]');
    assert.equal(await bar.getAttribute("data-count"), String(proxies));
    assert.match(await text("version-banner"), /New version available/);
    const crm = table.locator('[data-key="legacy-crm"]');
    assert.match(
      await crm.locator('[data-col="label"]').innerText(),
      /istio-injection=enabled, istio\.io\/rev=prod-stable/,
    );
    await crm.getByTestId("ns-conflict").waitFor(WAIT);
    await browser.screenshot("02-overview");
  });

  test("a namespace relabelled in the cluster changes its row without a reload", async () => {
    await page.evaluate(() => ((window as any).__sameDocument = true));
    const row = page.locator('[data-testid="namespaces-table"] [data-key="monitoring"]');
    assert.equal(await row.locator('[data-col="revision"]').innerText(), "per pod");
    const changedAt = Date.now();
    await rest("/api/v1/namespaces/monitoring", {
      method: "PATCH",
      merge: true,
      body: { metadata: { labels: { "istio.io/rev": "1-27-9" } } },
    });
    await page.waitForFunction(
      () =>
        document
          .querySelector('[data-testid="namespaces-table"] [data-key="monitoring"] [data-col="label"]')
          ?.textContent?.includes("istio.io/rev=1-27-9"),
      undefined,
      WAIT,
    );
    const seenAfter = Date.now() - changedAt;
    assert.equal(await row.locator('[data-col="revision"]').innerText(), "1-27-9");
    assert.equal(await page.evaluate(() => (window as any).__sameDocument), true, "the page was not reloaded");
    assert.ok(seenAfter < 3_000, `visible after ${seenAfter} ms`);
    assert.equal(await page.getByTestId("live-status").getAttribute("data-status"), "live");
  });

  test("the precheck page refuses an unknown version, then lists the demo's findings for 1.28", async () => {
    await page.getByRole("link", { name: "Precheck", exact: true }).click();
    await page.getByTestId("precheck-target").fill("9.99");
    await page.getByTestId("precheck-run").click();
    await page.getByTestId("precheck-error").waitFor(WAIT);
    assert.match(await text("precheck-error"), /9\.99/);

    await page.getByTestId("precheck-target").fill("1.28");
    await page.getByTestId("precheck-run").click();
    await page.locator('[data-testid="precheck-result"][data-target="1.28.10"]').waitFor(WAIT);
    const finding = (id: string) => page.locator(`[data-testid="finding"][data-id="${id}"]`);
    const conflict = finding("namespace-injection-label-conflict");
    assert.match(await conflict.innerText(), /IST0123/);
    assert.equal(await conflict.locator('[data-testid="finding-object"]').getAttribute("data-name"), "legacy-crm");
    assert.match(await conflict.getByTestId("finding-fix").innerText(), /kubectl label namespace legacy-crm/);
    const losing = finding("restart-loses-sidecar");
    assert.equal(
      await losing.locator('[data-testid="finding-object"]').getAttribute("data-namespace"),
      "legacy-billing",
    );
    const pdb = finding("pdb-allows-no-disruption").locator(
      '[data-testid="finding-object"][data-kind="PodDisruptionBudget"]',
    );
    assert.equal(await pdb.getAttribute("data-name"), "ledger");
    assert.equal(await page.getByTestId("findings-warning").isVisible(), true);
    await browser.screenshot("03-precheck");
  });

  test("the admin selects a workload and restarts it", async () => {
    await page.getByRole("link", { name: "Workloads", exact: true }).click();
    await page.getByTestId("wl-namespace").fill("bookinfo");
    const row = page.locator('[data-testid="workloads-table"] [data-key="bookinfo/Deployment/reviews-v2"]');
    await row.waitFor(WAIT);
    await row.getByTestId("wl-select").check();
    await page.getByTestId("restart-selected").click();
    await page.getByTestId("restart-go").click();
    await page.getByTestId("restart-results").waitFor(WAIT);
    assert.match(await text("restart-results"), /Deployment bookinfo\/reviews-v2: restarted/);
    const d = await rest("/apis/apps/v1/namespaces/bookinfo/deployments/reviews-v2");
    assert.ok(d.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]);
    await browser.screenshot("04-workloads");
  });

  test("the start form shows the server's errors and creates nothing; a valid upgrade appears and follows its status live", async () => {
    await page.getByRole("link", { name: "Upgrades", exact: true }).click();
    await page.getByTestId("no-upgrades").waitFor(WAIT);
    await page.getByTestId("start-upgrade").click();
    await page.getByTestId("start-version").fill("9.99");
    await page.getByTestId("start-submit").click();
    await page.getByTestId("start-error").waitFor(WAIT);
    assert.match(await text("start-error"), /spec\.to\.version.*9\.99/);
    await page.getByTestId("start-version").fill("1.28");
    await page.getByTestId("start-concurrency").fill("0");
    await page.getByTestId("start-submit").click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="start-error"]')?.textContent?.includes("maxConcurrent"),
      undefined,
      WAIT,
    );
    assert.deepEqual((await rest("/apis/meshlift.io/v1alpha1/meshupgrades")).items, []);

    await page.getByTestId("start-concurrency").fill("3");
    await page.getByTestId("start-submit").click();
    await page.locator('[data-testid="upgrade-detail"][data-name="to-1-28-10"]').waitFor(WAIT);
    await page.getByRole("link", { name: "← Upgrades" }).click();
    const row = page.locator('[data-testid="upgrade-row"][data-name="to-1-28-10"]');
    await row.waitFor(WAIT);
    assert.equal(await row.getByTestId("stage").innerText(), "Pending");

    // the engine's part, played here: it writes the status; the page follows
    await rest("/apis/meshlift.io/v1alpha1/meshupgrades/to-1-28-10/status", {
      method: "PATCH",
      merge: true,
      body: {
        status: { stage: "DataPlaneUpgrade", progress: { summary: "wave 1/3, 4/12 workloads", completedWaves: 1 } },
      },
    });
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="upgrade-row"][data-name="to-1-28-10"] [data-testid="stage"]')
          ?.textContent === "DataPlaneUpgrade",
      undefined,
      WAIT,
    );
    assert.equal(await row.getByTestId("upgrade-progress").innerText(), "wave 1/3, 4/12 workloads");
    await browser.screenshot("05-upgrades");
    await row.getByRole("link").click();
    await page.getByTestId("upgrade-detail").waitFor(WAIT);
    await browser.screenshot("06-upgrade-detail");
  });

  test("the read-only token sees every action disabled, with Kubernetes' reason beside it", async () => {
    await page.getByTestId("logout").click();
    await page.getByTestId("login-form").waitFor(WAIT);
    await loginAs(h.tokens.viewer);
    assert.equal(await text("user"), "viewer");

    await page.getByRole("link", { name: "Workloads", exact: true }).click();
    const row = page.locator('[data-testid="workloads-table"] [data-key="bookinfo/Deployment/details-v1"]');
    await page.getByTestId("wl-namespace").fill("bookinfo");
    await row.waitFor(WAIT);
    await row.getByTestId("wl-select").check();
    assert.equal(await page.getByTestId("restart-selected").isDisabled(), true);
    assert.match(await text("restart-selected-why"), /user "viewer" to patch deployments\.apps/);
    await browser.screenshot("07-viewer-workloads");

    await page.getByRole("link", { name: "Upgrades", exact: true }).click();
    await page.getByTestId("upgrades-table").waitFor(WAIT);
    assert.equal(await page.getByTestId("start-upgrade").isDisabled(), true);
    assert.match(await text("start-upgrade-why"), /user "viewer" to create meshupgrades\.meshlift\.io/);
    await page.locator('[data-testid="upgrade-row"][data-name="to-1-28-10"]').getByRole("link").click();
    for (const action of ["rollback", "pause", "resume", "done", "cancel"]) {
      assert.equal(await page.getByTestId(`action-${action}`).isDisabled(), true, action);
      assert.match(await text(`action-${action}-why`), /user "viewer" to patch meshupgrades\.meshlift\.io/, action);
    }
    await browser.screenshot("08-viewer-upgrade");
    assert.deepEqual(
      browser.consoleLines.filter((l) => l.startsWith("pageerror")),
      [],
      "no script errors in the page",
    );
  });
});
