// The console's server: HTTP API, auth, live updates and the browser app's static files.
export { startConsoleServer, type ConsoleServer, type ConsoleServerOptions } from "./server.js";
export { ensureConsoleBuilt, buildState, packageRoot, webDir, type BuildState } from "./static.js";
export { LiveMesh, type LiveMeshOptions } from "./live.js";
export type * from "./api-types.js";
