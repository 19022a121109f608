// The browser app: built by Vite from web/ into web/dist, served as static files. A fresh checkout
// has no build (web/dist is not committed), so the console builds it on first start; tests rebuild
// it when a source under web/ is newer than the build. Concurrent builders (test files running in
// parallel) serialise on a lock directory and each re-checks after waiting.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { SECURITY_HEADERS } from "./http.js";

/** The meshlift package's root, from src/server/ or from the compiled dist/src/server/. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "meshlift") return dir;
      } catch {
        // not ours: keep climbing
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error(`cannot find the meshlift package root above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export function webDir(): string {
  return path.join(packageRoot(), "web");
}

export type BuildState = "missing" | "stale" | "fresh";

function newestMtime(file: string): number {
  const s = statSync(file);
  if (!s.isDirectory()) return s.mtimeMs;
  let newest = s.mtimeMs;
  for (const entry of readdirSync(file)) newest = Math.max(newest, newestMtime(path.join(file, entry)));
  return newest;
}

/** Whether web/dist exists and is newer than every source of the app. */
export function buildState(web: string = webDir()): BuildState {
  const index = path.join(web, "dist", "index.html");
  if (!existsSync(index)) return "missing";
  const sources = ["index.html", "vite.config.ts", "src"].map((f) => path.join(web, f)).filter((f) => existsSync(f));
  if (sources.length === 0) return "fresh"; // an installed package ships the build without its sources
  const newestSource = Math.max(...sources.map(newestMtime));
  return newestSource > statSync(index).mtimeMs ? "stale" : "fresh";
}

const LOCK_STALE_MS = 3 * 60_000;

async function withBuildLock<T>(web: string, body: () => Promise<T>): Promise<T> {
  const lock = path.join(web, ".dist-build.lock");
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      // a builder that died leaves its lock: take it over after a while
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > LOCK_STALE_MS)
        rmSync(lock, { recursive: true, force: true });
      else await sleep(200);
    }
  }
  try {
    return await body();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface EnsureBuiltOptions {
  web?: string;
  /** rebuild when a source is newer than the build (tests, development); default: only when missing */
  rebuildIfStale?: boolean;
  log?: (line: string) => void;
}

/** Builds the app with Vite when it is missing (or stale, if asked); resolves with what was done. */
export async function ensureConsoleBuilt(options: EnsureBuiltOptions = {}): Promise<{ built: boolean; ms: number }> {
  const web = options.web ?? webDir();
  const needed = (s: BuildState) => s === "missing" || (s === "stale" && options.rebuildIfStale === true);
  if (!needed(buildState(web))) return { built: false, ms: 0 };
  return withBuildLock(web, async () => {
    const state = buildState(web);
    if (!needed(state)) return { built: false, ms: 0 }; // another process built it while we waited
    const started = performance.now();
    options.log?.(`building the console's web app (${state === "missing" ? "first start" : "sources changed"})…`);
    let vite: typeof import("vite");
    try {
      vite = await import("vite");
    } catch {
      throw new Error(
        `the console's web app is not built (${path.join(web, "dist")} is missing) and Vite is not installed to build it — run \`npm ci\` in ${path.dirname(web)}, or install a meshlift package that ships web/dist`,
      );
    }
    const outDir = path.join(web, `dist.build-${process.pid}`);
    await vite.build({
      root: web,
      configFile: path.join(web, "vite.config.ts"),
      logLevel: "warn",
      build: { outDir, emptyOutDir: true },
    });
    const dist = path.join(web, "dist");
    const old = path.join(web, `dist.old-${process.pid}`);
    if (existsSync(dist)) renameSync(dist, old);
    renameSync(outDir, dist);
    rmSync(old, { recursive: true, force: true });
    return { built: true, ms: Math.round(performance.now() - started) };
  });
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".map": "application/json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/** Serves the built app; any path without a file extension gets index.html (client-side routes). */
export class StaticFiles {
  constructor(private readonly root: string) {}

  async serve(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return this.notFound(res);
    }
    const relative = path.normalize(decoded).replace(/^([/\\])+/, "");
    const file = path.join(this.root, relative);
    if (!file.startsWith(this.root + path.sep) && file !== this.root) return this.notFound(res);
    const found = await stat(file).catch(() => undefined);
    if (found?.isFile()) return this.send(req, res, file, relative.startsWith("assets/"));
    // a page of the app (/overview, /upgrades/x): the app's router decides what it shows
    if (!path.extname(relative)) return this.send(req, res, path.join(this.root, "index.html"), false);
    return this.notFound(res);
  }

  private async send(req: IncomingMessage, res: ServerResponse, file: string, immutable: boolean): Promise<void> {
    const body = await readFile(file).catch(() => undefined);
    if (!body) return this.notFound(res);
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "Content-Type": CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream",
      "Content-Length": String(body.length),
      // Vite names assets by content hash: they never change; index.html must always be asked again
      "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    });
    res.end(req.method === "HEAD" ? undefined : body);
  }

  private notFound(res: ServerResponse): void {
    res.writeHead(404, { ...SECURITY_HEADERS, "Content-Type": "text/plain; charset=utf-8" });
    res.end("not found\n");
  }
}
