// The console's browser app. Built into web/dist (gitignored) by `vite build web`, by the console on
// its first start, and by the browser tests before they run; src/server/static.ts serves the result.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [react()],
  // the server adds a strict Content-Security-Policy: no inline scripts or styles may be emitted
  build: {
    target: "es2022",
    modulePreload: { polyfill: false },
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // `vite web` during development: the API and live events come from `meshlift console --port 8080`
    proxy: { "/api": { target: "http://127.0.0.1:8080", changeOrigin: false } },
  },
});
