export * from "./schema.js";
export { buildSnapshot, emptySnapshotInput, type SnapshotInput, type SynczByRevision } from "./snapshot.js";
export { proxiesOnRevision, type Straggler } from "./stragglers.js";
export { selectorMatches, selectorsIntersect } from "./selectors.js";
export { expectedProxyImage, readInjectorConfig, type InjectorConfig } from "./injector.js";
export type * from "./kube-types.js";
