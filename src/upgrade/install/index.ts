// Control-plane installers and revision removal: what the upgrade engine's executor calls to install a target
// revision (Manifests or Sail mode), to tell when it serves, and to take a revision offline.
export * from "./object-ref.js";
export * from "./revision-names.js";
export { ResourceDiscovery, splitApiVersion } from "./discovery.js";
export * from "./manifests.js";
export * from "./apply.js";
export * from "./sail.js";
export * from "./revision-objects.js";
export * from "./readiness.js";
