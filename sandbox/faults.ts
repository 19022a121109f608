// Fault rules of the sandbox: API-server errors and latency, watch cuts, and per-pod misbehaviour
// (crash loops, never-ready pods, 5xx and latency in the mesh, xDS rejects). Loaded from the scenario
// and replaced at run time through the /sandbox/faults control endpoint.
import { z } from "zod";
import { ApiError, badRequest, type KObject, type PodFault } from "./api/types.js";
import { proxyIdentity } from "./istio/proxy-identity.js";

export const API_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"] as const;
export type ApiVerb = (typeof API_VERBS)[number];

const fraction = (what: string) =>
  z
    .number({ error: `${what} must be a number between 0 and 1` })
    .min(0, { error: `${what} must be between 0 and 1` })
    .max(1, { error: `${what} must be between 0 and 1` });

const milliseconds = (what: string) =>
  z
    .number({ error: `${what} must be a number of milliseconds` })
    .int({ error: `${what} must be a whole number of milliseconds` })
    .min(0, { error: `${what} must not be negative` });

export const ApiFaultRuleSchema = z
  .strictObject({
    verb: z.enum(API_VERBS, { error: `verb must be one of ${API_VERBS.join(", ")}` }).optional(),
    resource: z.string().min(1, { error: 'resource must be a plural resource name, e.g. "pods"' }).optional(),
    group: z.string({ error: 'group must be an API group, "" for the core group' }).optional(),
    namespace: z.string().min(1).optional(),
    code: z
      .number({ error: "code must be an HTTP error status such as 429, 500, 503 or 409" })
      .int()
      .min(400, { error: "code must be an HTTP error status (400-599)" })
      .max(599, { error: "code must be an HTTP error status (400-599)" })
      .optional(),
    rate: fraction("rate").optional(),
    count: z
      .number({ error: "count must be a whole number of requests" })
      .int()
      .min(1, { error: "count must be at least 1" })
      .optional(),
    delayMs: milliseconds("delayMs").optional(),
    retryAfterSeconds: z.number().int().min(0, { error: "retryAfterSeconds must not be negative" }).optional(),
  })
  .refine((r) => r.code !== undefined || r.delayMs !== undefined, {
    error: "an API fault needs a status `code` (e.g. 503) or a `delayMs`, or both",
  });

export const WatchCutRuleSchema = z.strictObject({
  watchCut: z.strictObject({
    afterMs: milliseconds("watchCut.afterMs").optional(),
    resource: z.string().min(1, { error: 'watchCut.resource must be a plural resource name, e.g. "pods"' }).optional(),
  }),
});

export const PodFaultRuleSchema = z
  .strictObject({
    match: z.strictObject({
      proxyVersion: z
        .string()
        .min(1, { error: 'match.proxyVersion must be a version such as "1.28.0" or "1.28"' })
        .optional(),
      workload: z.string().min(1).optional(),
      namespace: z.string().min(1).optional(),
      revision: z.string().min(1).optional(),
    }),
    crashLoop: z.boolean().optional(),
    neverReady: z.boolean().optional(),
    errorRate: fraction("errorRate").optional(),
    addedLatencyMs: milliseconds("addedLatencyMs").optional(),
    xdsRejects: z.boolean().optional(),
  })
  .refine(
    (r) => r.crashLoop || r.neverReady || r.xdsRejects || r.errorRate !== undefined || r.addedLatencyMs !== undefined,
    { error: "a pod fault needs an effect: crashLoop, neverReady, errorRate, addedLatencyMs or xdsRejects" },
  );

export type ApiFaultRule = z.infer<typeof ApiFaultRuleSchema>;
export type WatchCutRule = z.infer<typeof WatchCutRuleSchema>;
export type PodFaultRule = z.infer<typeof PodFaultRuleSchema>;
export type FaultRule = ApiFaultRule | WatchCutRule | PodFaultRule;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * One fault rule of any kind. The kind is chosen by its distinguishing key (`watchCut`, `match`, else an API
 * fault), so a mistake is reported against the fields of the kind the author meant, not as "no union member matched".
 */
export const FaultRuleSchema: z.ZodType<FaultRule, unknown> = z.unknown().transform((value, ctx) => {
  if (!isObject(value)) {
    ctx.addIssue({
      code: "custom",
      message: "a fault rule must be an object: an API fault, { watchCut: … } or { match: …, <effect> }",
    });
    return z.NEVER;
  }
  const schema = "watchCut" in value ? WatchCutRuleSchema : "match" in value ? PodFaultRuleSchema : ApiFaultRuleSchema;
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue } as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  }
  return parsed.data;
});

export const FaultRulesSchema = z.array(FaultRuleSchema, { error: "faults must be a list of fault rules" });

/** Validates rules from the scenario or the control endpoint; throws ApiError 400 naming every wrong field. */
export function parseFaultRules(input: unknown): FaultRule[] {
  const parsed = FaultRulesSchema.safeParse(input);
  if (!parsed.success) throw badRequest(`invalid fault rules:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export function isApiFaultRule(r: FaultRule): r is ApiFaultRule {
  return !("watchCut" in r) && !("match" in r);
}
export function isWatchCutRule(r: FaultRule): r is WatchCutRule {
  return "watchCut" in r;
}
export function isPodFaultRule(r: FaultRule): r is PodFaultRule {
  return "match" in r;
}

/**
 * Status reasons and messages for an error code, as apimachinery's NewGenericServerResponse
 * (k8s.io/apimachinery/pkg/api/errors) gives them, so clients classify injected errors like real ones.
 */
const STATUS_BY_CODE: Record<number, { reason: string; message: string }> = {
  400: { reason: "BadRequest", message: "the server rejected our request for an unknown reason" },
  401: { reason: "Unauthorized", message: "the server has asked for the client to provide credentials" },
  403: { reason: "Forbidden", message: "the server does not allow access to the requested resource" },
  404: { reason: "NotFound", message: "the server could not find the requested resource" },
  405: { reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource" },
  406: {
    reason: "NotAcceptable",
    message: "the server was unable to respond with a content type that the client supports",
  },
  409: { reason: "Conflict", message: "the server reported a conflict" },
  410: { reason: "Gone", message: "the server has deleted the requested resource" },
  413: { reason: "RequestEntityTooLarge", message: "the request entity is too large" },
  415: {
    reason: "UnsupportedMediaType",
    message: "the server was unable to respond with a content type that the client supports",
  },
  422: { reason: "Invalid", message: "the server rejected our request due to an error in our request" },
  429: {
    reason: "TooManyRequests",
    message: "the server has received too many requests and has asked us to try again later",
  },
  500: { reason: "InternalError", message: "an error on the server has prevented the request from succeeding" },
  503: { reason: "ServiceUnavailable", message: "the server is currently unable to handle the request" },
  504: {
    reason: "Timeout",
    message: "the server was unable to return a response in the time allotted, but may still be processing the request",
  },
};

export function statusForCode(code: number): { reason: string; message: string } {
  return (
    STATUS_BY_CODE[code] ??
    (code >= 500
      ? { reason: "InternalError", message: "an error on the server has prevented the request from succeeding" }
      : { reason: "Unknown", message: "the server responded with an unexpected status" })
  );
}

export interface ApiRequestInfo {
  verb: string;
  group: string;
  /** plural resource name */
  resource: string;
  namespace?: string;
}

export interface InjectedApiError {
  code: number;
  reason: string;
  message: string;
  delayMs: number;
  retryAfterSeconds?: number;
}

export type ApiFaultOutcome = InjectedApiError | { delayMs: number };

export function isInjectedApiError(o: ApiFaultOutcome): o is InjectedApiError {
  return "code" in o;
}

/** The ApiError the HTTP layer turns into a Status body (and a Retry-After header when retryAfterSeconds is set). */
export function apiErrorOf(fault: InjectedApiError): ApiError {
  return new ApiError(
    fault.code,
    fault.reason,
    fault.message,
    fault.retryAfterSeconds !== undefined ? { retryAfterSeconds: fault.retryAfterSeconds } : undefined,
  );
}

/** What the rules say about one pod: the kubelet's PodFault plus its mesh behaviour. */
export interface PodEffects extends Required<PodFault> {
  errorRate: number;
  addedLatencyMs: number;
  xdsRejects: boolean;
}

const NO_POD_EFFECTS: PodEffects = Object.freeze({
  crashLoop: false,
  neverReady: false,
  errorRate: 0,
  addedLatencyMs: 0,
  xdsRejects: false,
});

/** Without afterMs a matching watch is cut after one second: long enough for clients to back off, short enough to hurt. */
export const DEFAULT_WATCH_CUT_MS = 1000;

/** mulberry32: a tiny seeded PRNG, so `rate < 1` faults fire in the same pattern on every run. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** "1.28" matches proxies 1.28.x; "1.28.0" matches exactly 1.28.0 (dotted prefix, never "1.2" for "1.28"). */
function versionMatches(wanted: string, actual: string | undefined): boolean {
  if (!actual) return false;
  return actual === wanted || actual.startsWith(`${wanted}.`) || actual.startsWith(`${wanted}-`);
}

export class Faults {
  private list: FaultRule[] = [];
  private readonly listeners = new Set<(rules: readonly FaultRule[]) => void>();
  private random: () => number;
  private readonly seed: number;
  // Stored pods are immutable, so a pod object's effects hold until the rules change (a scrape of
  // 20,000 pods asks twice per pod); rebuilt on every change.
  private effectsCache = new WeakMap<KObject, PodEffects>();

  constructor(rules: unknown[] = [], opts: { seed?: number } = {}) {
    this.seed = opts.seed ?? 1;
    this.random = seededRandom(this.seed);
    this.list = parseFaultRules(rules);
  }

  /** The active rules; an API rule's `count` is what is left of it (spent rules are gone). */
  get rules(): FaultRule[] {
    return this.list.map((r) => structuredClone(r));
  }

  /** Replaces every rule (validated first: on error nothing changes) and restarts the random sequence. */
  replace(rules: unknown[]): void {
    const parsed = parseFaultRules(rules);
    this.list = parsed;
    this.random = seededRandom(this.seed);
    this.changed();
  }

  add(rule: unknown): void {
    const [parsed] = parseFaultRules([rule]);
    this.list = [...this.list, parsed];
    this.changed();
  }

  clear(): void {
    this.list = [];
    this.changed();
  }

  /** Called after every change of the rules (controllers re-evaluate pods); returns an unsubscribe function. */
  onChange(fn: (rules: readonly FaultRule[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * What happens to one API request: an injected error (after delayMs), only added latency, or nothing.
   * Rules apply in order; delay-only rules add up, the first error rule that fires decides the response.
   */
  apiFault(req: ApiRequestInfo): ApiFaultOutcome | undefined {
    let delayMs = 0;
    let delayed = false;
    let spent = false;
    let outcome: InjectedApiError | undefined;
    for (const rule of this.list) {
      if (!isApiFaultRule(rule) || !this.apiRuleMatches(rule, req)) continue;
      const rate = rule.rate ?? 1;
      if (rate < 1 && this.random() >= rate) continue;
      if (rule.count !== undefined) {
        rule.count -= 1;
        if (rule.count === 0) spent = true;
      }
      delayMs += rule.delayMs ?? 0;
      delayed ||= rule.delayMs !== undefined;
      if (rule.code !== undefined) {
        const { reason, message } = statusForCode(rule.code);
        const retryAfterSeconds = rule.retryAfterSeconds ?? (rule.code === 429 ? 1 : undefined);
        outcome = {
          code: rule.code,
          reason,
          message: `${message} (fault injected by the sandbox for ${req.verb} ${req.group ? `${req.resource}.${req.group}` : req.resource})`,
          delayMs,
          ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
        };
        break;
      }
    }
    if (spent) {
      this.list = this.list.filter((r) => !(isApiFaultRule(r) && r.count === 0));
      this.changed();
    }
    if (outcome) return outcome;
    return delayed ? { delayMs } : undefined;
  }

  /** After how many ms a watch on this resource is to be closed by the server, or undefined to leave it open. */
  watchCutMs(resource: string): number | undefined {
    let cut: number | undefined;
    for (const rule of this.list) {
      if (!isWatchCutRule(rule)) continue;
      if (rule.watchCut.resource !== undefined && rule.watchCut.resource !== resource) continue;
      const afterMs = rule.watchCut.afterMs ?? DEFAULT_WATCH_CUT_MS;
      cut = cut === undefined ? afterMs : Math.min(cut, afterMs);
    }
    return cut;
  }

  /**
   * Every pod rule matching the pod, combined: flags OR-ed, latencies added, error rates combined as
   * independent failures (1 - Π(1 - e)).
   */
  podEffects(pod: KObject): PodEffects {
    const cached = this.effectsCache.get(pod);
    if (cached) return cached;
    const effects = this.resolvePodEffects(pod);
    this.effectsCache.set(pod, effects);
    return effects;
  }

  private resolvePodEffects(pod: KObject): PodEffects {
    let effects: PodEffects | undefined;
    for (const rule of this.list) {
      if (!isPodFaultRule(rule) || !podMatches(rule, pod)) continue;
      effects ??= { ...NO_POD_EFFECTS };
      effects.crashLoop ||= rule.crashLoop === true;
      effects.neverReady ||= rule.neverReady === true;
      effects.xdsRejects ||= rule.xdsRejects === true;
      effects.addedLatencyMs += rule.addedLatencyMs ?? 0;
      const e = rule.errorRate ?? 0;
      effects.errorRate = effects.errorRate + e - effects.errorRate * e;
    }
    return effects ? Object.freeze(effects) : NO_POD_EFFECTS;
  }

  /** What the simulated kubelet applies to the pod. */
  podFault(pod: KObject): PodFault {
    const { crashLoop, neverReady } = this.podEffects(pod);
    return { ...(crashLoop ? { crashLoop } : {}), ...(neverReady ? { neverReady } : {}) };
  }

  /** What the pod's sidecar reports for inbound requests. */
  trafficFault(pod: KObject): { errorRate: number; addedLatencyMs: number } {
    const { errorRate, addedLatencyMs } = this.podEffects(pod);
    return { errorRate, addedLatencyMs };
  }

  private apiRuleMatches(rule: ApiFaultRule, req: ApiRequestInfo): boolean {
    if (rule.verb !== undefined && rule.verb !== req.verb) return false;
    if (rule.resource !== undefined && rule.resource !== req.resource) return false;
    if (rule.group !== undefined && rule.group !== req.group) return false;
    if (rule.namespace !== undefined && rule.namespace !== req.namespace) return false;
    return true;
  }

  private changed(): void {
    this.effectsCache = new WeakMap();
    const snapshot = this.rules;
    for (const fn of [...this.listeners]) fn(snapshot);
  }
}

function podMatches(rule: PodFaultRule, pod: KObject): boolean {
  const m = rule.match;
  if (m.namespace !== undefined && m.namespace !== pod.metadata.namespace) return false;
  const identity = proxyIdentity(pod);
  if (m.workload !== undefined && m.workload !== identity.workload.name) return false;
  if (m.revision !== undefined && m.revision !== identity.revision) return false;
  if (m.proxyVersion !== undefined && !versionMatches(m.proxyVersion, identity.proxyVersion)) return false;
  return true;
}
