// The reconcile loop for one MeshUpgrade outside the operator (`meshlift upgrade run`, tests): reconcile,
// then sleep until the decision's requeue time or until a watched object changes, whichever is first.
import type { WarmSnapshotSource } from "../../kube/snapshot-source.js";
import { TERMINAL_STAGES, type UpgradeStage } from "../api/schema.js";
import type { ReconcileResult, UpgradeReconciler } from "./reconcile.js";

export interface RunOptions {
  signal?: AbortSignal;
  /** stop when this returns true (default: a terminal stage) */
  until?: (stage: UpgradeStage) => boolean;
  onResult?: (result: ReconcileResult) => void;
  /** wakes the loop early when a watched object changes (debounced) */
  source?: WarmSnapshotSource;
  /** the most the loop sleeps between reconciles (default 5 s) */
  maxSleepMs?: number;
  /** a change wakes the loop after this quiet time, so a burst of events is one reconcile (default 30 ms) */
  debounceMs?: number;
  /** what a failing reconcile (API error, conflict) does: default retry with backoff up to 10 s */
  onError?: (err: unknown) => void;
}

export async function runUpgrade(
  reconciler: UpgradeReconciler,
  name: string,
  options: RunOptions = {},
): Promise<ReconcileResult | null> {
  const until = options.until ?? ((s: UpgradeStage) => TERMINAL_STAGES.includes(s));
  const maxSleep = options.maxSleepMs ?? 5_000;
  const debounce = options.debounceMs ?? 30;
  let wake: (() => void) | null = null;
  let timer: NodeJS.Timeout | undefined;
  // a change seen while reconciling shortens the next sleep to the debounce time
  let dirty: boolean;
  // the caches exist only once the source started: subscribe to them, not to an empty map
  options.source?.start();
  const unsubscribe = [...(options.source?.caches.values() ?? [])].map((cache) =>
    cache.onChange(() => {
      if (!wake) {
        dirty = true;
        return;
      }
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        wake?.();
      }, debounce);
    }),
  );
  let failures = 0;
  let last: ReconcileResult | null;
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      let sleep: number;
      dirty = false;
      try {
        last = await reconciler.reconcile(name, options.signal);
        failures = 0;
        if (!last) return null;
        options.onResult?.(last);
        if (until(last.stage)) return last;
        sleep = Math.min(last.requeueAfterMs ?? maxSleep, maxSleep);
        if (dirty) sleep = Math.min(sleep, debounce);
      } catch (err) {
        if (options.signal?.aborted) throw err;
        options.onError?.(err);
        failures++;
        sleep = Math.min(10_000, 200 * 2 ** Math.min(failures, 6));
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, sleep);
        const onAbort = () => done();
        options.signal?.addEventListener("abort", onAbort, { once: true });
        // aborted before the listener was added: no sleep at all
        if (options.signal?.aborted) done();
        function done() {
          clearTimeout(t);
          options.signal?.removeEventListener("abort", onAbort);
          wake = null;
          resolve();
        }
        wake = done;
      });
    }
  } finally {
    if (timer) clearTimeout(timer);
    for (const u of unsubscribe) u();
  }
}
