// OpenAPI schemas of the built-in kinds, generated from a compact field notation.
// Levels written out field by field are closed (fieldValidation=Strict reports unknown fields there);
// levels marked `...` or typed `any` keep unknown fields, like x-kubernetes-preserve-unknown-fields.
import type { ResourceType } from "./types.js";

export type JsonSchema = Record<string, any>;

/**
 * Field notation, whitespace separated: `name:type`, type defaulting to string.
 * Types: string int bool number Time MicroTime Quantity IntOrString any (open object) json (any value),
 * `[]T` list, `{}T` map, or a definition name below. A list suffix `@key` makes it a strategic-merge list
 * merged by that key (`@key1,key2`: list-map keys, the first is the patch merge key); `@+` merges a
 * primitive list as a set. A lone `...` keeps unknown fields at that level.
 */
interface Definition {
  description?: string;
  fields: string;
  required?: string[];
}

const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
const CORE = "io.k8s.api.core.v1";

/** Shared definitions by full OpenAPI name; `short` names below resolve to these. */
const DEFINITIONS: Record<string, Definition> = {
  [`${META}.ObjectMeta`]: {
    description:
      "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
    fields:
      "annotations:{}string creationTimestamp:Time deletionGracePeriodSeconds:int deletionTimestamp:Time " +
      "finalizers:[]string@+ generateName generation:int labels:{}string managedFields:[]ManagedFieldsEntry " +
      "name namespace ownerReferences:[]OwnerReference@uid resourceVersion selfLink uid",
  },
  [`${META}.OwnerReference`]: {
    description: "OwnerReference contains enough information to let you identify an owning object.",
    fields: "apiVersion blockOwnerDeletion:bool controller:bool kind name uid",
    required: ["apiVersion", "kind", "name", "uid"],
  },
  [`${META}.ManagedFieldsEntry`]: {
    description:
      "ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource that the fieldset applies to.",
    fields: "apiVersion fieldsType fieldsV1:json manager operation subresource time:Time",
  },
  [`${META}.LabelSelector`]: {
    description:
      "A label selector is a label query over a set of resources. The result of matchLabels and matchExpressions are ANDed. An empty label selector matches all objects. A null label selector matches no objects.",
    fields: "matchExpressions:[]LabelSelectorRequirement matchLabels:{}string",
  },
  [`${META}.LabelSelectorRequirement`]: {
    description:
      "A label selector requirement is a selector that contains values, a key, and an operator that relates the key and values.",
    fields: "key operator values:[]string",
    required: ["key", "operator"],
  },
  [`${CORE}.PodTemplateSpec`]: {
    description: "PodTemplateSpec describes the data a pod should have when created from a template",
    fields: "metadata:ObjectMeta spec:PodSpec",
  },
  [`${CORE}.PodSpec`]: {
    description: "PodSpec is a description of a pod.",
    fields:
      "activeDeadlineSeconds:int affinity:any automountServiceAccountToken:bool containers:[]Container@name " +
      "dnsConfig:any dnsPolicy enableServiceLinks:bool ephemeralContainers:[]any@name hostAliases:[]any@ip " +
      "hostIPC:bool hostNetwork:bool hostPID:bool hostUsers:bool hostname hostnameOverride " +
      "imagePullSecrets:[]LocalObjectReference@name initContainers:[]Container@name nodeName " +
      "nodeSelector:{}string os:any overhead:{}Quantity preemptionPolicy priority:int priorityClassName " +
      "readinessGates:[]any resourceClaims:[]any@name resources:ResourceRequirements restartPolicy " +
      "runtimeClassName schedulerName schedulingGates:[]any@name securityContext:any serviceAccount " +
      "serviceAccountName setHostnameAsFQDN:bool shareProcessNamespace:bool subdomain " +
      "terminationGracePeriodSeconds:int tolerations:[]any topologySpreadConstraints:[]any@topologyKey,whenUnsatisfiable " +
      "volumes:[]Volume@name",
    required: ["containers"],
  },
  [`${CORE}.Container`]: {
    description: "A single application container that you want to run within a pod.",
    fields:
      "args:[]string command:[]string env:[]EnvVar@name envFrom:[]any image imagePullPolicy lifecycle:any " +
      "livenessProbe:any name ports:[]ContainerPort@containerPort,protocol readinessProbe:any resizePolicy:[]any " +
      "resources:ResourceRequirements restartPolicy restartPolicyRules:[]any securityContext:any startupProbe:any " +
      "stdin:bool stdinOnce:bool terminationMessagePath terminationMessagePolicy tty:bool " +
      "volumeDevices:[]any@devicePath volumeMounts:[]VolumeMount@mountPath workingDir",
    required: ["name"],
  },
  [`${CORE}.ContainerPort`]: {
    description: "ContainerPort represents a network port in a single container.",
    fields: "containerPort:int hostIP hostPort:int name protocol",
    required: ["containerPort"],
  },
  [`${CORE}.EnvVar`]: {
    description: "EnvVar represents an environment variable present in a Container.",
    fields: "name value valueFrom:any",
    required: ["name"],
  },
  [`${CORE}.VolumeMount`]: {
    description: "VolumeMount describes a mounting of a Volume within a container.",
    fields: "mountPath mountPropagation name readOnly:bool recursiveReadOnly subPath subPathExpr",
    required: ["name", "mountPath"],
  },
  [`${CORE}.ResourceRequirements`]: {
    description: "ResourceRequirements describes the compute resource requirements.",
    fields: "claims:[]any@name limits:{}Quantity requests:{}Quantity",
  },
  [`${CORE}.Volume`]: {
    description: "Volume represents a named volume in a pod that may be accessed by any container in the pod.",
    // every volume source of core/v1 (closed, as on a real server, so client-side validation knows them all)
    fields:
      "name awsElasticBlockStore:any azureDisk:any azureFile:any cephfs:any cinder:any configMap:any csi:any " +
      "downwardAPI:any emptyDir:any ephemeral:any fc:any flexVolume:any flocker:any gcePersistentDisk:any " +
      "gitRepo:any glusterfs:any hostPath:any image:any iscsi:any nfs:any persistentVolumeClaim:any " +
      "photonPersistentDisk:any portworxVolume:any projected:any quobyte:any rbd:any scaleIO:any secret:any " +
      "storageos:any vsphereVolume:any",
    required: ["name"],
  },
  [`${CORE}.LocalObjectReference`]: {
    description:
      "LocalObjectReference contains enough information to let you locate the referenced object inside the same namespace.",
    fields: "name",
  },
  [`${CORE}.PodStatus`]: {
    description: "PodStatus represents information about the status of a pod.",
    fields:
      "conditions:[]PodCondition@type containerStatuses:[]any ephemeralContainerStatuses:[]any " +
      "extendedResourceClaimStatus:any hostIP hostIPs:[]any@ip initContainerStatuses:[]any message " +
      "nominatedNodeName observedGeneration:int phase podIP podIPs:[]any@ip qosClass reason resize " +
      "resourceClaimStatuses:[]any@name startTime:Time",
  },
  [`${CORE}.PodCondition`]: {
    description: "PodCondition contains details for the current condition of this pod.",
    fields: "lastProbeTime:Time lastTransitionTime:Time message observedGeneration:int reason status type",
    required: ["type", "status"],
  },
  [`${CORE}.ServiceSpec`]: {
    description: "ServiceSpec describes the attributes that a user creates on a service.",
    fields:
      "allocateLoadBalancerNodePorts:bool clusterIP clusterIPs:[]string externalIPs:[]string externalName " +
      "externalTrafficPolicy healthCheckNodePort:int internalTrafficPolicy ipFamilies:[]string ipFamilyPolicy " +
      "loadBalancerClass loadBalancerIP loadBalancerSourceRanges:[]string ports:[]ServicePort@port,protocol " +
      "publishNotReadyAddresses:bool selector:{}string sessionAffinity sessionAffinityConfig:any " +
      "trafficDistribution type",
  },
  [`${CORE}.ServicePort`]: {
    description: "ServicePort contains information on service's port.",
    fields: "appProtocol name nodePort:int port:int protocol targetPort:IntOrString",
    required: ["port"],
  },
  [`${CORE}.NamespaceSpec`]: {
    description: "NamespaceSpec describes the attributes on a Namespace.",
    fields: "finalizers:[]string",
  },
  ["io.k8s.api.apps.v1.DeploymentSpec"]: {
    description: "DeploymentSpec is the specification of the desired behavior of the Deployment.",
    fields:
      "minReadySeconds:int paused:bool progressDeadlineSeconds:int replicas:int revisionHistoryLimit:int " +
      "selector:LabelSelector strategy:any template:PodTemplateSpec",
    required: ["selector", "template"],
  },
  ["io.k8s.api.apps.v1.ReplicaSetSpec"]: {
    description: "ReplicaSetSpec is the specification of a ReplicaSet.",
    fields: "minReadySeconds:int replicas:int selector:LabelSelector template:PodTemplateSpec",
    required: ["selector"],
  },
  ["io.k8s.api.apps.v1.StatefulSetSpec"]: {
    description: "A StatefulSetSpec is the specification of a StatefulSet.",
    fields:
      "minReadySeconds:int ordinals:any persistentVolumeClaimRetentionPolicy:any podManagementPolicy replicas:int " +
      "revisionHistoryLimit:int selector:LabelSelector serviceName template:PodTemplateSpec updateStrategy:any " +
      "volumeClaimTemplates:[]any",
    required: ["selector", "template"],
  },
  ["io.k8s.api.apps.v1.DaemonSetSpec"]: {
    description: "DaemonSetSpec is the specification of a daemon set.",
    fields:
      "minReadySeconds:int revisionHistoryLimit:int selector:LabelSelector template:PodTemplateSpec updateStrategy:any",
    required: ["selector", "template"],
  },
  ["io.k8s.api.batch.v1.JobSpec"]: {
    description: "JobSpec describes how the job execution will look like.",
    fields:
      "activeDeadlineSeconds:int backoffLimit:int backoffLimitPerIndex:int completionMode completions:int managedBy " +
      "manualSelector:bool maxFailedIndexes:int parallelism:int podFailurePolicy:any podReplacementPolicy " +
      "selector:LabelSelector successPolicy:any suspend:bool template:PodTemplateSpec ttlSecondsAfterFinished:int",
    required: ["template"],
  },
  ["io.k8s.api.batch.v1.JobTemplateSpec"]: {
    description: "JobTemplateSpec describes the data a Job should have when created from a template",
    fields: "metadata:ObjectMeta spec:JobSpec",
  },
  ["io.k8s.api.batch.v1.CronJobSpec"]: {
    description: "CronJobSpec describes how the job execution will look like and when it will actually run.",
    fields:
      "concurrencyPolicy failedJobsHistoryLimit:int jobTemplate:JobTemplateSpec schedule startingDeadlineSeconds:int " +
      "successfulJobsHistoryLimit:int suspend:bool timeZone",
    required: ["schedule", "jobTemplate"],
  },
  // webhook items spelled out: kubectl apply walks into webhooks[].rules when it computes a 3-way patch
  ["io.k8s.api.admissionregistration.v1.MutatingWebhook"]: {
    description: "MutatingWebhook describes an admission webhook and the resources and operations it applies to.",
    fields:
      "admissionReviewVersions:[]string clientConfig:any failurePolicy matchConditions:[]any@name matchPolicy name " +
      "namespaceSelector:LabelSelector objectSelector:LabelSelector reinvocationPolicy rules:[]any sideEffects " +
      "timeoutSeconds:int",
    required: ["name", "clientConfig", "sideEffects", "admissionReviewVersions"],
  },
  ["io.k8s.api.admissionregistration.v1.ValidatingWebhook"]: {
    description: "ValidatingWebhook describes an admission webhook and the resources and operations it applies to.",
    fields:
      "admissionReviewVersions:[]string clientConfig:any failurePolicy matchConditions:[]any@name matchPolicy name " +
      "namespaceSelector:LabelSelector objectSelector:LabelSelector rules:[]any sideEffects timeoutSeconds:int",
    required: ["name", "clientConfig", "sideEffects", "admissionReviewVersions"],
  },
  ["io.k8s.api.policy.v1.PodDisruptionBudgetSpec"]: {
    description: "PodDisruptionBudgetSpec is a description of a PodDisruptionBudget.",
    fields: "maxUnavailable:IntOrString minAvailable:IntOrString selector:LabelSelector unhealthyPodEvictionPolicy",
  },
};

/** Short names usable in field notation. */
const SHORT_NAMES: Record<string, string> = Object.fromEntries(
  Object.keys(DEFINITIONS).map((full) => [full.slice(full.lastIndexOf(".") + 1), full]),
);

/** Top-level fields of each built-in kind (besides apiVersion, kind, metadata), by `group/Kind`. */
const KIND_FIELDS: Record<string, string> = {
  "/Pod": "spec:PodSpec status:PodStatus",
  "/Service": "spec:ServiceSpec status:any",
  "/ConfigMap": "binaryData:{}string data:{}string immutable:bool",
  "/Secret": "data:{}string immutable:bool stringData:{}string type",
  "/Namespace": "spec:NamespaceSpec status:any",
  "/ServiceAccount": "automountServiceAccountToken:bool imagePullSecrets:[]LocalObjectReference secrets:[]any@name",
  "/Endpoints": "subsets:[]any",
  "/Event":
    "action count:int eventTime:MicroTime firstTimestamp:Time involvedObject:any lastTimestamp:Time message reason " +
    "related:any reportingComponent reportingInstance series:any source:any type",
  "/Binding": "target:any",
  "/ComponentStatus": "conditions:[]any@type",
  "/PodTemplate": "template:PodTemplateSpec",
  "apps/Deployment": "spec:DeploymentSpec status:any",
  "apps/ReplicaSet": "spec:ReplicaSetSpec status:any",
  "apps/StatefulSet": "spec:StatefulSetSpec status:any",
  "apps/DaemonSet": "spec:DaemonSetSpec status:any",
  "apps/ControllerRevision": "data:json revision:int",
  "batch/Job": "spec:JobSpec status:any",
  "batch/CronJob": "spec:CronJobSpec status:any",
  "policy/PodDisruptionBudget": "spec:PodDisruptionBudgetSpec status:any",
  "events.k8s.io/Event":
    "action deprecatedCount:int deprecatedFirstTimestamp:Time deprecatedLastTimestamp:Time deprecatedSource:any " +
    "eventTime:MicroTime note reason regarding:any related:any reportingController reportingInstance series:any type",
  "rbac.authorization.k8s.io/Role": "rules:[]any",
  "rbac.authorization.k8s.io/ClusterRole": "aggregationRule:any rules:[]any",
  "rbac.authorization.k8s.io/RoleBinding": "roleRef:any subjects:[]any",
  "rbac.authorization.k8s.io/ClusterRoleBinding": "roleRef:any subjects:[]any",
  "admissionregistration.k8s.io/MutatingWebhookConfiguration": "webhooks:[]MutatingWebhook@name",
  "admissionregistration.k8s.io/ValidatingWebhookConfiguration": "webhooks:[]ValidatingWebhook@name",
  "discovery.k8s.io/EndpointSlice": "addressType endpoints:[]any ports:[]any",
  "networking.k8s.io/IngressClass": "spec:any",
  "coordination.k8s.io/Lease": "spec:any",
  "authentication.k8s.io/SelfSubjectReview": "status:any",
};
const DEFAULT_KIND_FIELDS = "spec:any status:any";

const KIND_DESCRIPTIONS: Record<string, string> = {
  "/Pod":
    "Pod is a collection of containers that can run on a host. This resource is created by clients and scheduled onto hosts.",
  "/Service":
    "Service is a named abstraction of software service (for example, mysql) consisting of local port (for example 3306) that the proxy listens on, and the selector that determines which pods will answer requests sent through the proxy.",
  "/Namespace": "Namespace provides a scope for Names. Use of multiple namespaces is optional.",
  "/ConfigMap": "ConfigMap holds configuration data for pods to consume.",
  "/Secret":
    "Secret holds secret data of a certain type. The total bytes of the values in the Data field must be less than MaxSecretSize bytes.",
  "apps/Deployment": "Deployment enables declarative updates for Pods and ReplicaSets.",
  "apps/ReplicaSet": "ReplicaSet ensures that a specified number of pod replicas are running at any given time.",
  "apps/StatefulSet":
    "StatefulSet represents a set of pods with consistent identities. Identities are defined as network (a single stable DNS and hostname) and storage (as many VolumeClaims as requested).",
  "apps/DaemonSet": "DaemonSet represents the configuration of a daemon set.",
  "batch/Job": "Job represents the configuration of a single job.",
  "batch/CronJob": "CronJob represents the configuration of a single cron job.",
  "policy/PodDisruptionBudget":
    "PodDisruptionBudget is an object to define the max disruption that can be caused to a collection of pods",
};

const FIELD_DESCRIPTIONS: Record<string, string> = {
  apiVersion:
    "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
  kind: "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
  metadata:
    "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
  spec: "Specification of the desired behavior of the object. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#spec-and-status",
  status:
    "Most recently observed status of the object. Populated by the system. Read-only. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#spec-and-status",
};

/** The OpenAPI package a group's definitions live in, e.g. "rbac.authorization.k8s.io" -> "io.k8s.api.rbac". */
function groupPackage(group: string): string {
  if (group === "") return "io.k8s.api.core";
  if (group === "apiextensions.k8s.io") return "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions";
  return `io.k8s.api.${group.split(".")[0]}`;
}

/** The definition name a real server gives a kind, e.g. io.k8s.api.apps.v1.Deployment, io.istio.networking.v1.Gateway. */
export function definitionName(t: Pick<ResourceType, "group" | "kind" | "custom">, version: string): string {
  if (t.custom) return `${t.group.split(".").reverse().join(".")}.${version}.${t.kind}`;
  return `${groupPackage(t.group)}.${version}.${t.kind}`;
}

const SCALARS: Record<string, JsonSchema> = {
  string: { type: "string" },
  int: { type: "integer", format: "int64" },
  bool: { type: "boolean" },
  number: { type: "number", format: "double" },
  Time: { type: "string", format: "date-time" },
  MicroTime: { type: "string", format: "date-time" },
  Quantity: { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }] },
  IntOrString: {
    "x-kubernetes-int-or-string": true,
    anyOf: [{ type: "integer" }, { type: "string" }],
    format: "int-or-string",
  },
  any: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
  json: { "x-kubernetes-preserve-unknown-fields": true },
};

/** Renders one type expression; `ref` turns a definition name into a reference, collecting it in `used`. */
function typeSchema(expr: string, ref: (full: string) => JsonSchema): JsonSchema {
  const at = expr.indexOf("@");
  const base = at < 0 ? expr : expr.slice(0, at);
  const merge = at < 0 ? undefined : expr.slice(at + 1);
  if (base.startsWith("[]")) {
    const schema: JsonSchema = { type: "array", items: typeSchema(base.slice(2), ref) };
    if (merge === "+") {
      // a primitive list merged as a set, e.g. metadata.finalizers
      Object.assign(schema, { "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge" });
    } else if (merge) {
      const keys = merge.split(",");
      Object.assign(schema, {
        "x-kubernetes-list-map-keys": keys,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-patch-merge-key": keys[0],
        "x-kubernetes-patch-strategy": "merge",
      });
    } else schema["x-kubernetes-list-type"] = "atomic";
    return schema;
  }
  if (base.startsWith("{}")) return { type: "object", additionalProperties: typeSchema(base.slice(2), ref) };
  if (SCALARS[base]) return structuredClone(SCALARS[base]);
  const full = SHORT_NAMES[base] ?? base;
  if (!DEFINITIONS[full]) throw new Error(`schema notation: unknown type "${base}"`);
  return ref(full);
}

/** Renders an object schema from field notation. */
function objectSchema(fields: string, ref: (full: string) => JsonSchema, required?: string[]): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  let open = false;
  for (const token of fields.split(/\s+/).filter(Boolean)) {
    if (token === "...") {
      open = true;
      continue;
    }
    const colon = token.indexOf(":");
    const name = colon < 0 ? token : token.slice(0, colon);
    const schema = typeSchema(colon < 0 ? "string" : token.slice(colon + 1), ref);
    if (FIELD_DESCRIPTIONS[name] && !schema.$ref) schema.description ??= FIELD_DESCRIPTIONS[name];
    properties[name] = schema;
  }
  return {
    type: "object",
    properties,
    ...(required?.length ? { required } : {}),
    ...(open ? { "x-kubernetes-preserve-unknown-fields": true } : {}),
  };
}

/** A set of rendered definitions plus the reference style of the document they go into. */
export class SchemaCollector {
  readonly schemas: Record<string, JsonSchema> = {};
  constructor(private readonly refPrefix: "#/components/schemas/" | "#/definitions/") {}

  ref(full: string): JsonSchema {
    if (!this.schemas[full]) {
      const def = DEFINITIONS[full];
      this.schemas[full] = {}; // reserve first: definitions may be recursive
      this.schemas[full] = {
        ...(def.description ? { description: def.description } : {}),
        ...objectSchema(def.fields, (f) => this.ref(f), def.required),
      };
    }
    return { $ref: `${this.refPrefix}${full}` };
  }

  /** Adds the schema of a built-in kind at one version; returns its definition name. */
  addBuiltinKind(t: ResourceType, version: string): string {
    const name = definitionName(t, version);
    const k = `${t.group}/${t.kind}`;
    const body = objectSchema(`apiVersion kind metadata:ObjectMeta ${KIND_FIELDS[k] ?? DEFAULT_KIND_FIELDS}`, (f) =>
      this.ref(f),
    );
    this.schemas[name] = {
      description: KIND_DESCRIPTIONS[k] ?? `${t.kind} is a ${t.group || "core"} ${version} resource.`,
      ...body,
      "x-kubernetes-group-version-kind": [{ group: t.group, kind: t.kind, version }],
    };
    return name;
  }

  /** Adds a CRD version's structural schema, with metadata as ObjectMeta (what the real server publishes). */
  addCustomKind(
    t: ResourceType,
    version: string,
    openAPIV3Schema: JsonSchema | undefined,
    options: { untypedWhenOpen?: boolean } = {},
  ): string {
    const name = definitionName(t, version);
    const gvk = [{ group: t.group, kind: t.kind, version }];
    if (!openAPIV3Schema && options.untypedWhenOpen) {
      // OpenAPI v2 of a kind that keeps unknown fields at its root: no type and no properties, so kubectl's
      // client-side validation takes any content (declaring only apiVersion/kind/metadata would refuse spec)
      this.schemas[name] = { "x-kubernetes-group-version-kind": gvk };
      return name;
    }
    const schema: JsonSchema = structuredClone(
      openAPIV3Schema ?? { type: "object", "x-kubernetes-preserve-unknown-fields": true },
    );
    schema.type ??= "object";
    schema.properties = {
      apiVersion: { type: "string", description: FIELD_DESCRIPTIONS.apiVersion },
      kind: { type: "string", description: FIELD_DESCRIPTIONS.kind },
      ...(schema.properties ?? {}),
      metadata: this.ref(`${META}.ObjectMeta`),
    };
    schema["x-kubernetes-group-version-kind"] = gvk;
    this.schemas[name] = schema;
    return name;
  }
}

/** The object schema of a built-in kind with every reference resolved to its definition (for validation). */
export function builtinKindSchema(
  t: ResourceType,
  version = t.version,
): { root: JsonSchema; definitions: Record<string, JsonSchema> } {
  const c = new SchemaCollector("#/definitions/");
  const name = c.addBuiltinKind(t, version);
  return { root: c.schemas[name], definitions: c.schemas };
}

/** The schema of a CRD version as served (ObjectMeta for metadata), for validation. */
export function customKindSchema(
  t: ResourceType,
  version: string,
  openAPIV3Schema: JsonSchema | undefined,
): { root: JsonSchema; definitions: Record<string, JsonSchema> } {
  const c = new SchemaCollector("#/definitions/");
  const name = c.addCustomKind(t, version, openAPIV3Schema);
  return { root: c.schemas[name], definitions: c.schemas };
}
