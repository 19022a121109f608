// What every benchmark writes: its figures, its targets with PASS/MISS, and the facts of the machine
// it ran on, as bench/results/<name>.json. Benchmarks report; they never assert (a MISS is a finding).
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export const RESULTS_DIR = path.resolve(import.meta.dirname, "results");

export interface MachineFacts {
  cores: number;
  cpuModel: string;
  memoryTotalMB: number;
  memoryFreeMB: number;
  node: string;
  platform: string;
  /** 1, 5 and 15 minute load averages when the benchmark started: others may share the machine */
  loadAverageAtStart: [number, number, number];
  /** ISO date-time of the start */
  date: string;
}

export function machineFacts(): MachineFacts {
  const [l1, l5, l15] = os.loadavg();
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryTotalMB: Math.round(os.totalmem() / 2 ** 20),
    memoryFreeMB: Math.round(os.freemem() / 2 ** 20),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: [round(l1), round(l5), round(l15)],
    date: new Date().toISOString(),
  };
}

/** A performance target: the measured value must be at most (or at least) `limit`. */
export interface TargetOutcome {
  name: string;
  /** "≤" targets bound a cost (time, memory), "≥" targets bound a rate */
  comparison: "≤" | "≥";
  limit: number;
  unit: string;
  /** null when the measurement could not be taken (counts as a MISS) */
  value: number | null;
  pass: boolean;
  note?: string;
}

export interface BenchResult {
  name: string;
  issue: string;
  machine: MachineFacts;
  durationMs: number;
  targets: TargetOutcome[];
  /** every measured figure by name (units in the name: _ms, _mb, _per_s) */
  figures: Record<string, unknown>;
  notes: string[];
}

/** Collects figures and target outcomes of one benchmark run, prints them as they come, writes the JSON. */
export class BenchReport {
  readonly machine = machineFacts();
  private readonly started = performance.now();
  private readonly targets: TargetOutcome[] = [];
  private readonly figures: Record<string, unknown> = {};
  private readonly notes: string[] = [];

  constructor(
    readonly name: string,
    readonly issue: string,
  ) {
    const m = this.machine;
    console.log(
      `[${name}] ${m.date} · ${m.cores} cores · ${m.memoryTotalMB} MB · node ${m.node} · load average ${m.loadAverageAtStart.join(" ")}`,
    );
  }

  figure(name: string, value: unknown): void {
    this.figures[name] = value;
    console.log(`[${this.name}]   ${name} = ${typeof value === "object" ? JSON.stringify(value) : String(value)}`);
  }

  note(text: string): void {
    this.notes.push(text);
    console.log(`[${this.name}]   note: ${text}`);
  }

  /**
   * Records a target and prints its PASS/MISS line. A null value (not measured) is a MISS, and so is a
   * value whose measurement was not `valid` (e.g. a write rate whose watch events were lost).
   */
  target(
    name: string,
    comparison: "≤" | "≥",
    limit: number,
    unit: string,
    value: number | null,
    note?: string,
    valid = true,
  ): TargetOutcome {
    const pass =
      valid && value !== null && Number.isFinite(value) && (comparison === "≤" ? value <= limit : value >= limit);
    const outcome: TargetOutcome = { name, comparison, limit, unit, value, pass, ...(note ? { note } : {}) };
    this.targets.push(outcome);
    const shown = value === null ? "not measured" : `${formatNumber(value)} ${unit}`;
    console.log(
      `[${this.name}] ${pass ? "PASS" : "MISS"} ${name}: ${shown} (target ${comparison} ${formatNumber(limit)} ${unit})${note ? ` — ${note}` : ""}`,
    );
    return outcome;
  }

  /** Writes bench/results/<name>.json and returns its path. */
  write(): string {
    const result: BenchResult = {
      name: this.name,
      issue: this.issue,
      machine: this.machine,
      durationMs: Math.round(performance.now() - this.started),
      targets: this.targets,
      figures: this.figures,
      notes: this.notes,
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = path.join(RESULTS_DIR, `${this.name}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
    console.log(
      `[${this.name}] ${this.targets.filter((t) => t.pass).length}/${this.targets.length} targets met · results in ${path.relative(process.cwd(), file)}`,
    );
    return file;
  }
}

export function formatNumber(x: number): string {
  if (Number.isInteger(x)) return x.toLocaleString("en-US");
  return x.toLocaleString("en-US", { maximumFractionDigits: Math.abs(x) < 10 ? 2 : 1 });
}

/** Nearest-rank percentile (p in 0..100) of the samples; the median is p50 of an odd count. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const round1 = (x: number) => Math.round(x * 10) / 10;
