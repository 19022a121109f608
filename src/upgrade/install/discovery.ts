// apiVersion + kind → the served resource (plural, scope), from the API server's discovery documents
// (`/api/v1`, `/apis/<group>/<version>`), as client-go's RESTMapper and client-node's KubernetesObjectApi resolve
// them. One instance per operation: each group-version is fetched at most once.
import { KubeError, toKubeError } from "../../kube/errors.js";
import type { RestClient } from "../../kube/rest.js";
import type { ResourceRef } from "../../kube/resources.js";

interface APIResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** "apps/v1" → {group: "apps", version: "v1"}; "v1" → core. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export class ResourceDiscovery {
  private readonly byGroupVersion = new Map<string, Promise<APIResource[] | undefined>>();

  constructor(
    private readonly rest: RestClient,
    private readonly signal?: AbortSignal,
  ) {}

  /** The served resources of a group-version, or undefined when the API server does not serve it (404). */
  private resources(apiVersion: string): Promise<APIResource[] | undefined> {
    let pending = this.byGroupVersion.get(apiVersion);
    if (!pending) {
      const { group } = splitApiVersion(apiVersion);
      const path = group ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      pending = this.rest
        .requestJson<{ resources?: APIResource[] }>({
          path,
          signal: this.signal,
          target: { verb: "get", path },
        })
        .then(
          (list) => (list.resources ?? []).filter((r) => !r.name.includes("/")),
          (err: unknown) => {
            const error = toKubeError(err);
            if (error.code === 404) return undefined;
            throw error;
          },
        );
      this.byGroupVersion.set(apiVersion, pending);
      // a failed lookup (network, 5xx) is not remembered: the next call asks again
      pending.catch(() => this.byGroupVersion.delete(apiVersion));
    }
    return pending;
  }

  /** The resource serving `kind` in `apiVersion`, or undefined when the cluster does not serve it. */
  async resolve(apiVersion: string, kind: string): Promise<ResourceRef | undefined> {
    const served = await this.resources(apiVersion);
    const r = served?.find((x) => x.kind === kind);
    if (!r) return undefined;
    const { group, version } = splitApiVersion(apiVersion);
    return { group, version, plural: r.name, kind, namespaced: r.namespaced };
  }

  /** Like resolve, but a kind the cluster does not serve is a KubeError naming what to install. */
  async require(apiVersion: string, kind: string, hint: string): Promise<ResourceRef> {
    const ref = await this.resolve(apiVersion, kind);
    if (ref) return ref;
    throw new KubeError({
      code: 404,
      reason: "NotFound",
      message: `${kind} (${apiVersion}) is not served by this cluster; ${hint}`,
      object: { verb: "get", path: splitApiVersion(apiVersion).group ? `/apis/${apiVersion}` : `/api/${apiVersion}` },
    });
  }

  /** Forgets a group-version, e.g. after its CRD was created in this operation. */
  forget(apiVersion: string): void {
    this.byGroupVersion.delete(apiVersion);
  }
}
