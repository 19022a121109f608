// The MeshUpgrade API: schema (the source of truth), the CRD generated from it, spec validation.
export * from "./schema.js";
export * from "./crd.js";
export * from "./validate.js";
