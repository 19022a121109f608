// The few Kubernetes fields the read model looks at, as the API returns them (plain JSON).
// Structural on purpose: @kubernetes/client-node models (V1Pod, …) and parsed YAML both fit.

export type Labels = Record<string, string>;

export interface OwnerReferenceLike {
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

export interface ObjectMetaLike {
  name?: string;
  namespace?: string;
  uid?: string;
  labels?: Labels;
  annotations?: Labels;
  ownerReferences?: OwnerReferenceLike[];
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  generation?: number;
}

export interface KubeObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMetaLike;
}

export interface EnvVarLike {
  name: string;
  value?: string;
}

export interface ContainerLike {
  name: string;
  image?: string;
  args?: string[];
  /** "Always" on an init container makes it a native sidecar (KEP-753) */
  restartPolicy?: string;
  env?: EnvVarLike[];
}

export interface PodSpecLike {
  containers?: ContainerLike[];
  initContainers?: ContainerLike[];
  hostNetwork?: boolean;
  nodeName?: string;
}

export interface PodTemplateLike {
  metadata?: ObjectMetaLike;
  spec?: PodSpecLike;
}

export interface PodLike extends KubeObjectLike {
  spec?: PodSpecLike;
  status?: { phase?: string; containerStatuses?: { name: string; ready?: boolean }[] };
}

export interface LabelSelectorRequirementLike {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelectorLike {
  matchLabels?: Labels;
  matchExpressions?: LabelSelectorRequirementLike[];
}

export interface WorkloadObjectLike extends KubeObjectLike {
  spec?: {
    replicas?: number;
    selector?: LabelSelectorLike;
    template?: PodTemplateLike;
    /** Deployment */
    paused?: boolean;
    /** CronJob */
    jobTemplate?: { spec?: { template?: PodTemplateLike } };
  };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    updatedReplicas?: number;
    observedGeneration?: number;
    /** StatefulSet: the update is complete when both name the same ControllerRevision */
    currentRevision?: string;
    updateRevision?: string;
    /** DaemonSet */
    desiredNumberScheduled?: number;
    currentNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberReady?: number;
    numberAvailable?: number;
  };
}

/** Job and CronJob: only spec is read (their status shapes share nothing with the apps/v1 ones). */
export interface BatchObjectLike extends KubeObjectLike {
  spec?: {
    template?: PodTemplateLike;
    jobTemplate?: { spec?: { template?: PodTemplateLike } };
  };
}

export interface ServiceLike extends KubeObjectLike {
  spec?: { selector?: Labels };
}

export interface ConfigMapLike extends KubeObjectLike {
  data?: Record<string, string>;
}

export interface WebhookClientConfigLike {
  service?: { name: string; namespace: string; path?: string; port?: number };
  url?: string;
}

export interface RuleWithOperationsLike {
  apiGroups?: string[];
  apiVersions?: string[];
  operations?: string[];
  resources?: string[];
}

export interface AdmissionWebhookLike {
  name: string;
  clientConfig: WebhookClientConfigLike;
  namespaceSelector?: LabelSelectorLike;
  objectSelector?: LabelSelectorLike;
  rules?: RuleWithOperationsLike[];
  failurePolicy?: string;
  matchConditions?: unknown[];
}

export interface WebhookConfigurationLike extends KubeObjectLike {
  webhooks?: AdmissionWebhookLike[];
}

export interface EnvoyFilterLike extends KubeObjectLike {
  spec?: {
    workloadSelector?: { labels?: Labels };
    targetRefs?: unknown[];
    priority?: number;
    configPatches?: {
      applyTo?: string;
      match?: {
        context?: string;
        proxy?: { proxyVersion?: string };
        listener?: { filterChain?: { filter?: { name?: string; subFilter?: { name?: string } } } };
      };
      patch?: { operation?: string; value?: { name?: unknown } };
    }[];
  };
}

export interface PodDisruptionBudgetLike extends KubeObjectLike {
  spec?: { minAvailable?: number | string; maxUnavailable?: number | string; selector?: LabelSelectorLike };
  status?: { disruptionsAllowed?: number; currentHealthy?: number; desiredHealthy?: number; expectedPods?: number };
}

/** meshlift's own MeshUpgrade custom resource; only its name and stage are read here. */
export interface MeshUpgradeLike extends KubeObjectLike {
  spec?: { targetVersion?: string; revision?: string; to?: { version?: string; revision?: string } };
  status?: { stage?: string; phase?: string };
}
