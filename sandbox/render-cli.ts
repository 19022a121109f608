// `npx tsx sandbox/render-cli.ts --version 1.28.10 --revision 1-28-10 [--namespace istio-system] [--tag NAME]…`
// Prints the multi-document YAML that `istioctl manifest generate --set revision=…` would for that release, as the
// sandbox models it (istio-facts §2): the input for meshlift's Manifests install mode in the demo and in tests.
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { MANIFESTS_REVISION_LABEL } from "../src/upgrade/api/validate.js";
import type { KObject } from "./api/types.js";
import { renderRevision, renderTag } from "./istio/render.js";
import { parseIstioVersion } from "./istio/templates-release.js";

export interface ManifestOptions {
  /** Istio release, e.g. "1.28.10" (a leading "v" is accepted) */
  version: string;
  /** revision name; "" or absent = the unrevisioned install, as istioctl without --set revision */
  revision?: string;
  istioNamespace?: string;
  hub?: string;
  replicas?: number;
  /** revision tags pointing at this revision (`istioctl tag generate` output, or the chart's revisionTags) */
  tags?: string[];
  /** also include the Istio CRDs of the base chart (istioctl prints them too; an installed mesh already has them) */
  crds?: boolean;
}

/**
 * A ConfigMap `istio-<revision>-manifests` holding the rendered manifests of a revision, labelled for it:
 * what a CI pipeline running `istioctl manifest generate` would store for meshlift's Manifests mode.
 */
export async function manifestsConfigMap(opts: ManifestOptions & { revision: string }): Promise<KObject> {
  const objects = await renderManifests(opts);
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: `istio-${opts.revision}-manifests`,
      namespace: opts.istioNamespace ?? "istio-system",
      labels: { [MANIFESTS_REVISION_LABEL]: opts.revision },
    },
    data: { "manifests.yaml": objects.map((o) => YAML.stringify(o)).join("---\n") },
  };
}

/** The objects a revision (and its tags) installs, in the order istioctl would print them. */
export async function renderManifests(opts: ManifestOptions): Promise<KObject[]> {
  const version = opts.version.replace(/^v/, "");
  if (!/^\d+\.\d+\.\d+/.test(version) || !parseIstioVersion(version))
    throw new Error(`--version "${opts.version}" is not an Istio release (expected e.g. 1.28.10)`);
  const revision = opts.revision ?? "";
  const istioNamespace = opts.istioNamespace ?? "istio-system";
  const objects: KObject[] = [];
  if (opts.crds) {
    // loaded only when asked: parsing the CRD bundle is the slow part
    const { istioCRDs } = await import("./scenario/load.js");
    objects.push(...istioCRDs());
  }
  objects.push(...renderRevision({ version, revision, istioNamespace, hub: opts.hub, replicas: opts.replicas }));
  for (const tag of opts.tags ?? []) objects.push(...renderTag(tag, revision, { istioNamespace, version }));
  return objects;
}

/** Multi-document YAML, one object per document, as `istioctl manifest generate` prints. */
export function toMultiDocumentYaml(objects: KObject[]): string {
  return objects.map((o) => YAML.stringify(o, { lineWidth: 0 })).join("---\n");
}

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function dnsLabel(what: string) {
  return (v: string) => {
    if (!DNS_LABEL.test(v) || v.length > 63)
      throw new InvalidArgumentError(
        `${what} must be a DNS-1123 label (lower-case letters, digits, "-"), e.g. 1-28-10`,
      );
    return v;
  };
}

/** Runs the command with injected IO; returns the exit code (0 ok, 1 bad arguments or render failure). */
export async function runRenderCli(argv: string[], io: CliIO): Promise<number> {
  const program = new Command("render-cli")
    .description(
      "print the manifests `istioctl manifest generate --set revision=REV` would, for meshlift's Manifests mode",
    )
    .requiredOption("--version <version>", "Istio release, e.g. 1.28.10")
    .option("--revision <name>", "revision name (default: the unrevisioned install)", dnsLabel("--revision"))
    .option("--namespace <ns>", "Istio namespace", dnsLabel("--namespace"), "istio-system")
    .option("--hub <hub>", "image hub (default: the release hub of that version)")
    .option("--replicas <n>", "istiod replicas", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a non-negative integer");
      return n;
    })
    .option(
      "--tag <name>",
      "a revision tag pointing at this revision (repeatable)",
      (v: string, all: string[]) => [...all, dnsLabel("--tag")(v)],
      [] as string[],
    )
    .option("--crds", "also print the Istio CRDs", false)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  let o: {
    version: string;
    revision?: string;
    namespace: string;
    hub?: string;
    replicas?: number;
    tag: string[];
    crds: boolean;
  };
  try {
    o = program.parse(argv, { from: "user" }).opts();
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
  try {
    const objects = await renderManifests({
      version: o.version,
      revision: o.revision,
      istioNamespace: o.namespace,
      hub: o.hub,
      replicas: o.replicas,
      tags: o.tag,
      crds: o.crds,
    });
    io.stdout(toMultiDocumentYaml(objects));
    return 0;
  } catch (e) {
    io.stderr(`render-cli: ${(e as Error).message}\n`);
    return 1;
  }
}

const invokedDirectly = (() => {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (invokedDirectly) {
  process.exitCode = await runRenderCli(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  });
}
