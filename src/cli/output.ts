// The one output layer (Yarn's StreamReport, Vite's logger): commands say *what* to show; this
// decides *how* — aligned tables with colour on a terminal, the same tables without colour or
// decoration in pipes and CI, or one JSON/YAML document for `-o json|yaml`. Diagnostics (notes,
// warnings, errors, timing) always go to stderr so stdout stays parseable.
import { stripVTControlCharacters, styleText } from "node:util";
import type { CliIO } from "./io.js";

export type OutputFormat = "table" | "json" | "yaml";
export type OutputMode = "tty" | "plain" | "json" | "yaml";

export const OUTPUT_FORMATS: readonly OutputFormat[] = ["table", "json", "yaml"];

export interface Column<Row> {
  header: string;
  value: (row: Row) => string | number | null | undefined;
  /** right-align (counts) */
  align?: "left" | "right";
}

type Style = "bold" | "dim" | "red" | "green" | "yellow" | "cyan";

/** Colour is on for a terminal unless --no-color, NO_COLOR (no-color.org) or TERM=dumb; FORCE_COLOR forces it. */
export function colorEnabled(io: Pick<CliIO, "env" | "isTTY">, flag: boolean): boolean {
  if (!flag) return false;
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "") return false;
  if (io.env.FORCE_COLOR !== undefined && io.env.FORCE_COLOR !== "0") return true;
  if (io.env.TERM === "dumb") return false;
  return io.isTTY;
}

/** CI systems set CI=true (GitHub, GitLab, Buildkite, …): no interactive niceties there. */
export function isCI(env: NodeJS.ProcessEnv): boolean {
  return !!env.CI && env.CI !== "false" && env.CI !== "0";
}

export class Output {
  readonly mode: OutputMode;
  private readonly color: boolean;

  constructor(
    private readonly io: CliIO,
    options: { format?: OutputFormat; color: boolean },
  ) {
    const format = options.format ?? "table";
    this.mode = format === "json" ? "json" : format === "yaml" ? "yaml" : io.isTTY && !isCI(io.env) ? "tty" : "plain";
    this.color = this.mode === "tty" && colorEnabled(io, options.color);
  }

  /** JSON or YAML: commands emit one document via data() and nothing else on stdout. */
  get structured(): boolean {
    return this.mode === "json" || this.mode === "yaml";
  }

  get interactive(): boolean {
    return this.mode === "tty";
  }

  style(style: Style, text: string): string {
    // the decision is ours (the injected IO's TTY, flags, env): styleText must not re-check process.stdout
    return this.color ? styleText(style, text, { validateStream: false }) : text;
  }

  line(text = ""): void {
    this.io.stdout.write(`${text}\n`);
  }

  heading(text: string): void {
    this.line(this.style("bold", text));
  }

  /** kubectl-style columns: upper-case headers, left-aligned, three spaces apart. */
  table<Row>(columns: Column<Row>[], rows: Row[], options: { indent?: string } = {}): void {
    const cells = rows.map((row) => columns.map((c) => String(c.value(row) ?? "-")));
    const headers = columns.map((c) => c.header.toUpperCase());
    const widths = columns.map((_, i) => Math.max(visibleWidth(headers[i]), ...cells.map((r) => visibleWidth(r[i]))));
    const render = (values: string[]) =>
      (options.indent ?? "") +
      values
        .map((v, i) => {
          const pad = " ".repeat(widths[i] - visibleWidth(v));
          if (i === values.length - 1 && columns[i].align !== "right") return v;
          return columns[i].align === "right" ? pad + v : v + pad;
        })
        .join("   ")
        .trimEnd();
    this.line(this.style("bold", render(headers)));
    for (const r of cells) this.line(render(r));
  }

  /** The whole result as one document (-o json|yaml). */
  async data(value: unknown): Promise<void> {
    if (this.mode === "yaml") {
      const { stringify } = await import("yaml");
      this.io.stdout.write(stringify(value, { aliasDuplicateObjects: false, lineWidth: 0 }));
    } else {
      this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    }
  }

  note(text: string): void {
    this.io.stderr.write(`${this.style("dim", `note: ${text}`)}\n`);
  }

  warn(text: string): void {
    this.io.stderr.write(`${this.style("yellow", "warning:")} ${text}\n`);
  }

  error(text: string): void {
    this.io.stderr.write(`${this.style("red", "error:")} ${text}\n`);
  }

  /** Timing footer on a terminal only (Vite's "ready in N ms"); pipes and CI get no chatter. */
  timing(text: string): void {
    if (this.interactive) this.io.stderr.write(`${this.style("dim", text)}\n`);
  }
}

export function visibleWidth(text: string): number {
  return stripVTControlCharacters(text).length;
}
