// The executor's installer on a real cluster: Manifests (server-side apply of rendered manifests, from files
// given to the CLI or a ConfigMap named in the spec), Sail (an IstioRevision), and removal of a revision as
// `istioctl uninstall --revision` does, or of exactly what meshlift installed.
import type { RestClient } from "../../kube/rest.js";
import type { KubeObject } from "../../kube/resources.js";
import {
  applyManifests,
  checkManifestsForRevision,
  deleteIstioRevision,
  ensureIstioRevision,
  objectsFromConfigMap,
  readIstioRevision,
  removeObjects,
  removeRevision,
  type ObjectRef,
} from "../install/index.js";
import type { MeshUpgradeSpec, MeshUpgradeStatus } from "../api/schema.js";
import { MANIFESTS_REVISION_LABEL } from "../api/validate.js";
import type { Installer } from "./executor.js";
import type { InstallObservation, WriteAction } from "./types.js";

export interface ClusterInstallerOptions {
  /** manifests given as files to the CLI (already parsed); otherwise spec.install.manifests.configMapRef is read */
  manifests?: KubeObject[];
  istioNamespace?: string;
}

function specOf(upgrade: KubeObject): MeshUpgradeSpec {
  return upgrade.spec as MeshUpgradeSpec;
}

export class ClusterInstaller implements Installer {
  constructor(
    private readonly rest: RestClient,
    private readonly options: ClusterInstallerOptions = {},
  ) {}

  async observe(upgrade: KubeObject, stage: string): Promise<InstallObservation> {
    const spec = specOf(upgrade);
    const status = upgrade.status as MeshUpgradeStatus | undefined;
    const out: InstallObservation = {};
    const to = status?.to?.revision;
    if (
      spec.install?.mode === "Sail" &&
      to &&
      (stage === "ControlPlaneUpgrade" || stage === "NewControlPlaneOffline")
    ) {
      const state = await readIstioRevision(this.rest, spec.install.sail?.name ?? to).catch(() => null);
      out.sail = state ? { exists: state.exists, ready: state.ready, message: state.message } : null;
    }
    const from = status?.from?.revision;
    if (from && stage === "OldControlPlaneOffline") {
      const state = await readIstioRevision(this.rest, from).catch(() => null);
      out.sourceIsSail = state?.exists ?? false;
    }
    return out;
  }

  private async manifests(upgrade: KubeObject): Promise<KubeObject[]> {
    if (this.options.manifests) return this.options.manifests;
    const ref = specOf(upgrade).install?.manifests?.configMapRef;
    if (ref) return objectsFromConfigMap(this.rest, ref);
    // no reference: the ConfigMap labelled for the target revision (e.g. made by a CI pipeline or the demo)
    const revision = (upgrade.status as MeshUpgradeStatus | undefined)?.to?.revision ?? "";
    const labelled = await this.rest.requestJson<{ items: KubeObject[] }>({
      path: "/api/v1/configmaps",
      query: { labelSelector: `${MANIFESTS_REVISION_LABEL}=${revision}` },
    });
    if (labelled.items.length !== 1)
      throw new Error(
        `install.mode Manifests: ${labelled.items.length} ConfigMaps are labelled ${MANIFESTS_REVISION_LABEL}=${revision} (need exactly one); set spec.install.manifests.configMapRef, or pass manifest files to meshlift upgrade run -f`,
      );
    const cm = labelled.items[0];
    return objectsFromConfigMap(this.rest, { namespace: cm.metadata.namespace!, name: cm.metadata.name! });
  }

  async install(
    action: Extract<WriteAction, { type: "install" }>,
    upgrade: KubeObject,
  ): Promise<NonNullable<MeshUpgradeStatus["installedObjects"]>> {
    const spec = specOf(upgrade);
    const namespace = spec.install?.sail?.namespace ?? this.options.istioNamespace ?? "istio-system";
    if (action.mode === "Sail") {
      const name = spec.install?.sail?.name ?? action.revision;
      const applied = await ensureIstioRevision(this.rest, {
        name,
        version: action.version,
        namespace,
        values: spec.install?.sail?.values,
      });
      return [applied];
    }
    const objects = await this.manifests(upgrade);
    const problems = checkManifestsForRevision(objects, {
      revision: action.revision,
      version: action.version,
      istioNamespace: namespace,
    });
    if (problems.length > 0) throw new Error(`manifests refused: ${problems.join("; ")}`);
    return applyManifests(this.rest, objects, {
      createdSince: upgrade.metadata.creationTimestamp as string | undefined,
    });
  }

  async removeRevision(action: Extract<WriteAction, { type: "removeRevision" }>): Promise<void> {
    if (action.how === "sail") {
      await deleteIstioRevision(this.rest, action.revision);
      return;
    }
    const results = await removeRevision(this.rest, action.revision);
    const failed = results.filter((r) => r.outcome === "failed");
    if (failed.length > 0)
      throw new Error(
        `could not remove ${failed.map((f) => `${f.ref.kind} ${f.ref.name}: ${f.message ?? ""}`).join("; ")}`,
      );
  }

  async removeInstalled(action: Extract<WriteAction, { type: "removeInstalled" }>, upgrade: KubeObject): Promise<void> {
    const status = upgrade.status as MeshUpgradeStatus | undefined;
    const installed = (status?.installedObjects ?? []).filter((o) => o.created !== false);
    if (action.mode === "Sail") {
      const spec = specOf(upgrade);
      await deleteIstioRevision(this.rest, spec.install?.sail?.name ?? action.revision);
      return;
    }
    // remove in reverse apply order: webhooks first, so nothing calls an istiod that is going away
    const refs: ObjectRef[] = [...installed].reverse().map(({ apiVersion, kind, namespace, name }) => ({
      apiVersion,
      kind,
      ...(namespace ? { namespace } : {}),
      name,
    }));
    const results = await removeObjects(this.rest, refs, { propagationPolicy: "Foreground" });
    const failed = results.filter((r) => r.outcome === "failed");
    if (failed.length > 0)
      throw new Error(
        `could not remove ${failed.map((f) => `${f.ref.kind} ${f.ref.name}: ${f.message ?? ""}`).join("; ")}`,
      );
  }
}
