// Names shared by the table generator and the decoder.

/**
 * Messages with a JSON form of their own (custom marshallers in apimachinery), decoded by hand
 * instead of through the field tables.
 */
export const SPECIAL_MESSAGES: ReadonlySet<string> = new Set([
  "resource.Quantity",
  "intstr.IntOrString",
  "meta.v1.Time",
  "meta.v1.MicroTime",
  "meta.v1.Duration",
  "meta.v1.FieldsV1",
  "runtime.RawExtension",
]);

const PACKAGE_PREFIXES = [
  ".k8s.io.api.",
  ".k8s.io.apimachinery.pkg.apis.",
  ".k8s.io.apimachinery.pkg.api.",
  ".k8s.io.apimachinery.pkg.util.",
  ".k8s.io.apimachinery.pkg.",
];

/** `.k8s.io.api.core.v1.Pod` → `core.v1.Pod`, `.k8s.io.apimachinery.pkg.apis.meta.v1.Time` → `meta.v1.Time`. */
export function shortMessageName(fullName: string): string {
  const prefix = PACKAGE_PREFIXES.find((p) => fullName.startsWith(p));
  return prefix ? fullName.slice(prefix.length) : fullName.replace(/^\./, "");
}
