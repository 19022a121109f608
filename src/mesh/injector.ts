// A revision's injector ConfigMap `istio-sidecar-injector[-<rev>]`: the proxy image it injects
// (`values`) and the policy istiod applies after a webhook fired (`config`).
import { parse as parseYaml } from "yaml";
import type { ConfigMapLike, LabelSelectorLike } from "./kube-types.js";

export const INJECTOR_CONFIGMAP_PREFIX = "istio-sidecar-injector";

export interface InjectorConfig {
  configMap: string;
  namespace: string;
  /** revision the ConfigMap belongs to: `values.revision`, else the name suffix, else "default" */
  revision: string;
  expectedProxyImage: string | null;
  /** `global.proxy.autoInject`-driven `policy`: enabled | disabled (anything else is "off") */
  policy: string;
  neverInjectSelector: LabelSelectorLike[];
  alwaysInjectSelector: LabelSelectorLike[];
  enableNamespacesByDefault: boolean;
}

interface InjectionValues {
  revision?: string;
  global?: { hub?: string; tag?: unknown; variant?: string; proxy?: { image?: string } };
  sidecarInjectorWebhook?: { enableNamespacesByDefault?: boolean };
}

/**
 * Expected proxy image, as `injection.ImageAnalyzer` computes it: `global.proxy.image` when it is
 * a full reference (contains "/"), else `<global.hub>/<global.proxy.image|proxyv2>:<global.tag>`.
 */
export function expectedProxyImage(values: InjectionValues): string | null {
  const proxyImage = values.global?.proxy?.image || "proxyv2";
  if (proxyImage.includes("/")) return proxyImage;
  const hub = values.global?.hub;
  const tag = values.global?.tag;
  if (!hub || tag === undefined || tag === null || tag === "") return null;
  const variant = values.global?.variant ? `-${values.global.variant}` : "";
  return `${hub}/${proxyImage}:${String(tag)}${variant}`;
}

/** The policy part of `config` sits before the (large) templates; parse only that prefix. */
function parsePolicyPart(config: string): Record<string, unknown> {
  const lines = config.split("\n");
  const end = lines.findIndex((l) => /^templates?:/.test(l));
  const head = end >= 0 ? lines.slice(0, end).join("\n") : config;
  try {
    return (parseYaml(head) as Record<string, unknown>) ?? {};
  } catch {
    try {
      return (parseYaml(config) as Record<string, unknown>) ?? {};
    } catch {
      return {};
    }
  }
}

export function isInjectorConfigMap(cm: ConfigMapLike): boolean {
  const name = cm.metadata?.name ?? "";
  return name === INJECTOR_CONFIGMAP_PREFIX || name.startsWith(`${INJECTOR_CONFIGMAP_PREFIX}-`);
}

export function readInjectorConfig(cm: ConfigMapLike): InjectorConfig {
  const name = cm.metadata?.name ?? INJECTOR_CONFIGMAP_PREFIX;
  let values: InjectionValues;
  try {
    values = JSON.parse(cm.data?.values ?? "{}") as InjectionValues;
  } catch {
    values = {};
  }
  const suffix = name.slice(INJECTOR_CONFIGMAP_PREFIX.length).replace(/^-/, "");
  const policyPart = parsePolicyPart(cm.data?.config ?? "");
  return {
    configMap: name,
    namespace: cm.metadata?.namespace ?? "",
    revision: values.revision || cm.metadata?.labels?.["istio.io/rev"] || suffix || "default",
    expectedProxyImage: expectedProxyImage(values),
    policy: typeof policyPart.policy === "string" ? policyPart.policy : "enabled",
    neverInjectSelector: Array.isArray(policyPart.neverInjectSelector)
      ? (policyPart.neverInjectSelector as LabelSelectorLike[])
      : [],
    alwaysInjectSelector: Array.isArray(policyPart.alwaysInjectSelector)
      ? (policyPart.alwaysInjectSelector as LabelSelectorLike[])
      : [],
    enableNamespacesByDefault: values.sidecarInjectorWebhook?.enableNamespacesByDefault === true,
  };
}
