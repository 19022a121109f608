// End to end on the demo with a revision tag instead of namespace labels (issue 4 acceptance):
// `dataPlane.revisionTag: {name: prod-stable}` re-points the tag (istioctl tag set --overwrite) and the
// namespaces that use it keep their labels; the rest are relabelled; on to Completed.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { RequestRecord } from "../../../sandbox/api/requestlog.js";
import { startHarness, TARGET, type Harness } from "./harness.js";
import {
  describeRequest,
  forwardRunProblems,
  historyTime,
  listsAfterWarmUp,
  namespaceLabels,
  upgradeDemo,
  type ForwardRun,
} from "./support.js";

/** The demo's namespaces on the prod-stable tag alone; legacy-crm also has istio-injection, which wins. */
const ON_TAG = ["payments", "storefront"];

let h: Harness;
let run: ForwardRun;
before(async () => {
  h = await startHarness();
  run = await upgradeDemo(h, "to-1-28-tag", {
    to: { version: TARGET.version },
    install: { mode: "Manifests" },
    dataPlane: { maxConcurrent: 10, waves: { size: 6 }, revisionTag: { name: "prod-stable" } },
    decommission: { graceSeconds: 1 },
  });
});
after(() => h.close());

test("revision tag: Completed, every proxy on the target, the source revision gone, history complete", () => {
  assert.deepEqual(forwardRunProblems(h, run, TARGET.revision), []);
});

test("the tag moved once, before any restart, and its namespaces kept their labels", () => {
  const history = run.status.history ?? [];
  const moves = history.filter((e) => e.action === `move tag prod-stable to ${TARGET.revision}`);
  assert.equal(moves.length, 1, JSON.stringify(moves));
  const firstRestart = history.find((e) => e.action.startsWith("restart"));
  assert.ok(firstRestart && moves[0].time <= firstRestart.time, "the tag moved before the first restart");
  const after = namespaceLabels(h.sb);
  for (const ns of ON_TAG)
    assert.deepEqual(after[ns], run.labelsBefore[ns], `namespace ${ns} keeps istio.io/rev=prod-stable`);
  assert.equal(
    history.filter((e) => ON_TAG.some((ns) => e.action.startsWith(`label namespace ${ns} `))).length,
    0,
    "no namespace on the tag was relabelled",
  );
  const { "istio-injection": _injection, ...crm } = run.labelsBefore["legacy-crm"];
  assert.deepEqual(
    after["legacy-crm"],
    { ...crm, "istio.io/rev": TARGET.revision },
    "legacy-crm: its istio-injection label wins over the tag (IST0123), so it is relabelled",
  );
});

test("after warm-up, LISTs come only from the tag move and the offline stage", () => {
  const offlineFrom = historyTime(run.status, "stage DataPlaneUpgrade → OldControlPlaneOffline")!;
  const moveAt = historyTime(run.status, `move tag prod-stable to ${TARGET.revision}`)!;
  const lists = listsAfterWarmUp(run.window.records(), "to-1-28-tag", offlineFrom);
  // moveRevisionTag finds the injector, the tag's webhooks and its Service by label (src/upgrade/engine/tags.ts)
  const tagMove = (r: RequestRecord) =>
    ["mutatingwebhookconfigurations", "services"].includes(r.resource) && !r.namespace && r.time >= moveAt;
  assert.deepEqual(lists.filter((r) => !tagMove(r)).map(describeRequest), []);
  assert.ok(lists.filter(tagMove).length <= 3, `one tag move, three LISTs: ${lists.map(describeRequest).join("; ")}`);
});
