// Live progress of one MeshUpgrade, in the one output layer's three forms (Yarn's StreamReport): on a
// terminal a block redrawn in place (stage pipeline, wave and workload bars, current message) with the
// history scrolling above it; in CI and pipes plain lines only when something changed; with --json one
// JSON object per line per change (NDJSON). Fed statuses, it decides what changed; it never reads the cluster.
import { stripVTControlCharacters } from "node:util";
import type { HistoryEntry, MeshUpgradeStatus } from "../../upgrade/api/schema.js";
import type { TextSink } from "../io.js";
import { visibleWidth } from "../output.js";
import { exitCodeOf, progressView, summaryLine, type PipelineStep, type ProgressView, type StepState } from "./view.js";

export type ReporterMode = "tty" | "plain" | "json";

type Style = "bold" | "dim" | "red" | "green" | "yellow" | "cyan";

export interface ReporterOptions {
  mode: ReporterMode;
  /** colour (a no-op outside a terminal) */
  style?: (style: Style, text: string) => string;
  /** terminal width: block lines are cut to it so the redraw can count them */
  columns?: number;
  now?: () => Date;
}

const MARK: Record<StepState, { mark: string; style: Style | null }> = {
  done: { mark: "✓", style: "green" },
  current: { mark: "▶", style: "cyan" },
  paused: { mark: "‖", style: "yellow" },
  pending: { mark: "○", style: "dim" },
  abandoned: { mark: "✗", style: "yellow" },
  skipped: { mark: "–", style: "dim" },
};

export function bar(done: number, total: number, width = 24): string {
  const filled = total > 0 ? Math.round((Math.min(done, total) / total) * width) : 0;
  return `[${"█".repeat(filled)}${"░".repeat(width - filled)}]`;
}

function targetText(entry: HistoryEntry): string {
  if (entry.targets?.length)
    return entry.targets.length === 1 ? refText(entry.targets[0]) : `${entry.targets.length} workloads`;
  return entry.target ? refText(entry.target) : "";
}

function refText(ref: { kind?: string; namespace?: string | null; name?: string }): string {
  return `${ref.kind ? `${ref.kind} ` : ""}${ref.namespace ? `${ref.namespace}/` : ""}${ref.name ?? ""}`;
}

/** "12:00:01  restart 5 workloads — wave 1: move proxies to 1-28-10" */
export function historyLine(entry: HistoryEntry): string {
  const target = targetText(entry);
  const outcome = entry.outcome && entry.outcome !== "Intended" ? ` [${entry.outcome}]` : "";
  return `${entry.time.slice(11, 19)}  ${entry.action}${target ? ` ${target}` : ""}${outcome}${entry.reason ? ` — ${entry.reason}` : ""}`;
}

export class ProgressReporter {
  private readonly style: (style: Style, text: string) => string;
  private readonly now: () => Date;
  private historySeen = 0;
  private lastProgress = "";
  private drawn = 0;
  private view: ProgressView | null = null;

  constructor(
    private readonly out: TextSink,
    private readonly options: ReporterOptions,
  ) {
    this.style = options.style ?? ((_s, t) => t);
    this.now = options.now ?? (() => new Date());
  }

  /** The state before anything happens: its history is known (not repeated), its progress is shown once. */
  begin(name: string, status: MeshUpgradeStatus | undefined): void {
    this.historySeen = status?.history?.length ?? 0;
    this.update(name, status);
  }

  /** A new status: new history entries, then the progress if it changed. */
  update(name: string, status: MeshUpgradeStatus | undefined): void {
    const history = status?.history ?? [];
    // a status that lost history was replaced (recreated object): start over without repeating
    const fresh = history.length >= this.historySeen ? history.slice(this.historySeen) : [];
    this.historySeen = history.length;
    const view = progressView(name, status);
    const key = JSON.stringify({ line: summaryLine(view), needs: view.needs?.commands, from: view.from, to: view.to });
    const changed = key !== this.lastProgress;
    this.lastProgress = key;
    this.view = view;
    switch (this.options.mode) {
      case "json":
        for (const entry of fresh) this.json({ type: "history", name, ...entry });
        if (changed) this.json(this.progressEvent(view));
        return;
      case "plain":
        for (const entry of fresh) this.out.write(`${historyLine(entry)}\n`);
        if (changed) this.out.write(`${this.clock()}  ${summaryLine(view)}\n`);
        return;
      case "tty":
        if (fresh.length === 0 && !changed) return;
        this.clearBlock();
        for (const entry of fresh) this.out.write(`${this.style("dim", historyLine(entry))}\n`);
        this.drawBlock(view);
    }
  }

  /** A write the engine could not make (it is retried); shown above the block. */
  failure(name: string, message: string): void {
    if (this.options.mode === "json") {
      this.json({ type: "write-failed", name, time: this.now().toISOString(), message });
      return;
    }
    const line = `${this.clock()}  ${this.style("yellow", "write failed, retrying:")} ${message}`;
    if (this.options.mode === "tty") {
      this.clearBlock();
      this.out.write(`${line}\n`);
      if (this.view) this.drawBlock(this.view);
    } else this.out.write(`${line}\n`);
  }

  /** The last word: a JSON `end` event, or nothing (the block / last line already say it). */
  end(extra: { interrupted?: boolean } = {}): void {
    if (this.options.mode !== "json" || !this.view) return;
    const view = this.view;
    this.json({
      type: "end",
      name: view.name,
      stage: view.stage,
      ...(extra.interrupted ? { interrupted: true } : {}),
      exitCode: extra.interrupted ? null : exitCodeOf(view),
      next: view.needs?.commands ?? [],
    });
  }

  private progressEvent(view: ProgressView): Record<string, unknown> {
    return {
      type: "progress",
      time: this.now().toISOString(),
      name: view.name,
      stage: view.stage,
      from: view.from,
      to: view.to,
      waves: view.waves,
      workloads: view.workloads,
      message: view.message,
      waiting: view.waiting,
      needs: view.needs,
    };
  }

  private json(value: Record<string, unknown>): void {
    this.out.write(`${JSON.stringify(value)}\n`);
  }

  private clock(): string {
    return this.now().toISOString().slice(11, 19);
  }

  /** Moves the cursor to the block's first line and clears to the end of the screen (CSI F, CSI J). */
  private clearBlock(): void {
    if (this.drawn > 0) this.out.write(`\u001b[${this.drawn}F\u001b[0J`);
    this.drawn = 0;
  }

  private drawBlock(view: ProgressView): void {
    const lines = blockLines(view, this.style);
    const width = Math.max(20, (this.options.columns ?? 100) - 1);
    for (const line of lines) this.out.write(`${cut(line, width)}\n`);
    this.drawn = lines.length;
  }
}

/** The redrawn block: name and revisions, the stage pipeline, wave and workload bars, the current message. */
export function blockLines(view: ProgressView, style: (s: Style, t: string) => string = (_s, t) => t): string[] {
  const lines: string[] = [];
  const revisions = view.from && view.to ? `  ${view.from} → ${view.to}` : "";
  lines.push(`${style("bold", `MeshUpgrade ${view.name}`)}${revisions}   ${style("bold", view.stage)}`);
  lines.push(`  ${pipelineLine(view.pipeline, style)}`);
  if (view.waves.total > 0)
    lines.push(`  waves      ${bar(view.waves.done, view.waves.total)} ${view.waves.done}/${view.waves.total}`);
  if (view.workloads.total > 0) {
    const extra = [
      view.workloads.restarting > 0 ? `${view.workloads.restarting} restarting` : "",
      view.workloads.failed > 0 ? style("red", `${view.workloads.failed} failed`) : "",
    ]
      .filter(Boolean)
      .join(", ");
    lines.push(
      `  workloads  ${bar(view.workloads.done, view.workloads.total)} ${view.workloads.done}/${view.workloads.total}${extra ? `  ${extra}` : ""}`,
    );
  }
  const message = view.needs?.message ?? view.waiting?.message ?? view.message;
  if (message) lines.push(`  ${view.needs ? style("yellow", message) : message}`);
  if (view.needs) lines.push(`  next: ${view.needs.hint}`);
  return lines;
}

/** The pipeline line: "✓ Control-plane upgrade  ▶ Data-plane upgrade  ○ Old control plane offline". */
export function pipelineLine(steps: PipelineStep[], style: (s: Style, t: string) => string = (_s, t) => t): string {
  return steps
    .map((step) => {
      const m = MARK[step.state];
      const text = `${m.mark} ${step.label}`;
      return m.style ? style(m.style, text) : text;
    })
    .join("   ");
}

function cut(line: string, width: number): string {
  if (visibleWidth(line) <= width) return line;
  // cut on the plain text: a cut inside an escape sequence would garble the terminal
  const plain = stripVTControlCharacters(line);
  return `${plain.slice(0, width - 1)}…`;
}
