// EnvoyFilter prechecks: inventory, proxyVersion matches across the upgrade, relative patches
// without priority (IST0151/IST0155), filters for removed features and deprecated filter names.
import { formatVersion } from "../catalog/version.js";
import type { EnvoyFilterView, MeshSnapshot } from "../mesh/schema.js";
import type { Check, Finding } from "./finding.js";
import { resolveTarget } from "./version-checks.js";

/** istiod never matches proxyVersion patterns longer than this (pilot/pkg/model/envoyfilter.go). */
const MAX_PROXY_VERSION_PATTERN = 1024;

/** Relative operations as istio's EnvoyPatchAnalyzer counts them; INSERT_FIRST and ADD are not relative. */
const RELATIVE_OPERATIONS = new Set(["INSERT_BEFORE", "INSERT_AFTER", "MERGE", "REPLACE", "REMOVE"]);

/** Envoy's deprecated well-known names; Envoy 1.20 stopped resolving them (istio/istio#24266, #35480). */
const DEPRECATED_FILTER_NAMES: Record<string, string> = {
  "envoy.http_connection_manager": "envoy.filters.network.http_connection_manager",
  "envoy.tcp_proxy": "envoy.filters.network.tcp_proxy",
  "envoy.router": "envoy.filters.http.router",
  "envoy.cors": "envoy.filters.http.cors",
  "envoy.fault": "envoy.filters.http.fault",
  "envoy.lua": "envoy.filters.http.lua",
  "envoy.health_check": "envoy.filters.http.health_check",
  "envoy.grpc_web": "envoy.filters.http.grpc_web",
  "envoy.rate_limit": "envoy.filters.http.ratelimit",
  "envoy.listener.tls_inspector": "envoy.filters.listener.tls_inspector",
  "envoy.listener.original_dst": "envoy.filters.listener.original_dst",
  "envoy.listener.http_inspector": "envoy.filters.listener.http_inspector",
};

/** Filters the istiod chart rendered per minor up to 1.20 (`stats-filter-1.NN`, …); absent from 1.21 on. */
const VERSIONED_TELEMETRY_FILTER = /^(tcp-)?(stats-filter|metadata-exchange)-1\.\d+/;

function ref(f: EnvoyFilterView) {
  return { kind: "EnvoyFilter", namespace: f.namespace, name: f.name };
}

/** istiod's proxyVersion matching: an unanchored regex search against the proxy's ISTIO_VERSION. */
export function proxyVersionMatches(pattern: string, istioVersion: string): boolean | "invalid" {
  if (pattern.length > MAX_PROXY_VERSION_PATTERN) return false;
  try {
    return new RegExp(pattern).test(istioVersion);
  } catch {
    return "invalid";
  }
}

function runningVersions(snapshot: MeshSnapshot): string[] {
  const fromProxies = new Set(snapshot.proxies.filter((p) => p.live && p.version).map((p) => p.version!));
  if (fromProxies.size > 0) return [...fromProxies].sort();
  return [...new Set(snapshot.revisions.map((r) => r.version).filter((v): v is string => !!v))].sort();
}

export const envoyFilterInventory: Check = (snapshot) => {
  if (snapshot.envoyFilters.length === 0) return [];
  const withVersion = snapshot.envoyFilters.filter((f) => f.patches.some((p) => p.proxyVersion));
  return [
    {
      id: "envoyfilter-inventory",
      severity: "info",
      objects: snapshot.envoyFilters.map(ref),
      message: `${snapshot.envoyFilters.length} EnvoyFilter(s) patch Envoy directly (${withVersion.length} with proxyVersion); Envoy internals may change between Istio versions`,
      fix: "Review each EnvoyFilter against the target version's release notes and test it on the canary revision first.",
    },
  ];
};

export const envoyFilterProxyVersion: Check = (snapshot, target, catalog) => {
  const to = resolveTarget(target, catalog);
  if (!to) return [];
  const targetVersion = formatVersion(to);
  const current = runningVersions(snapshot);
  const findings: Finding[] = [];
  for (const f of snapshot.envoyFilters) {
    const patterns = [...new Set(f.patches.map((p) => p.proxyVersion).filter((v): v is string => !!v))];
    for (const pattern of patterns) {
      const forTarget = proxyVersionMatches(pattern, targetVersion);
      if (forTarget === "invalid") {
        findings.push({
          id: "envoyfilter-proxyversion-invalid",
          severity: "warning",
          objects: [ref(f)],
          message: `EnvoyFilter ${f.namespace}/${f.name}: proxyVersion "${pattern}" is not a valid regular expression`,
          fix: "Fix the pattern; istiod ignores patches whose proxyVersion does not compile.",
        });
        continue;
      }
      const matchedNow = current.filter((v) => proxyVersionMatches(pattern, v) === true);
      if (forTarget) continue;
      if (matchedNow.length > 0) {
        findings.push({
          id: "envoyfilter-proxyversion-mismatch",
          severity: "warning",
          objects: [ref(f)],
          message: `EnvoyFilter ${f.namespace}/${f.name}: proxyVersion "${pattern}" matches today's proxies (${matchedNow.join(", ")}) but not ${targetVersion}; its patches stop applying to upgraded proxies`,
          fix: `Add a copy of the filter whose proxyVersion matches ${targetVersion} (e.g. ^${to.major}\\.${to.minor}.*) before restarting workloads, and delete the old one afterwards.`,
        });
      } else {
        findings.push({
          id: "envoyfilter-proxyversion-unused",
          severity: "info",
          objects: [ref(f)],
          message: `EnvoyFilter ${f.namespace}/${f.name}: proxyVersion "${pattern}" matches neither running proxies (${current.join(", ") || "none known"}) nor ${targetVersion}`,
          fix: "The filter has no effect; delete it if it is a leftover.",
        });
      }
    }
  }
  return findings;
};

export const envoyFilterRelativePatches: Check = (snapshot) => {
  const findings: Finding[] = [];
  // IST0155 when an earlier patch with proxyVersion inserted a filter of the same name (EnvoyPatchAnalyzer)
  const namesWithProxyVersion = new Set<string>();
  for (const f of snapshot.envoyFilters) {
    const ist0151: number[] = [];
    const ist0155: number[] = [];
    for (const p of f.patches) {
      const instanceName = p.valueName ?? p.filterNames.at(-1) ?? "";
      if (p.operation && RELATIVE_OPERATIONS.has(p.operation) && f.priority === 0) {
        if (p.proxyVersion || (instanceName && namesWithProxyVersion.has(instanceName))) ist0155.push(p.index);
        else ist0151.push(p.index);
      }
      if (p.proxyVersion && instanceName) namesWithProxyVersion.add(instanceName);
    }
    if (ist0155.length > 0) {
      findings.push({
        id: "envoyfilter-relative-patch-proxyversion",
        severity: "warning",
        objects: [ref(f)],
        message: `EnvoyFilter ${f.namespace}/${f.name}: relative patch(es) ${ist0155.join(", ")} use proxyVersion and no priority (IST0155); during the upgrade the filter may not be applied`,
        fix: "Set spec.priority, or use INSERT_FIRST/ADD, so that the patch order does not depend on which filters exist.",
      });
    }
    if (ist0151.length > 0) {
      findings.push({
        id: "envoyfilter-relative-patch",
        severity: "warning",
        objects: [ref(f)],
        message: `EnvoyFilter ${f.namespace}/${f.name}: relative patch(es) ${ist0151.join(", ")} without priority (IST0151) can be applied in a different order after the upgrade`,
        fix: "Set spec.priority, or use INSERT_FIRST/ADD.",
      });
    }
  }
  return findings;
};

export const envoyFilterRemovedFeatures: Check = (snapshot, target, catalog) => {
  const to = resolveTarget(target, catalog);
  const findings: Finding[] = [];
  for (const f of snapshot.envoyFilters) {
    const deprecated = [...new Set(f.patches.flatMap((p) => p.filterNames).filter((n) => DEPRECATED_FILTER_NAMES[n]))];
    if (deprecated.length > 0) {
      findings.push({
        id: "envoyfilter-deprecated-filter-name",
        severity: "warning",
        objects: [ref(f)],
        message: `EnvoyFilter ${f.namespace}/${f.name} matches deprecated Envoy filter name(s) ${deprecated.join(", ")}, which current Envoy no longer resolves; the patch matches nothing`,
        fix: `Use ${deprecated.map((n) => `${n} → ${DEPRECATED_FILTER_NAMES[n]}`).join(", ")}.`,
      });
    }
    // istiod ≤1.20 rendered these itself; from 1.21 on nothing manages them and they only linger
    if (VERSIONED_TELEMETRY_FILTER.test(f.name) && (!to || to.minor >= 21)) {
      findings.push({
        id: "envoyfilter-removed-telemetry-filter",
        severity: "warning",
        objects: [ref(f)],
        message: `EnvoyFilter ${f.namespace}/${f.name} is a per-version telemetry filter that only istiod 1.20 and older render; from Istio 1.21 telemetry is built in and nothing manages this filter`,
        fix: "Delete it once no proxy of the version it targets remains (it is a leftover of an old install).",
      });
    }
  }
  return findings;
};
