// Regenerates tables.ts from the protobuf descriptors a kubectl binary embeds.
// gogo-generated k8s.io/api code registers every generated.proto as a gzipped FileDescriptorProto, so a
// kubectl binary carries the exact field tables of the client-go that sends the bodies, including the
// gogoproto `nullable` option that tells pointer fields (zero values meaningful) from value fields.
//
//   npx tsx sandbox/api/protobuf/gen-tables.ts [/path/to/kubectl] > sandbox/api/protobuf/tables.ts && npx prettier --write sandbox/api/protobuf/tables.ts
import { readFileSync, realpathSync } from "node:fs";
import { inflateRawSync, constants as zlib } from "node:zlib";
import { execFileSync } from "node:child_process";
import { fromBinary } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  type DescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { SPECIAL_MESSAGES, shortMessageName } from "./wire-kinds.js";

/** The kinds a body may carry, by the message that encodes them (what kubectl and client-go write). */
const ROOTS = [
  "core.v1.Namespace",
  "core.v1.ConfigMap",
  "core.v1.Secret",
  "core.v1.ServiceAccount",
  "core.v1.Service",
  "core.v1.Pod",
  "core.v1.Binding",
  "core.v1.Endpoints",
  "core.v1.Event",
  "core.v1.LimitRange",
  "core.v1.Node",
  "core.v1.PersistentVolumeClaim",
  "core.v1.ResourceQuota",
  "apps.v1.Deployment",
  "apps.v1.StatefulSet",
  "apps.v1.DaemonSet",
  "apps.v1.ReplicaSet",
  "batch.v1.Job",
  "batch.v1.CronJob",
  "rbac.v1.Role",
  "rbac.v1.RoleBinding",
  "rbac.v1.ClusterRole",
  "rbac.v1.ClusterRoleBinding",
  "policy.v1.PodDisruptionBudget",
  "policy.v1.Eviction",
  "coordination.v1.Lease",
  "authentication.v1.TokenRequest",
  "authentication.v1.TokenReview",
  "authentication.v1.SelfSubjectReview",
  "authorization.v1.SubjectAccessReview",
  "authorization.v1.SelfSubjectAccessReview",
  "authorization.v1.SelfSubjectRulesReview",
  "autoscaling.v1.Scale",
  "autoscaling.v1.HorizontalPodAutoscaler",
  "autoscaling.v2.HorizontalPodAutoscaler",
  "networking.v1.Ingress",
  "networking.v1.NetworkPolicy",
  "discovery.v1.EndpointSlice",
  "events.v1.Event",
  "scheduling.v1.PriorityClass",
  "certificates.v1.CertificateSigningRequest",
  "meta.v1.DeleteOptions",
];

/** proto package (short) → the apiVersion its kinds are served under */
const API_VERSIONS: Record<string, string> = {
  "core.v1": "v1",
  "apps.v1": "apps/v1",
  "batch.v1": "batch/v1",
  "rbac.v1": "rbac.authorization.k8s.io/v1",
  "policy.v1": "policy/v1",
  "coordination.v1": "coordination.k8s.io/v1",
  "authentication.v1": "authentication.k8s.io/v1",
  "authorization.v1": "authorization.k8s.io/v1",
  "autoscaling.v1": "autoscaling/v1",
  "autoscaling.v2": "autoscaling/v2",
  "networking.v1": "networking.k8s.io/v1",
  "discovery.v1": "discovery.k8s.io/v1",
  "events.v1": "events.k8s.io/v1",
  "scheduling.v1": "scheduling.k8s.io/v1",
  "certificates.v1": "certificates.k8s.io/v1",
  "meta.v1": "meta.k8s.io/v1",
};

function bodyKind(message: string): string {
  const dot = message.lastIndexOf(".");
  const apiVersion = API_VERSIONS[message.slice(0, dot)];
  if (!apiVersion) throw new Error(`${message}: no apiVersion known for its package`);
  return `${apiVersion}/${message.slice(dot + 1)}`;
}

const GOGO_NULLABLE = 65001;
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff]); // Go's gzip.BestCompression header

function kubectlPath(): string {
  if (process.argv[2]) return process.argv[2];
  return realpathSync(execFileSync("sh", ["-c", "command -v kubectl"], { encoding: "utf8" }).trim());
}

function embeddedDescriptors(binary: Buffer): FileDescriptorProto[] {
  const files = new Map<string, FileDescriptorProto>();
  for (let at = binary.indexOf(GZIP_HEADER); at >= 0; at = binary.indexOf(GZIP_HEADER, at + 1)) {
    let raw: Buffer;
    try {
      // raw inflate past the 10-byte header: it stops at the member's end, where gunzip would run on
      // into a descriptor stored right after it
      raw = inflateRawSync(binary.subarray(at + GZIP_HEADER.length, at + 4_000_000), {
        finishFlush: zlib.Z_SYNC_FLUSH,
      });
    } catch {
      continue;
    }
    try {
      const fd = fromBinary(FileDescriptorProtoSchema, raw);
      if (fd.name.endsWith("generated.proto") && fd.package.startsWith("k8s.io.")) files.set(fd.package, fd);
    } catch {
      // gzip data that is not a descriptor
    }
  }
  return [...files.values()];
}

const SCALARS: Partial<Record<FieldDescriptorProto_Type, string>> = {
  [FieldDescriptorProto_Type.STRING]: "string",
  [FieldDescriptorProto_Type.BYTES]: "bytes",
  [FieldDescriptorProto_Type.BOOL]: "bool",
  [FieldDescriptorProto_Type.INT32]: "int32",
  [FieldDescriptorProto_Type.INT64]: "int64",
  [FieldDescriptorProto_Type.DOUBLE]: "double",
};

/**
 * Embedded structs tagged `json:",inline"` (VolumeSource in Volume, LocalObjectReference in
 * ConfigMapKeySelector, ...) are a field in protobuf but merge into their parent in JSON. The descriptors
 * do not say so; the Go struct tags kept in the binary do: `json:",inline" protobuf:"bytes,2,opt,name=volumeSource"`.
 */
function inlineTags(binary: Buffer): { named: Set<string>; unnamed: Set<number> } {
  const named = new Set<string>();
  const unnamed = new Set<number>();
  const text = binary.toString("latin1");
  for (const m of text.matchAll(/json:",inline" protobuf:"bytes,(\d+)(?:,opt|,req)?(?:,name=(\w+))?"/g)) {
    if (m[2]) named.add(`${m[2]}=${m[1]}`);
    else unnamed.add(Number(m[1]));
  }
  return { named, unnamed };
}

/**
 * Inline tags without a proto name (`protobuf:"bytes,1,req"`) cannot be told apart from ordinary fields of
 * the same number, so they are listed by hand; generation fails when the binary has a different count.
 */
const UNNAMED_INLINE = ["core.v1.EphemeralContainer.ephemeralContainerCommon"];

function nullable(f: FieldDescriptorProto): boolean {
  const opt = f.options?.$unknown?.find((u) => u.no === GOGO_NULLABLE);
  return !(opt && opt.data[0] === 0);
}

function main(): void {
  const path = kubectlPath();
  const binary = readFileSync(path);
  const inline = inlineTags(binary);
  if (inline.unnamed.size !== UNNAMED_INLINE.length)
    throw new Error(
      `${inline.unnamed.size} unnamed inline tags in ${path}, UNNAMED_INLINE lists ${UNNAMED_INLINE.length}`,
    );
  const inlined: string[] = [];
  const messages = new Map<string, DescriptorProto>();
  for (const fd of embeddedDescriptors(binary))
    for (const m of fd.messageType) messages.set(shortMessageName(`.${fd.package}.${m.name}`), m);

  const rows = new Map<string, string>();
  const wrappers = new Set<string>();
  const pending = [...ROOTS];
  const kindOf = (f: FieldDescriptorProto, owner: DescriptorProto): string => {
    const scalar = SCALARS[f.type];
    if (scalar) return scalar;
    if (f.type !== FieldDescriptorProto_Type.MESSAGE) throw new Error(`unhandled field type ${f.type} (${f.name})`);
    // proto maps are repeated nested <Name>Entry messages with key = 1, value = 2
    const entry = owner.nestedType.find((n) => n.options?.mapEntry && f.typeName.endsWith(`.${n.name}`));
    if (entry) {
      const value = entry.field.find((x) => x.number === 2)!;
      return `map<string,${kindOf(value, entry)}>`;
    }
    const target = shortMessageName(f.typeName);
    if (!SPECIAL_MESSAGES.has(target)) pending.push(target);
    return target;
  };
  while (pending.length) {
    const name = pending.pop()!;
    if (rows.has(name) || SPECIAL_MESSAGES.has(name)) continue;
    const m = messages.get(name);
    if (!m) throw new Error(`${name}: no descriptor in ${path}`);
    const fields = m.field.map((f) => {
      const repeated = f.label === FieldDescriptorProto_Label.REPEATED;
      const kind = kindOf(f, m);
      const map = kind.startsWith("map<");
      const isInline =
        f.type === FieldDescriptorProto_Type.MESSAGE &&
        (inline.named.has(`${f.name}=${f.number}`) || UNNAMED_INLINE.includes(`${name}.${f.name}`));
      if (isInline) inlined.push(`${name}.${f.name}`);
      const mark = isInline ? "~" : repeated && !map ? "*" : !repeated && nullable(f) ? "?" : "";
      return `${f.name}=${f.number}:${kind}${mark}`;
    });
    // named string slices (e.g. ExtraValue []string) become wrapper messages whose only field is `items`
    const [only] = m.field;
    if (
      m.field.length === 1 &&
      only.name === "items" &&
      only.label === FieldDescriptorProto_Label.REPEATED &&
      only.type === FieldDescriptorProto_Type.STRING
    )
      wrappers.add(name);
    rows.set(name, fields.join(" "));
  }

  const version = execFileSync(path, ["version", "--client", "-o", "json"], { encoding: "utf8" });
  const gitVersion = (JSON.parse(version) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion;
  const out: string[] = [
    `// GENERATED by gen-tables.ts from the descriptors embedded in kubectl ${gitVersion}: do not edit.`,
    "// message → fields, each `json=number:kind`, `*` repeated, `?` a Go pointer (a present zero value is kept),",
    "// `~` an embedded struct inlined in JSON (its fields merge into the parent).",
    "// Kinds: string, int32, int64, bool, bytes, double, map<string,K>, or a message name.",
    "",
    `export const KUBECTL_VERSION = ${JSON.stringify(gitVersion)};`,
    "",
    "/** Messages whose JSON form is the bare list of their `items` (Go named slices such as ExtraValue). */",
    `export const LIST_WRAPPERS: ReadonlySet<string> = new Set(${JSON.stringify([...wrappers].sort())});`,
    "",
    "/** `apiVersion/Kind` of a body's envelope → the message that encodes the object. */",
    "export const BODY_KINDS: Readonly<Record<string, string>> = {",
    ...ROOTS.map((m) => `  ${JSON.stringify(bodyKind(m))}: ${JSON.stringify(m)},`),
    "};",
    "",
    "export const MESSAGE_FIELDS: Readonly<Record<string, string>> = {",
    ...[...rows.keys()].sort().map((k) => `  ${JSON.stringify(k)}:\n    ${JSON.stringify(rows.get(k))},`),
    "};",
    "",
  ];
  process.stdout.write(out.join("\n"));
  process.stderr.write(`inlined in JSON: ${inlined.sort().join(", ")}\n`);
}

main();
