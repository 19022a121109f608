// A small client of the Prometheus HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/):
// instant queries and parse-only checks. Failures are values, not exceptions, because the gate must tell
// "Prometheus is down" from "your PromQL is wrong" from "no samples" — each is recorded differently, and
// none of them may ever read as success.

/** One sample of an instant vector (or the single value of a scalar, with no labels). */
export interface PromSample {
  labels: Record<string, string>;
  /** NaN, +Inf and -Inf are kept as JavaScript's NaN and ±Infinity */
  value: number;
}

export type QueryOutcome =
  /** the query ran; an empty list means no series matched (no samples in the window) */
  | { kind: "samples"; resultType: "vector" | "scalar"; samples: PromSample[] }
  /** no answer from the Prometheus API: network error, timeout, 5xx, or something that is not Prometheus */
  | { kind: "unreachable"; message: string }
  /** Prometheus answered and refused the query: bad PromQL (bad_data), execution error, wrong result type */
  | { kind: "error"; errorType: string; message: string };

export interface PrometheusClientOptions {
  /** per-request timeout, ms (default 10 s); also sent to Prometheus as the query's own `timeout` */
  timeoutMs?: number;
  /** extra request headers, e.g. Authorization for a Prometheus behind an auth proxy */
  headers?: Record<string, string>;
}

/** The value text of the API ("1.5", "NaN", "+Inf", "-Inf") as a number. */
export function parseSampleValue(text: string): number {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

/** A network failure's own words: fetch wraps them as "fetch failed" with the cause (ECONNREFUSED, …) inside. */
function networkMessage(err: unknown): string {
  if (err instanceof Error && err.name === "TimeoutError") return "no answer in time";
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (cause?.code || cause?.message) return [cause.code, cause.message].filter(Boolean).join(": ");
  return err instanceof Error ? err.message : String(err);
}

export class PrometheusClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(baseUrl: string, options: PrometheusClientOptions = {}) {
    // a Prometheus behind a path prefix (--web.route-prefix) keeps its prefix: join, never replace, the path
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.headers = options.headers ?? {};
  }

  /** Instant query evaluated at `timeMs` (epoch ms; default: Prometheus' now). */
  async query(expr: string, options: { timeMs?: number; signal?: AbortSignal } = {}): Promise<QueryOutcome> {
    const params: Record<string, string> = {
      query: expr,
      timeout: `${Math.max(1, Math.floor(this.timeoutMs / 1000))}s`,
    };
    if (options.timeMs !== undefined) params.time = (options.timeMs / 1000).toFixed(3);
    const answer = await this.post("/api/v1/query", params, options.signal);
    if (answer.kind !== "data") return answer;
    const data = answer.data as { resultType?: string; result?: unknown };
    if (data?.resultType === "scalar" && Array.isArray(data.result)) {
      return {
        kind: "samples",
        resultType: "scalar",
        samples: [{ labels: {}, value: parseSampleValue(String(data.result[1])) }],
      };
    }
    if (data?.resultType === "vector" && Array.isArray(data.result)) {
      const samples = (data.result as { metric?: Record<string, string>; value?: [number, string] }[]).map((s) => ({
        labels: s.metric ?? {},
        value: parseSampleValue(String(s.value?.[1])),
      }));
      return { kind: "samples", resultType: "vector", samples };
    }
    return {
      kind: "error",
      errorType: "bad_result_type",
      message: `the query returns a ${data?.resultType ?? "result of unknown type"}, not a number or an instant vector — ${data?.resultType === "matrix" ? "wrap the range selector in a function such as rate(…[5m]) or max_over_time(…)" : "make it return a number"}`,
    };
  }

  /**
   * Parses without evaluating, with Prometheus' own parser (/api/v1/format_query, Prometheus ≥ 2.31):
   * the message is exactly what a query would fail with later. `ok: null` when the check could not be made.
   */
  async checkSyntax(
    expr: string,
    signal?: AbortSignal,
  ): Promise<{ ok: true } | { ok: false; message: string } | { ok: null; message: string }> {
    const answer = await this.post("/api/v1/format_query", { query: expr }, signal);
    if (answer.kind === "data") return { ok: true };
    if (answer.kind === "error" && answer.errorType === "bad_data") return { ok: false, message: answer.message };
    return { ok: null, message: answer.message };
  }

  private async post(
    path: string,
    params: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<{ kind: "data"; data: unknown } | Extract<QueryOutcome, { kind: "unreachable" | "error" }>> {
    const url = `${this.baseUrl}${path}`;
    const signals = [AbortSignal.timeout(this.timeoutMs), ...(signal ? [signal] : [])];
    let response: Response;
    let text: string;
    try {
      // POST with a form body: the API accepts it for every query endpoint, and long regex alternations
      // of a big wave's workloads never hit a URL length limit
      response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json", ...this.headers },
        body: new URLSearchParams(params),
        signal: AbortSignal.any(signals),
      });
      text = await response.text();
    } catch (err) {
      if (signal?.aborted) throw err;
      return {
        kind: "unreachable",
        message: `Prometheus at ${this.baseUrl} is unreachable (${networkMessage(err)}) — check verification.prometheus.url and that Prometheus is running`,
      };
    }
    let body: { status?: string; data?: unknown; errorType?: string; error?: string } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (body?.status === "success" && response.ok) return { kind: "data", data: body.data };
    if (body?.status === "error" && typeof body.error === "string") {
      const errorType = body.errorType ?? "unknown";
      // timeout, canceled and unavailable are Prometheus' way of saying "not now", not "wrong query"
      if (["timeout", "canceled", "unavailable"].includes(errorType) || response.status >= 500) {
        return {
          kind: "unreachable",
          message: `Prometheus at ${this.baseUrl} could not answer (${errorType}: ${body.error})`,
        };
      }
      return { kind: "error", errorType, message: body.error };
    }
    const hint =
      response.status === 404
        ? " — verification.prometheus.url must be the server's root (e.g. http://prometheus.monitoring:9090), without /api/v1"
        : "";
    return {
      kind: "unreachable",
      message: `${url} answered HTTP ${response.status} with something that is not the Prometheus API (${text.slice(0, 80).trim() || "empty body"})${hint}`,
    };
  }
}
