export * from "./version.js";
export * from "./catalog.js";
export * from "./rules.js";
