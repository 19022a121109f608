// Discovery documents (/version, /api, /apis, /api/v1, /apis/<g>[/<v>]) built from the type registry,
// in the legacy form and in aggregated discovery (apidiscovery.k8s.io v2 and v2beta1), chosen by Accept.
import { createHash } from "node:crypto";
import { apiVersionOf, type TypeRegistry } from "./registry.js";
import { ApiError, type ResourceType, type Subresource } from "./types.js";

export interface DiscoveryResponse {
  status: 200 | 406;
  /** honest Content-Type: client-go decides between aggregated and legacy discovery by it */
  contentType: string;
  body: object;
}

export const AGGREGATED_DISCOVERY_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
export const AGGREGATED_DISCOVERY_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
const JSON_TYPE = "application/json";

/** Go toolchain each release was built with (the `goVersion` in /version of the .0 release line). */
const GO_VERSION_BY_MINOR: Record<number, string> = {
  25: "go1.19.13",
  26: "go1.19.13",
  27: "go1.20.14",
  28: "go1.20.14",
  29: "go1.21.13",
  30: "go1.22.8",
  31: "go1.22.8",
  32: "go1.23.6",
  33: "go1.24.2",
};

/** The `/version` body (version.Info). Commit and build date are derived from the version so they stay stable. */
export function versionInfo(registry: TypeRegistry): object {
  const version = registry.kubernetesVersion;
  const [major, minor] = version.split(".");
  return {
    major,
    minor,
    gitVersion: `v${version}`,
    gitCommit: createHash("sha1").update(`kubernetes v${version}`).digest("hex"),
    gitTreeState: "clean",
    buildDate: "2024-10-22T20:28:14Z",
    goVersion: GO_VERSION_BY_MINOR[registry.minor] ?? "go1.24.2",
    compiler: "gc",
    platform: "linux/amd64",
  };
}

/** `/api`: the legacy core group's versions. */
export function apiVersions(serverAddress = "127.0.0.1:6443"): object {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function apiGroup(g: { name: string; versions: string[]; preferredVersion: string }): object {
  return {
    name: g.name,
    versions: g.versions.map((v) => ({ groupVersion: apiVersionOf(g.name, v), version: v })),
    preferredVersion: { groupVersion: apiVersionOf(g.name, g.preferredVersion), version: g.preferredVersion },
  };
}

/** `/apis`: every named group (the core group is only under /api). */
export function apiGroupList(registry: TypeRegistry): object {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: registry
      .groups()
      .filter((g) => g.name !== "")
      .map(apiGroup),
  };
}

/** `/apis/<group>`: one group, or undefined when not served. */
export function apiGroupDocument(registry: TypeRegistry, group: string): object | undefined {
  const g = registry.groups().find((x) => x.name === group && group !== "");
  return g ? { kind: "APIGroup", apiVersion: "v1", ...apiGroup(g) } : undefined;
}

interface SubresourceDescriptor {
  group: string;
  version: string;
  kind: string;
  verbs: string[];
}

/** What each subresource returns and accepts, as the real server's APIResourceList declares it. */
function describeSubresource(t: ResourceType, version: string, sub: Subresource): SubresourceDescriptor {
  const own = { group: t.group, version };
  switch (sub) {
    case "status":
      return { ...own, kind: t.kind, verbs: ["get", "patch", "update"] };
    case "scale":
      return { group: "autoscaling", version: "v1", kind: "Scale", verbs: ["get", "patch", "update"] };
    case "eviction":
      return { group: "policy", version: "v1", kind: "Eviction", verbs: ["create"] };
    case "binding":
      return { group: "", version: "v1", kind: "Binding", verbs: ["create"] };
    case "log":
      return { ...own, kind: t.kind, verbs: ["get"] };
    case "exec":
      return { ...own, kind: `${t.kind}ExecOptions`, verbs: ["create", "get"] };
    case "proxy":
      return { ...own, kind: `${t.kind}ProxyOptions`, verbs: ["create", "delete", "get", "patch", "update"] };
  }
}

/** A stable 8-byte hash, base64, like the real `storageVersionHash` (derived from group/version/kind). */
export function storageVersionHash(t: ResourceType): string {
  return createHash("sha256").update(`${t.group}/${t.version}/${t.kind}`).digest().subarray(0, 8).toString("base64");
}

/** `/api/v1` or `/apis/<g>/<v>`: an APIResourceList, or undefined when that group version is not served. */
export function apiResourceList(registry: TypeRegistry, group: string, version: string): object | undefined {
  if (!registry.isServedGroupVersion(group, version)) return undefined;
  const resources: object[] = [];
  for (const t of registry.resourcesIn(group, version)) {
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
      ...(t.shortNames ? { shortNames: t.shortNames } : {}),
      ...(t.categories ? { categories: t.categories } : {}),
      storageVersionHash: storageVersionHash(t),
    });
    for (const sub of [...t.subresources].sort()) {
      const d = describeSubresource(t, version, sub);
      // group/version appear only when the subresource speaks another group version (eviction, scale)
      const foreign = d.group !== group || d.version !== version;
      resources.push({
        name: `${t.plural}/${sub}`,
        singularName: "",
        namespaced: t.namespaced,
        ...(foreign ? { group: d.group, version: d.version } : {}),
        kind: d.kind,
        verbs: d.verbs,
      });
    }
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: apiVersionOf(group, version), resources };
}

/** Aggregated discovery for either the core group (`/api`) or every named group (`/apis`). */
export function aggregatedDiscovery(
  registry: TypeRegistry,
  root: "api" | "apis",
  apiVersion: "v2" | "v2beta1",
): object {
  const groups = registry.groups().filter((g) => (root === "api" ? g.name === "" : g.name !== ""));
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: `apidiscovery.k8s.io/${apiVersion}`,
    metadata: {},
    items: groups.map((g) => ({
      metadata: { name: g.name, creationTimestamp: null },
      versions: g.versions.map((version) => ({
        version,
        resources: registry.resourcesIn(g.name, version).map((t) => ({
          resource: t.plural,
          responseKind: { group: t.group, version, kind: t.kind },
          scope: t.namespaced ? "Namespaced" : "Cluster",
          singularResource: t.singular,
          verbs: t.verbs,
          ...(t.shortNames ? { shortNames: t.shortNames } : {}),
          ...(t.categories ? { categories: t.categories } : {}),
          ...(t.subresources.length
            ? {
                subresources: [...t.subresources].sort().map((sub) => {
                  const d = describeSubresource(t, version, sub);
                  return {
                    subresource: sub,
                    responseKind: { group: d.group, version: d.version, kind: d.kind },
                    verbs: d.verbs,
                  };
                }),
              }
            : {}),
        })),
        freshness: "Current",
      })),
    })),
  };
}

interface MediaRange {
  type: string;
  params: Record<string, string>;
  q: number;
}

/** Parses an Accept header into media ranges, most preferred first (stable for equal q). */
export function parseAccept(accept: string | undefined): MediaRange[] {
  if (!accept || !accept.trim()) return [{ type: "*/*", params: {}, q: 1 }];
  const ranges = accept.split(",").map((part, index) => {
    const [type, ...rest] = part.split(";").map((s) => s.trim());
    const params: Record<string, string> = {};
    for (const p of rest) {
      const eq = p.indexOf("=");
      if (eq > 0)
        params[p.slice(0, eq).trim().toLowerCase()] = p
          .slice(eq + 1)
          .trim()
          .replace(/^"|"$/g, "");
    }
    const q = params.q === undefined ? 1 : Number(params.q);
    delete params.q;
    return { type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 0, index };
  });
  return ranges
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index)
    .map(({ type, params, q }) => ({ type, params, q }));
}

/** True when the range accepts plain JSON (no `as=` conversion asked for). */
export function acceptsPlainJson(r: MediaRange): boolean {
  return (r.type === JSON_TYPE || r.type === "application/*" || r.type === "*/*") && r.params.as === undefined;
}

/** Aggregated discovery versions this release serves: v2beta1 in 1.26–1.32, v2 from 1.30 (KEP-3352). */
function aggregatedVersionsServed(minor: number): ("v2" | "v2beta1")[] {
  const served: ("v2" | "v2beta1")[] = [];
  if (minor >= 30) served.push("v2");
  if (minor >= 26 && minor <= 32) served.push("v2beta1");
  return served;
}

function notAcceptable(accept: string | undefined): DiscoveryResponse {
  const message = `only the following media types are accepted: application/json${accept ? ` (asked for ${accept})` : ""}`;
  return { status: 406, contentType: JSON_TYPE, body: new ApiError(406, "NotAcceptable", message).toStatus() };
}

/**
 * Answers a discovery GET: `/version`, `/api`, `/apis`, `/api/v1`, `/apis/<g>`, `/apis/<g>/<v>` (trailing slash
 * and query ignored). Returns undefined when the path is not a discovery path or names an unserved group version.
 * `/api` and `/apis` honour aggregated discovery Accept types (client-go sends v2, then v2beta1, then JSON).
 */
export function discoveryResponse(
  registry: TypeRegistry,
  requestPath: string,
  accept: string | undefined,
  opts: { serverAddress?: string } = {},
): DiscoveryResponse | undefined {
  const path = requestPath.split("?")[0].replace(/\/+$/, "") || "/";
  const segments = path.split("/").filter(Boolean);
  let legacy: object | undefined;
  let aggregatedRoot: "api" | "apis" | undefined;
  if (path === "/version") legacy = versionInfo(registry);
  else if (path === "/api") {
    legacy = apiVersions(opts.serverAddress);
    aggregatedRoot = "api";
  } else if (path === "/apis") {
    legacy = apiGroupList(registry);
    aggregatedRoot = "apis";
  } else if (segments[0] === "api" && segments.length === 2) legacy = apiResourceList(registry, "", segments[1]);
  else if (segments[0] === "apis" && segments.length === 2) legacy = apiGroupDocument(registry, segments[1]);
  else if (segments[0] === "apis" && segments.length === 3)
    legacy = apiResourceList(registry, segments[1], segments[2]);
  if (!legacy) return undefined;

  const aggregatedServed = aggregatedVersionsServed(registry.minor);
  for (const range of parseAccept(accept)) {
    if (acceptsPlainJson(range)) return { status: 200, contentType: JSON_TYPE, body: legacy };
    const wantsAggregated =
      range.type === JSON_TYPE &&
      range.params.as === "APIGroupDiscoveryList" &&
      range.params.g === "apidiscovery.k8s.io";
    const v = range.params.v as "v2" | "v2beta1";
    if (aggregatedRoot && wantsAggregated && aggregatedServed.includes(v)) {
      return {
        status: 200,
        contentType: v === "v2" ? AGGREGATED_DISCOVERY_V2 : AGGREGATED_DISCOVERY_V2BETA1,
        body: aggregatedDiscovery(registry, aggregatedRoot, v),
      };
    }
  }
  return notAcceptable(accept);
}
