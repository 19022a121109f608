// How install and removal name the objects they touch: enough to find each one again (the shape the
// MeshUpgrade status records in installedObjects).

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  /** absent for cluster-scoped objects */
  namespace?: string;
  name: string;
}

/** "Kind ns/name" or "Kind name", as messages name an object. */
export function describeObject(o: { kind?: string; namespace?: string; name: string }): string {
  return `${o.kind ?? "object"} ${o.namespace ? `${o.namespace}/` : ""}${o.name}`;
}
