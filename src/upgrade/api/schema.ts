// The MeshUpgrade custom resource (meshlift.io/v1alpha1): the one definition of its shape. TypeScript
// types are inferred from it, the CRD's OpenAPI schema is generated from it (crd.ts), and
// validate.ts checks a spec against the cluster on top of it. Change the API here, then run
// `npx tsx scripts/gen-crd.ts` to regenerate deploy/crds/meshupgrade.yaml.
import { z } from "zod";
import { objectRefSchema } from "../../mesh/schema.js";
import type { Finding } from "../../checks/finding.js";
import { gateStatusSchema } from "../gates/status.js";

/** Adds a refinement issue whose fix the validator shows beside the message. */
function refuse(ctx: z.RefinementCtx, path: (string | number)[], message: string, fix: string): void {
  ctx.addIssue({ code: "custom", path, message, params: { fix } });
}

export const MESHUPGRADE = {
  group: "meshlift.io",
  version: "v1alpha1",
  apiVersion: "meshlift.io/v1alpha1",
  kind: "MeshUpgrade",
  listKind: "MeshUpgradeList",
  plural: "meshupgrades",
  singular: "meshupgrade",
  shortNames: ["mu"],
  categories: ["meshlift"],
  scope: "Cluster",
  /** field manager for every write meshlift makes (server-side apply and updates) */
  fieldManager: "meshlift",
} as const;

// --- shared pieces -----------------------------------------------------------------------------

/** RFC 1123 label: namespace names and Istio revision names (operator/pkg/apis/validation). */
export const dns1123Label = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1123 label: lower-case letters, digits and '-'");

/** Go duration text as Flagger and Argo Rollouts take it: "30s", "1m30s", "500ms", "2h". */
export const durationText = z
  .string()
  .regex(/^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/, 'must be a duration such as "30s", "1m" or "1m30s"');

const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a duration text ("1m30s" → 90000); NaN when the text is not a duration. */
export function durationMs(text: string): number {
  if (!durationText.safeParse(text).success) return Number.NaN;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) total += Number(m[1]) * DURATION_UNIT_MS[m[2]];
  return total;
}

const count = z.number().int().min(0);
const timestamp = z.iso.datetime({ offset: true });

/** metav1.LabelSelector (apimachinery/pkg/apis/meta/v1/types.go). */
export const labelSelectorSchema = z
  .object({
    matchLabels: z.record(z.string(), z.string()).optional(),
    matchExpressions: z
      .array(
        z
          .object({
            key: z.string().min(1),
            operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
            values: z.array(z.string()).optional(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict()
  .superRefine((sel, ctx) => {
    // apimachinery ValidateLabelSelectorRequirement
    for (const [i, req] of (sel.matchExpressions ?? []).entries()) {
      const hasValues = (req.values ?? []).length > 0;
      if ((req.operator === "In" || req.operator === "NotIn") && !hasValues) {
        refuse(
          ctx,
          ["matchExpressions", i, "values"],
          `values must be given when operator is ${req.operator}`,
          "List at least one label value, or use operator Exists.",
        );
      }
      if ((req.operator === "Exists" || req.operator === "DoesNotExist") && req.values !== undefined) {
        refuse(
          ctx,
          ["matchExpressions", i, "values"],
          `values may not be given when operator is ${req.operator}`,
          "Remove values, or use operator In.",
        );
      }
    }
  })
  .describe("A Kubernetes label selector over namespace labels; an empty selector selects every namespace.");
export type LabelSelector = z.infer<typeof labelSelectorSchema>;

const configMapRefSchema = z
  .object({
    namespace: dns1123Label,
    name: z.string().min(1).max(253),
    key: z.string().min(1).optional().describe("Data key holding the manifests; default: every key, in key order."),
  })
  .strict();

const secretKeyRefSchema = z
  .object({
    namespace: dns1123Label,
    name: z.string().min(1).max(253),
    key: z.string().min(1).default("kubeconfig"),
  })
  .strict();

const workloadRefSchema = z
  .object({ kind: z.string().min(1), namespace: z.string().min(1), name: z.string().min(1) })
  .strict();

// --- spec ----------------------------------------------------------------------------------------

export const INSTALL_MODES = ["Adopt", "Manifests", "Sail"] as const;

const installSchema = z
  .object({
    mode: z
      .enum(INSTALL_MODES)
      .default("Adopt")
      .describe(
        "Adopt: you install the target revision (Helm, istioctl, GitOps) and meshlift waits until it is Ready. Manifests: meshlift server-side-applies rendered manifests. Sail: meshlift creates the Sail operator's IstioRevision.",
      ),
    manifests: z
      .object({
        configMapRef: configMapRefSchema
          .optional()
          .describe(
            "ConfigMap holding `istioctl manifest generate --set revision=…` or `helm template` output (operator mode; the CLI takes files).",
          ),
      })
      .strict()
      .optional(),
    sail: z
      .object({
        name: dns1123Label.optional().describe("IstioRevision name; default: the target revision name."),
        namespace: dns1123Label.optional().describe("Control-plane namespace; default istio-system."),
        values: z
          .record(z.string(), z.unknown())
          .optional()
          .describe("Helm-style values passed to the IstioRevision (spec.values)."),
      })
      .strict()
      .optional(),
  })
  .strict();

const namespaceSelectionSchema = z
  .object({
    selector: labelSelectorSchema.optional(),
    names: z.array(dns1123Label).min(1).optional(),
    all: z
      .literal(true)
      .optional()
      .describe("Every namespace on the source revision (the default when neither selector nor names is set)."),
    exclude: z.array(dns1123Label).optional().describe("Namespaces never touched, whatever selects them."),
  })
  .strict()
  .superRefine((sel, ctx) => {
    const given = (["selector", "names", "all"] as const).filter((k) => sel[k] !== undefined);
    if (given.length > 1) {
      refuse(
        ctx,
        [],
        `${given.join(" and ")} are set; at most one of selector, names and all may be`,
        "Keep one: selector (by labels), names (a list) or all (every namespace on the source revision).",
      );
    }
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "(has(self.selector) ? 1 : 0) + (has(self.names) ? 1 : 0) + (has(self.all) ? 1 : 0) <= 1",
        message: "set at most one of selector, names and all",
      },
    ],
  })
  .describe(
    "Which namespaces move to the target revision: those on the source revision, narrowed by selector or names, minus exclude.",
  );

const wavesSchema = z
  .object({
    explicit: z
      .array(z.array(dns1123Label))
      .optional()
      .describe("Namespaces per wave, in order; every selected namespace must be in exactly one wave."),
    size: z.number().int().min(1).optional().describe("Namespaces per wave when waves are computed."),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (w.explicit !== undefined && w.size !== undefined) {
      refuse(
        ctx,
        [],
        "explicit and size are both set",
        "Keep explicit (you list each wave) or size (meshlift groups namespaces), not both.",
      );
    }
  })
  .meta({
    "x-kubernetes-validations": [
      { rule: "!(has(self.explicit) && has(self.size))", message: "set explicit or size, not both" },
    ],
  })
  .describe(
    "How namespaces are grouped into waves; unset: one namespace per wave. Each wave is verified before the next.",
  );

const revisionTagSchema = z
  .object({
    name: dns1123Label.describe("Revision tag (istio.io/rev=<name>) the selected namespaces use."),
    moveInsteadOfRelabel: z
      .boolean()
      .default(true)
      .describe(
        "Move the tag to the target revision (istioctl tag set --overwrite) instead of relabelling namespaces.",
      ),
  })
  .strict();

const gatewaysSchema = z
  .object({
    include: z.boolean().default(true),
    strategy: z
      .enum(["InPlace", "Canary"])
      .default("InPlace")
      .describe(
        "InPlace: relabel and rolling-restart the gateway. Canary: a second Deployment on the target revision behind the same Service, then cut over.",
      ),
    surgeSingleReplica: z
      .boolean()
      .default(true)
      .describe("Scale a single-replica gateway to two before restarting it, so it never has zero ready pods."),
  })
  .strict();

const dataPlaneSchema = z
  .object({
    namespaces: namespaceSelectionSchema.prefault({}),
    order: z
      .array(dns1123Label)
      .optional()
      .describe("Namespaces to move first, in this order; the rest follow by name."),
    canary: z
      .array(dns1123Label)
      .optional()
      .describe("Namespaces moved first, as a wave of their own, before any other."),
    waves: wavesSchema.optional(),
    maxConcurrent: z.number().int().min(1).default(5).describe("Most workloads restarting at once."),
    restart: z
      .enum(["Automatic", "Manual"])
      .default("Automatic")
      .describe(
        "Automatic: meshlift restarts workloads. Manual: meshlift switches injection and tracks your own restarts.",
      ),
    restartSelected: z
      .array(workloadRefSchema)
      .optional()
      .describe(
        "Manual mode: workloads meshlift restarts for you as their wave comes (Alauda's 'upgrade selected services'); the rest wait for your own restarts.",
      ),
    revisionTag: revisionTagSchema.optional(),
    gateways: gatewaysSchema.prefault({}),
    rolloutTimeoutSeconds: z
      .number()
      .int()
      .min(10)
      .default(600)
      .describe("How long one workload's restart may take before the upgrade pauses and names it."),
    nakedPods: z
      .enum(["List", "Delete"])
      .default("List")
      .describe("Pods without a controller cannot be restarted: List reports them as stragglers; Delete deletes them."),
    jobs: z.enum(["List"]).default("List").describe("Job pods are listed, never restarted."),
  })
  .strict();

/** Built-in metric checks of the verification gate (issue 5); a check with another name needs a query. */
export const BUILTIN_CHECKS = ["request-success-rate", "request-duration-p99", "xds-rejects"] as const;

const thresholdSchema = z
  .object({ min: z.number().optional(), max: z.number().optional() })
  .strict()
  .superRefine((t, ctx) => {
    if (t.min === undefined && t.max === undefined)
      refuse(ctx, [], "threshold has neither min nor max", "Set min (e.g. 99 for a success rate), max, or both.");
    if (t.min !== undefined && t.max !== undefined && t.min > t.max) {
      refuse(
        ctx,
        [],
        `min ${t.min} is above max ${t.max}: no value could pass`,
        "Swap them or widen the range so that min ≤ max.",
      );
    }
  })
  .meta({
    "x-kubernetes-validations": [
      { rule: "has(self.min) || has(self.max)", message: "set min, max or both" },
      { rule: "!(has(self.min) && has(self.max)) || self.min <= self.max", message: "min must not exceed max" },
    ],
  });

const metricCheckSchema = z
  .object({
    name: dns1123Label.describe(`A built-in check (${BUILTIN_CHECKS.join(", ")}) or your own name with a query.`),
    query: z
      .string()
      .min(1)
      .optional()
      .describe("PromQL returning one number; $namespaces, $workloads and $revision are substituted."),
    threshold: thresholdSchema.optional(),
    dryRun: z.boolean().default(false).describe("Measure and record, but never fail the wave."),
  })
  .strict();

const verificationSchema = z
  .object({
    healthGate: z
      .object({
        minReadySeconds: z
          .number()
          .int()
          .min(0)
          .default(30)
          .describe("How long a wave's workloads must stay Ready, without restarts, before the wave passes."),
      })
      .strict()
      .prefault({}),
    prometheus: z
      .object({
        url: z.url().describe("Prometheus HTTP API base URL."),
        interval: durationText.default("1m"),
        count: z.number().int().min(1).default(3).describe("Measurements per wave."),
        failureLimit: z.number().int().min(0).default(0).describe("Failed measurements tolerated."),
        inconclusiveLimit: z
          .number()
          .int()
          .min(0)
          .default(0)
          .describe("Inconclusive measurements (no samples) tolerated."),
        initialDelay: durationText.default("0s"),
        checks: z.array(metricCheckSchema).optional().describe("Default: every built-in check."),
      })
      .strict()
      .optional(),
    onFailure: z.enum(["Pause", "Rollback"]).default("Pause"),
  })
  .strict();

export const UPGRADE_ACTIONS = ["Proceed", "Rollback", "Pause", "Resume"] as const;

const clusterSchema = z
  .object({
    name: dns1123Label,
    kubeconfigSecretRef: secretKeyRefSchema
      .optional()
      .describe("Secret with the cluster's kubeconfig; unset: the cluster meshlift runs in."),
    from: dns1123Label.optional().describe("Source revision in this cluster; default: auto-detected."),
    namespaces: namespaceSelectionSchema.optional().describe("Overrides spec.dataPlane.namespaces in this cluster."),
  })
  .strict();

export const PRE_UPGRADE_STEP_KINDS = ["ScaleDown", "ScaleUp", "ApplyCRDs", "Wait", "Check", "Run"] as const;

const preUpgradeStepSchema = z
  .object({
    name: dns1123Label,
    kind: z.enum(PRE_UPGRADE_STEP_KINDS),
    target: workloadRefSchema.optional().describe("ScaleDown/ScaleUp/Wait: the workload."),
    replicas: z.number().int().min(0).optional().describe("ScaleUp: replicas; default: what ScaleDown recorded."),
    manifests: configMapRefSchema.optional().describe("ApplyCRDs: ConfigMap with the CRD manifests."),
    duration: durationText.optional().describe("Wait: fixed pause."),
    checks: z
      .array(z.string().min(1))
      .optional()
      .describe("Check: meshlift prechecks (by name, e.g. envoyFilterRelativePatches) that must report no error."),
    run: z
      .object({
        image: z.string().min(1),
        command: z.array(z.string()).min(1),
        serviceAccountName: dns1123Label.optional(),
      })
      .strict()
      .optional()
      .describe("Run: a Job that must succeed."),
  })
  .strict()
  .superRefine((step, ctx) => {
    const needs: Record<(typeof PRE_UPGRADE_STEP_KINDS)[number], (keyof typeof step)[]> = {
      ScaleDown: ["target"],
      ScaleUp: ["target"],
      ApplyCRDs: ["manifests"],
      Wait: [],
      Check: ["checks"],
      Run: ["run"],
    };
    for (const field of needs[step.kind]) {
      if (step[field] === undefined)
        refuse(ctx, [field], `a ${step.kind} step needs ${field}`, `Add ${field} to step "${step.name}".`);
    }
    if (step.kind === "Wait" && step.duration === undefined && step.target === undefined) {
      refuse(
        ctx,
        [],
        "a Wait step needs duration or target",
        "Set duration (a fixed pause) or target (wait until it is Ready).",
      );
    }
    const allowed = new Set<string>([
      "name",
      "kind",
      ...needs[step.kind],
      ...(step.kind === "ScaleUp" ? ["replicas"] : []),
      ...(step.kind === "Wait" ? ["duration", "target"] : []),
    ]);
    for (const field of Object.keys(step)) {
      if (!allowed.has(field))
        refuse(ctx, [field], `${field} has no meaning for a ${step.kind} step`, `Remove ${field}, or change kind.`);
    }
    if (
      (step.kind === "ScaleDown" || step.kind === "ScaleUp") &&
      step.target &&
      !["Deployment", "StatefulSet"].includes(step.target.kind)
    ) {
      refuse(
        ctx,
        ["target", "kind"],
        `${step.kind} scales a Deployment or StatefulSet, not a ${step.target.kind}`,
        "Name a Deployment or StatefulSet.",
      );
    }
  });

export const meshUpgradeSpecSchema = z
  .object({
    from: dns1123Label.optional().describe("Source revision; default: auto-detected (the revision the mesh runs on)."),
    to: z
      .object({
        version: z.string().min(1).describe('Target Istio version: "1.29.2", or "1.29" for its latest patch.'),
        revision: dns1123Label
          .optional()
          .describe('Target revision name; default: the version with dashes ("1-29-2").'),
      })
      .strict(),
    install: installSchema.prefault({}),
    dataPlane: dataPlaneSchema.prefault({}),
    verification: verificationSchema.prefault({}),
    approval: z
      .object({
        mode: z
          .enum(["None", "BeforeOffline", "PerWave"])
          .default("None")
          .describe(
            "When meshlift waits for action: Proceed — never, before taking the old revision offline, or after every wave.",
          ),
      })
      .strict()
      .prefault({}),
    decommission: z
      .object({
        mode: z
          .enum(["Automatic", "Manual"])
          .default("Automatic")
          .describe("Manual: meshlift lists what to remove and waits until it is gone."),
        graceSeconds: z
          .number()
          .int()
          .min(0)
          .default(60)
          .describe("How long the old revision must have zero proxies before it is removed."),
      })
      .strict()
      .prefault({}),
    action: z.enum(UPGRADE_ACTIONS).optional().describe("Set by users; acknowledged in status.acknowledgedAction."),
    actionNonce: z
      .string()
      .min(1)
      .max(63)
      .optional()
      .describe("Change it to ask for the same action again (e.g. a second Proceed)."),
    clusters: z
      .array(clusterSchema)
      .optional()
      .describe("Not yet acted on: clusters of a multi-cluster mesh, upgraded one at a time."),
    preUpgradeSteps: z
      .array(preUpgradeStepSchema)
      .optional()
      .describe("Not yet acted on: ordered steps run before the control-plane upgrade."),
  })
  .strict();

export type MeshUpgradeSpec = z.output<typeof meshUpgradeSpecSchema>;
/** A spec as users write it: every defaulted field optional. */
export type MeshUpgradeSpecInput = z.input<typeof meshUpgradeSpecSchema>;
export type UpgradeAction = (typeof UPGRADE_ACTIONS)[number];
export type InstallMode = (typeof INSTALL_MODES)[number];

// --- status --------------------------------------------------------------------------------------

export const UPGRADE_STAGES = [
  "Pending",
  "Prechecking",
  "ControlPlaneUpgrade",
  "DataPlaneUpgrade",
  "Paused",
  "OldControlPlaneOffline",
  "Completed",
  "RollingBack",
  "NewControlPlaneOffline",
  "RolledBack",
  "Failed",
] as const;
export type UpgradeStage = (typeof UPGRADE_STAGES)[number];

/** Stages after which nothing more happens; an upgrade in any other stage holds the mesh's lock. */
export const TERMINAL_STAGES: readonly UpgradeStage[] = ["Completed", "RolledBack", "Failed"];

/** Rollback is possible from every stage before OldControlPlaneOffline (DESIGN.md invariant 5). */
export const ROLLBACK_STAGES: readonly UpgradeStage[] = [
  "Pending",
  "Prechecking",
  "ControlPlaneUpgrade",
  "DataPlaneUpgrade",
  "Paused",
];

const conditionSchema = z
  .object({
    type: z.string().min(1),
    status: z.enum(["True", "False", "Unknown"]),
    reason: z.string(),
    message: z.string(),
    lastTransitionTime: timestamp,
    observedGeneration: count.optional(),
  })
  .strict();
export type UpgradeCondition = z.infer<typeof conditionSchema>;

const resolvedRevisionSchema = z.object({ revision: z.string(), version: z.string() }).strict();

export const findingSchema = z
  .object({
    id: z.string(),
    severity: z.enum(["error", "warning", "info"]),
    objects: z.array(objectRefSchema),
    message: z.string(),
    fix: z.string(),
  })
  .strict();
// the status carries src/checks findings as they are; this fails to compile if the two drift
const _findingShape: z.ZodType<Finding> = findingSchema;
void _findingShape;

const waveSchema = z
  .object({ index: count, namespaces: z.array(z.string()), workloads: z.array(workloadRefSchema) })
  .strict();

export const NAMESPACE_STATES = [
  "Pending",
  "Switched",
  "Restarting",
  "Verifying",
  "Done",
  "Failed",
  "RolledBack",
] as const;
export const WORKLOAD_STATES = [
  "Pending",
  "Restarting",
  "RolledOut",
  "Verified",
  "WaitingForUser",
  "Failed",
  "Skipped",
  "RolledBack",
] as const;

const injectionLabelsSchema = z
  .object({ istioInjection: z.string().nullable(), rev: z.string().nullable() })
  .strict()
  .describe("The namespace's istio-injection and istio.io/rev labels (null: absent).");

const namespaceProgressSchema = z
  .object({
    name: z.string(),
    wave: count,
    state: z.enum(NAMESPACE_STATES),
    proxies: z.object({ old: count, new: count, none: count }).strict(),
    originalLabels: injectionLabelsSchema
      .optional()
      .describe("Labels before meshlift switched the namespace, restored exactly on rollback."),
  })
  .strict();

export const WAVE_STATES = ["Pending", "Running", "Verifying", "WaitingForApproval", "Done", "Failed"] as const;

const waveProgressSchema = z
  .object({
    index: count,
    state: z.enum(WAVE_STATES),
    startedAt: timestamp.optional(),
    completedAt: timestamp.optional(),
    message: z.string().optional(),
  })
  .strict();

const workloadProgressSchema = workloadRefSchema
  .extend({
    wave: count,
    state: z.enum(WORKLOAD_STATES),
    restartToken: z
      .string()
      .optional()
      .describe("Restart token in the pod template: a restart is never repeated in one wave."),
    restartedAt: timestamp
      .optional()
      .describe("When the restart was asked; the same value is written again if it must be repeated."),
    ready: z.string().optional().describe('Ready pods of desired, e.g. "3/3".'),
    message: z.string().optional(),
    gateway: z
      .object({
        originalRevisionLabel: z.string().nullable().describe("Pod-template istio.io/rev before the switch."),
        originalReplicas: count.optional().describe("Replicas before a single-replica gateway was surged."),
        surgeToken: z.string().optional().describe("The restart pass that surged it (a surge is made once per pass)."),
        canary: z
          .string()
          .optional()
          .describe("Canary strategy: the gateway Deployment meshlift created on the target revision."),
      })
      .strict()
      .optional(),
  })
  .strict();

const stragglerSchema = workloadRefSchema.extend({ why: z.string() }).strict();

const measurementSchema = z
  .object({
    check: z.string(),
    value: z.number().nullable(),
    verdict: z.enum(["Pass", "Fail", "Inconclusive", "Error"]),
    at: timestamp.optional(),
    message: z.string().optional(),
  })
  .strict();

const historyEntrySchema = z
  .object({
    time: timestamp,
    actor: z.string().optional().describe("User or controller that asked for it, when known."),
    action: z.string().min(1),
    target: objectRefSchema.optional(),
    reason: z.string(),
    targets: z
      .array(objectRefSchema)
      .optional()
      .describe("Every object of a batched action, e.g. one wave's restarts."),
    outcome: z.enum(["Intended", "Succeeded", "Failed", "Skipped"]).optional(),
    measurements: z.array(measurementSchema).optional(),
  })
  .strict();
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

const clusterProgressSchema = z
  .object({
    name: z.string(),
    stage: z.enum(UPGRADE_STAGES),
    from: resolvedRevisionSchema.optional(),
    summary: z.string().optional(),
    stragglers: z.array(stragglerSchema).optional(),
    message: z.string().optional(),
  })
  .strict();

export const meshUpgradeStatusSchema = z
  .object({
    stage: z.enum(UPGRADE_STAGES).default("Pending"),
    observedGeneration: count.optional(),
    message: z.string().optional(),
    startedAt: timestamp.optional(),
    completedAt: timestamp.optional(),
    conditions: z.array(conditionSchema).optional(),
    from: resolvedRevisionSchema.optional(),
    to: resolvedRevisionSchema.optional(),
    findings: z.array(findingSchema).optional(),
    plan: z
      .object({ waves: z.array(waveSchema) })
      .strict()
      .optional(),
    progress: z
      .object({
        summary: z.string().optional().describe('One line for the PROGRESS column, e.g. "wave 2/4, 12/30 workloads".'),
        namespaces: z.array(namespaceProgressSchema).optional(),
        workloads: z.array(workloadProgressSchema).optional(),
        currentWave: count.optional(),
        completedWaves: count.optional(),
        waves: z.array(waveProgressSchema).optional(),
      })
      .strict()
      .optional(),
    stragglers: z.array(stragglerSchema).optional(),
    pausedFrom: z.enum(UPGRADE_STAGES).optional().describe("The stage a Resume returns to."),
    rollback: z
      .object({
        from: z.enum(UPGRADE_STAGES),
        reason: z.string(),
        at: timestamp,
        wave: count.optional().describe("The wave whose verification failed: rolled back first."),
      })
      .strict()
      .optional()
      .describe("Why and from which stage the upgrade is rolling back."),
    tags: z
      .array(z.object({ name: z.string(), originalRevision: z.string(), movedAt: timestamp.optional() }).strict())
      .optional()
      .describe("Revision tags meshlift re-pointed, with the revision each pointed at before."),
    offline: z
      .object({
        revision: z.string(),
        checkedAt: timestamp.optional().describe("Last fresh LIST (not the cache) of the revision's proxies."),
        zeroSince: timestamp.optional().describe("Since when every fresh LIST showed zero proxies on the revision."),
        removedAt: timestamp.optional(),
      })
      .strict()
      .optional(),
    gates: z
      .array(gateStatusSchema)
      .optional()
      .describe("Verification gate of each wave that began: health, measurements, verdict."),
    installedObjects: z
      .array(
        z
          .object({
            apiVersion: z.string(),
            kind: z.string(),
            namespace: z.string().optional(),
            name: z.string(),
            created: z.boolean().optional().describe("meshlift created it (false: it existed and was updated)."),
          })
          .strict(),
      )
      .optional()
      .describe("Objects meshlift created for the target revision (Manifests/Sail), removed on rollback."),
    acknowledgedAction: z
      .object({ action: z.enum(UPGRADE_ACTIONS), nonce: z.string().optional(), at: timestamp })
      .strict()
      .optional(),
    history: z.array(historyEntrySchema).optional(),
    clusters: z.array(clusterProgressSchema).optional().describe("Per-cluster progress of a multi-cluster mesh."),
  })
  .strict();

export type MeshUpgradeStatus = z.output<typeof meshUpgradeStatusSchema>;

export const meshUpgradeSchema = z.object({
  apiVersion: z.literal(MESHUPGRADE.apiVersion),
  kind: z.literal(MESHUPGRADE.kind),
  metadata: z.looseObject({ name: z.string().min(1) }),
  spec: meshUpgradeSpecSchema,
  status: meshUpgradeStatusSchema.optional(),
});
export type MeshUpgrade = z.output<typeof meshUpgradeSchema>;
