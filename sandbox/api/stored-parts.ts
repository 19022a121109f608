// Parts of stored objects that writes usually keep as they are (copy-on-write shares them): a pod's spec, and
// labels and annotations. Stored objects are immutable (sandbox/api/store.ts), so work that depends on such a
// part alone — defaulting a pod spec, validating labels — was done when the part was first stored and need not
// be redone when a later version brings the same part along.
const storedParts = new WeakSet<object>();

/** Called by the store for every object it commits. */
export function rememberStoredParts(key: string, obj: { metadata?: object; spec?: unknown }): void {
  const { labels, annotations } = (obj.metadata ?? {}) as { labels?: unknown; annotations?: unknown };
  if (typeof labels === "object" && labels !== null) storedParts.add(labels);
  if (typeof annotations === "object" && annotations !== null) storedParts.add(annotations);
  if (key === "/pods" && typeof obj.spec === "object" && obj.spec !== null) storedParts.add(obj.spec);
}

/** Whether `value` is a part of an object the store holds: immutable, and already defaulted and validated. */
export function isStoredPart(value: unknown): boolean {
  return typeof value === "object" && value !== null && storedParts.has(value);
}
