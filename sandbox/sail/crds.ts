// The Sail operator's CustomResourceDefinitions (istio-ecosystem/sail-operator api/v1: istio_types.go,
// istiorevision_types.go, istiorevisiontags_types.go): sailoperator.io/v1, cluster-scoped, status subresource,
// the kubebuilder printer columns, structural schemas with `values` (Helm values) left open.
import { resourceKey, type ClusterStore, type KObject } from "../api/types.js";

export const SAIL_GROUP = "sailoperator.io";
export const SAIL_VERSION = "v1";
export const SAIL_API_VERSION = `${SAIL_GROUP}/${SAIL_VERSION}`;

/** group/resource keys of the Sail kinds in the store */
export const ISTIO_KEY = resourceKey(SAIL_GROUP, "istios");
export const ISTIO_REVISION_KEY = resourceKey(SAIL_GROUP, "istiorevisions");
export const ISTIO_REVISION_TAG_KEY = resourceKey(SAIL_GROUP, "istiorevisiontags");

const CRD_KEY = resourceKey("apiextensions.k8s.io", "customresourcedefinitions");

type Schema = Record<string, unknown>;

const str = (description: string, extra: Schema = {}): Schema => ({ type: "string", description, ...extra });

/** Helm values passed to the charts: Sail types them in values_types.gen.go; the sandbox keeps them open. */
const values: Schema = {
  type: "object",
  description: "Defines the values to be passed to the Helm charts when installing Istio.",
  "x-kubernetes-preserve-unknown-fields": true,
};

const conditions: Schema = {
  type: "array",
  description: "Represents the latest available observations of the object's current state.",
  items: {
    type: "object",
    properties: {
      type: str("The type of this condition."),
      status: str("The status of this condition. Can be True, False or Unknown."),
      reason: str("Unique, single-word, CamelCase reason for the condition's last transition."),
      message: str("Human-readable message indicating details about the last transition."),
      lastTransitionTime: str("Last time the condition transitioned from one status to another.", {
        format: "date-time",
      }),
    },
  },
};

const observedGeneration: Schema = {
  type: "integer",
  format: "int64",
  description: "The most recent generation observed for this object.",
};

const version = str("Defines the version of Istio to install (e.g. v1.28.0).", { minLength: 1 });
const namespace = str("Namespace to which the Istio components should be installed. Immutable.", {
  "x-kubernetes-validations": [{ rule: "self == oldSelf", message: "Value is immutable" }],
});

function resourceSchema(spec: Schema, status: Schema, description: string): Schema {
  return {
    openAPIV3Schema: {
      type: "object",
      description,
      properties: {
        apiVersion: { type: "string" },
        kind: { type: "string" },
        metadata: { type: "object" },
        spec,
        status,
      },
    },
  };
}

function column(name: string, type: string, jsonPath: string, description: string): Schema {
  return { name, type, jsonPath, description };
}

const readyColumn = (what: string) => column("Ready", "string", '.status.conditions[?(@.type=="Ready")].status', what);
const inUseColumn = (what: string) => column("In use", "string", '.status.conditions[?(@.type=="InUse")].status', what);
const ageColumn = column("Age", "date", ".metadata.creationTimestamp", "The age of the object");

function crd(plural: string, kind: string, shortNames: string[], schema: Schema, columns: Schema[]): KObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${plural}.${SAIL_GROUP}`,
      annotations: { "controller-gen.kubebuilder.io/version": "v0.18.0" },
    },
    spec: {
      group: SAIL_GROUP,
      names: {
        kind,
        listKind: `${kind}List`,
        plural,
        singular: kind.toLowerCase(),
        categories: ["istio-io"],
        ...(shortNames.length ? { shortNames } : {}),
      },
      scope: "Cluster",
      versions: [
        {
          name: SAIL_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: columns,
          schema,
        },
      ],
    },
  };
}

function istioCRD(): KObject {
  const spec: Schema = {
    type: "object",
    description: "IstioSpec defines the desired state of Istio",
    required: ["namespace", "version"],
    properties: {
      version,
      namespace,
      profile: str("The built-in installation configuration profile to use."),
      values,
      createNetworkPolicy: { type: "boolean", description: "Enables creation of a NetworkPolicy for istiod." },
      updateStrategy: {
        type: "object",
        description: "Defines how the control plane is updated when spec.version changes.",
        properties: {
          type: str("InPlace (default) or RevisionBased.", { enum: ["InPlace", "RevisionBased"] }),
          inactiveRevisionDeletionGracePeriodSeconds: {
            type: "integer",
            format: "int64",
            minimum: 0,
            description: "Seconds to wait before removing a non-active revision no workload uses (default 30).",
          },
          updateWorkloads: { type: "boolean", description: "Documented, but no Sail controller reads it." },
        },
      },
    },
  };
  const status: Schema = {
    type: "object",
    properties: {
      observedGeneration,
      conditions,
      state: str("Reports the current state of the object."),
      activeRevisionName: str("The name of the active revision."),
      revisions: {
        type: "object",
        description: "Reports information about the underlying IstioRevisions.",
        properties: {
          total: { type: "integer", format: "int32" },
          ready: { type: "integer", format: "int32" },
          inUse: { type: "integer", format: "int32" },
        },
      },
    },
  };
  return crd(
    "istios",
    "Istio",
    [],
    resourceSchema(spec, status, "Istio represents an Istio Service Mesh deployment."),
    [
      column("Namespace", "string", ".spec.namespace", "The namespace for the control plane components."),
      column("Profile", "string", ".spec.values.profile", "The selected profile (collection of value presets)."),
      column("Revisions", "string", ".status.revisions.total", "Total number of IstioRevision objects."),
      column("Ready", "string", ".status.revisions.ready", "Number of revisions that are ready."),
      column("In use", "string", ".status.revisions.inUse", "Number of revisions in use by workloads."),
      column("Active Revision", "string", ".status.activeRevisionName", "The name of the currently active revision."),
      column("Status", "string", ".status.state", "The current state of the active revision."),
      column("Version", "string", ".spec.version", "The version of the control plane installation."),
      ageColumn,
    ],
  );
}

function istioRevisionCRD(): KObject {
  const spec: Schema = {
    type: "object",
    description: "IstioRevisionSpec defines the desired state of IstioRevision",
    required: ["namespace", "version"],
    properties: { version, namespace, values },
  };
  const status: Schema = {
    type: "object",
    properties: { observedGeneration, conditions, state: str("Reports the current state of the object.") },
  };
  return crd(
    "istiorevisions",
    "IstioRevision",
    ["istiorev"],
    resourceSchema(spec, status, "IstioRevision represents a single revision of an Istio Service Mesh deployment."),
    [
      column("Namespace", "string", ".spec.namespace", "The namespace for the control plane components."),
      column("Profile", "string", ".spec.values.profile", "The selected profile (collection of value presets)."),
      readyColumn("Whether the control plane installation is ready to handle requests."),
      column("Status", "string", ".status.state", "The current state of this object."),
      inUseColumn("Whether the revision is being used by workloads."),
      column("Version", "string", ".spec.version", "The version of the control plane installation."),
      ageColumn,
    ],
  );
}

function istioRevisionTagCRD(): KObject {
  const spec: Schema = {
    type: "object",
    required: ["targetRef"],
    properties: {
      targetRef: {
        type: "object",
        description: "An Istio (follows its active revision) or an IstioRevision.",
        required: ["kind", "name"],
        properties: {
          kind: str("Kind is the kind of the target resource.", { minLength: 1, maxLength: 253 }),
          name: str("Name is the name of the target resource.", { minLength: 1, maxLength: 253 }),
        },
      },
    },
  };
  const status: Schema = {
    type: "object",
    properties: {
      observedGeneration,
      conditions,
      state: str("Reports the current state of the object."),
      istiodNamespace: str("The namespace of the corresponding istiod instance."),
      istioRevision: str("The name of the referenced IstioRevision."),
    },
  };
  return crd(
    "istiorevisiontags",
    "IstioRevisionTag",
    ["istiorevtag"],
    resourceSchema(spec, status, "IstioRevisionTag references an Istio or IstioRevision and serves as an alias."),
    [
      column("Status", "string", ".status.state", "The current state of this object."),
      inUseColumn("Whether the tag is being used by workloads."),
      column("Revision", "string", ".status.istioRevision", "The IstioRevision this object is referencing."),
      ageColumn,
    ],
  );
}

/** The three Sail CRDs, fresh objects each call (callers may hand them to the store). */
export function sailCRDs(): KObject[] {
  return [istioCRD(), istioRevisionCRD(), istioRevisionTagCRD()];
}

/** Registers the Sail CRDs in a store (what `kubectl apply -f` of the operator bundle does); existing ones are kept. */
export function installSailCRDs(store: Pick<ClusterStore, "get" | "create">): void {
  for (const c of sailCRDs()) {
    if (!store.get(CRD_KEY, undefined, c.metadata.name!)) store.create(CRD_KEY, c, { actor: "system:sail-installer" });
  }
}
