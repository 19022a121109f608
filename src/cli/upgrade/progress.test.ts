// The progress layer: statuses in, the three renderings out — what changed, once, in the form the output asks.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { HistoryEntry, MeshUpgradeStatus } from "../../upgrade/api/schema.js";
import { ProgressReporter, bar, historyLine } from "./progress.js";
import { UpgradeExitCode, exitCodeOf, progressView, stagePipeline, stopsRun } from "./view.js";

const NOW = new Date("2026-03-01T12:00:00Z");
const h = (action: string, reason = ""): HistoryEntry => ({ time: "2026-03-01T11:59:58Z", action, reason });

function dataPlane(done: number, restarting: number, extra: Partial<MeshUpgradeStatus> = {}): MeshUpgradeStatus {
  const workloads = Array.from({ length: 4 }, (_, i) => ({
    kind: "Deployment",
    namespace: "shop",
    name: `w${i}`,
    wave: 0,
    state: (i < done ? "RolledOut" : i < done + restarting ? "Restarting" : "Pending") as "RolledOut",
  }));
  return {
    stage: "DataPlaneUpgrade",
    from: { revision: "1-27-9", version: "1.27.9" },
    to: { revision: "1-28-10", version: "1.28.10" },
    plan: {
      waves: [
        { index: 0, namespaces: ["shop"], workloads: [] },
        { index: 1, namespaces: ["web"], workloads: [] },
      ],
    },
    progress: {
      workloads,
      waves: [
        { index: 0, state: "Running" },
        { index: 1, state: "Pending" },
      ],
      currentWave: 0,
    },
    message: "wave 1/2 in progress",
    history: [h("stage ControlPlaneUpgrade → DataPlaneUpgrade", "revision 1-28-10 is Ready")],
    ...extra,
  };
}

function capture(mode: "tty" | "plain" | "json") {
  let text = "";
  const reporter = new ProgressReporter({ write: (s: string) => (text += s) }, { mode, now: () => NOW, columns: 80 });
  return { reporter, text: () => text };
}

describe("stagePipeline", () => {
  test("forward: stages before the current one are done, later ones pending; Paused marks the stage it paused", () => {
    const states = (s: Partial<MeshUpgradeStatus>) =>
      stagePipeline({ stage: "Pending", ...s }).map((p) => `${p.stage}:${p.state}`);
    assert.deepEqual(states({ stage: "DataPlaneUpgrade" }), [
      "ControlPlaneUpgrade:done",
      "DataPlaneUpgrade:current",
      "OldControlPlaneOffline:pending",
    ]);
    assert.deepEqual(states({ stage: "Paused", pausedFrom: "DataPlaneUpgrade" }), [
      "ControlPlaneUpgrade:done",
      "DataPlaneUpgrade:paused",
      "OldControlPlaneOffline:pending",
    ]);
    assert.ok(states({ stage: "Completed" }).every((s) => s.endsWith(":done")));
    assert.ok(states({ stage: "Prechecking" }).every((s) => s.endsWith(":pending")));
  });

  test("rollback: the stage it left is abandoned, later ones skipped, then the rollback's own steps", () => {
    const steps = stagePipeline({
      stage: "NewControlPlaneOffline",
      rollback: { from: "DataPlaneUpgrade", reason: "asked", at: NOW.toISOString() },
    }).map((p) => `${p.stage}:${p.state}`);
    assert.deepEqual(steps, [
      "ControlPlaneUpgrade:done",
      "DataPlaneUpgrade:abandoned",
      "OldControlPlaneOffline:skipped",
      "RollingBack:done",
      "NewControlPlaneOffline:current",
    ]);
  });
});

describe("progressView", () => {
  test("counts waves and workloads the way the engine's summary does", () => {
    const view = progressView("up", dataPlane(2, 1));
    assert.deepEqual(view.waves, { total: 2, done: 0, current: 0 });
    assert.deepEqual(view.workloads, { total: 4, done: 2, restarting: 1, failed: 0 });
    assert.equal(view.needs, null);
    assert.equal(stopsRun(view), false);
  });

  test("approval and pause need a person: run stops with exit 6 and says which commands answer", () => {
    const approval = progressView(
      "up",
      dataPlane(4, 0, {
        conditions: [
          {
            type: "Waiting",
            status: "True",
            reason: "WaitingForApproval",
            message: "wave 1 is done; set spec.action Proceed",
            lastTransitionTime: NOW.toISOString(),
          },
        ],
      }),
    );
    assert.deepEqual(approval.needs?.commands, ["meshlift upgrade proceed up", "meshlift upgrade run up"]);
    assert.equal(stopsRun(approval), true);
    assert.equal(exitCodeOf(approval), UpgradeExitCode.NeedsAction);
    const paused = progressView("up", { stage: "Paused", pausedFrom: "DataPlaneUpgrade", message: "wave 1 failed" });
    assert.equal(paused.needs?.reason, "Paused");
    assert.match(paused.needs!.hint, /meshlift upgrade resume up .*rollback/);
    assert.equal(exitCodeOf(progressView("up", { stage: "Completed" })), 0);
    assert.equal(exitCodeOf(progressView("up", { stage: "RolledBack" })), 3);
    assert.equal(exitCodeOf(progressView("up", { stage: "Failed" })), 3);
  });

  test("stragglers are waited for, not a reason to stop", () => {
    const view = progressView(
      "up",
      dataPlane(4, 0, {
        conditions: [
          {
            type: "Waiting",
            status: "True",
            reason: "Stragglers",
            message: "2 proxies still run 1-27-9",
            lastTransitionTime: NOW.toISOString(),
          },
        ],
      }),
    );
    assert.equal(view.needs, null);
    assert.equal(view.waiting?.reason, "Stragglers");
    assert.equal(stopsRun(view), false);
  });
});

describe("ProgressReporter", () => {
  test("json: one object per line, history once, progress only when it changed, an end event", () => {
    const { reporter, text } = capture("json");
    reporter.begin("up", dataPlane(0, 0));
    reporter.update("up", dataPlane(0, 0)); // nothing new
    const next = dataPlane(1, 2);
    next.history = [...next.history!, h("restart", "wave 1")];
    reporter.update("up", next);
    reporter.update("up", next);
    reporter.failure("up", "patch refused");
    reporter.end();
    const events = text()
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; workloads?: { done: number }; action?: string; stage?: string });
    assert.deepEqual(
      events.map((e) => e.type),
      ["progress", "history", "progress", "write-failed", "end"],
    );
    assert.equal(events[1].action, "restart");
    assert.equal(events[2].workloads?.done, 1);
    assert.deepEqual(events[4], { type: "end", name: "up", stage: "DataPlaneUpgrade", exitCode: 0, next: [] });
  });

  test("plain: history lines and a timestamped progress line per change, no escape codes", () => {
    const { reporter, text } = capture("plain");
    reporter.begin("up", dataPlane(0, 0));
    reporter.update("up", dataPlane(0, 2));
    assert.equal(
      text(),
      [
        "12:00:00  DataPlaneUpgrade, waves 0/2, workloads 0/4 — wave 1/2 in progress",
        "12:00:00  DataPlaneUpgrade, waves 0/2, workloads 0/4 (2 restarting) — wave 1/2 in progress",
        "",
      ].join("\n"),
    );
  });

  test("tty: the block is redrawn in place (cursor up, clear) with history printed above it", () => {
    const { reporter, text } = capture("tty");
    reporter.begin("up", dataPlane(0, 0));
    const first = text();
    assert.ok(!first.includes("\u001b["), "nothing to clear the first time");
    const lines = first.trimEnd().split("\n");
    assert.match(lines[0], /MeshUpgrade up {2}1-27-9 → 1-28-10 {3}DataPlaneUpgrade/);
    assert.match(lines[1], /✓ Control-plane upgrade {3}▶ Data-plane upgrade {3}○ Old control plane offline/);
    assert.match(lines[3], /workloads {2}\[░+\] 0\/4/);
    const next = dataPlane(2, 0);
    next.history = [...next.history!, h("wave 1 done")];
    reporter.update("up", next);
    const redraw = text().slice(first.length);
    assert.ok(redraw.startsWith(`\u001b[${lines.length}F\u001b[0J`), JSON.stringify(redraw.slice(0, 12)));
    assert.match(redraw, /11:59:58 {2}wave 1 done\n/);
    assert.match(redraw, /\[█{12}░{12}\] 2\/4/);
  });
});

test("bar and history line formats", () => {
  assert.equal(bar(1, 4, 8), "[██░░░░░░]");
  assert.equal(bar(0, 0, 4), "[░░░░]");
  assert.equal(
    historyLine({
      time: "2026-03-01T11:00:00Z",
      action: "restart",
      targets: [
        { kind: "Deployment", namespace: "a", name: "x" },
        { kind: "Deployment", namespace: "a", name: "y" },
      ],
      reason: "wave 1",
      outcome: "Intended",
    }),
    "11:00:00  restart 2 workloads — wave 1",
  );
});
