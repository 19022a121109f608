// What a wave's gate records in the MeshUpgrade status: the zod schema (structural, so the CRD can be
// generated from it) and its types. Depends on nothing but zod, so api/schema.ts can embed it without
// an import cycle.
import { z } from "zod";

export const VERDICTS = ["Pass", "Fail", "Inconclusive", "Error"] as const;
export type Verdict = (typeof VERDICTS)[number];

const count = z.number().int().min(0);
const timestamp = z.iso.datetime({ offset: true });

export const GATE_PHASES = ["Running", "Passed", "Failed", "Inconclusive", "Error"] as const;
export type GatePhase = (typeof GATE_PHASES)[number];
export const HEALTH_VERDICTS = ["Pass", "Fail", "Waiting"] as const;
export type HealthVerdict = (typeof HEALTH_VERDICTS)[number];

export const gateMeasurementSchema = z
  .object({
    check: z.string(),
    at: timestamp.describe("When it was measured: the query's evaluation time."),
    value: z.number().nullable(),
    verdict: z.enum(VERDICTS),
    message: z.string().optional(),
    dryRun: z.boolean().optional().describe("Recorded, never counted against the wave."),
  })
  .strict();
export type GateMeasurement = z.infer<typeof gateMeasurementSchema>;

export const gateStatusSchema = z
  .object({
    wave: count,
    startedAt: timestamp.describe(
      "When the wave began (before its first restart): restarts and baselines count from here.",
    ),
    checkedSince: timestamp
      .optional()
      .describe(
        "When the health gate first looked at the wave (all its restarts issued): its timeout counts from here.",
      ),
    analysisStartedAt: timestamp
      .optional()
      .describe(
        "When the health gate first saw the wave rolled out: the analysis' initialDelay and interval count from here.",
      ),
    baseline: z
      .object({
        at: timestamp,
        p99Ms: z.array(z.object({ workload: z.string(), value: z.number() }).strict()),
      })
      .strict()
      .optional()
      .describe("p99 request duration (ms) per workload just before the wave, for request-duration-p99."),
    health: z
      .object({
        verdict: z.enum(HEALTH_VERDICTS),
        at: timestamp,
        reasons: z.array(z.string()),
      })
      .strict()
      .optional()
      .describe("The latest health gate verdict and its reasons (failures first)."),
    measurements: z.array(gateMeasurementSchema),
    phase: z.enum(GATE_PHASES),
    failedChecks: z
      .array(z.string())
      .describe('Checks (or "health") that decided a failed, inconclusive or error phase.'),
    message: z.string(),
    finishedAt: timestamp.optional(),
  })
  .strict();
export type GateStatus = z.infer<typeof gateStatusSchema>;
