import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildState, packageRoot, StaticFiles } from "./static.js";

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), "meshlift-static-"));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), content);
  }
  return root;
}

const touch = (file: string, secondsAgo: number) => {
  const at = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(file, at, at);
};

describe("the browser app's build and files", () => {
  test("a build is missing, stale when any source is newer, fresh otherwise; a package without sources is fresh", () => {
    const web = tree({ "index.html": "<html>", "src/pages/a.tsx": "x", "vite.config.ts": "x" });
    try {
      assert.equal(buildState(web), "missing");
      mkdirSync(path.join(web, "dist"));
      writeFileSync(path.join(web, "dist", "index.html"), "<html>");
      for (const f of ["index.html", "vite.config.ts", "src/pages/a.tsx", "src/pages", "src"])
        touch(path.join(web, f), 60);
      assert.equal(buildState(web), "fresh");
      touch(path.join(web, "src/pages/a.tsx"), 0);
      touch(path.join(web, "dist/index.html"), 30);
      assert.equal(buildState(web), "stale", "a page changed after the build");
      for (const f of ["index.html", "vite.config.ts", "src"]) rmSync(path.join(web, f), { recursive: true });
      assert.equal(buildState(web), "fresh");
    } finally {
      rmSync(web, { recursive: true, force: true });
    }
  });

  test("the package root is found from this module", () => {
    assert.equal(path.basename(path.join(packageRoot(), "package.json")), "package.json");
    assert.ok(import.meta.filename.startsWith(packageRoot()));
  });

  test("files are served from the build only: app routes get index.html, traversal and unknown files get 404", async () => {
    const root = tree({
      "dist/index.html": "<div id=root>",
      "dist/assets/app-1234.js": "console.log(1)",
      "secret.txt": "no",
    });
    const files = new StaticFiles(path.join(root, "dist"));
    const server = http.createServer((req, res) => void files.serve(req, res, new URL(req.url!, "http://x").pathname));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const asset = await fetch(`${base}/assets/app-1234.js`);
      assert.equal(asset.headers.get("content-type"), "text/javascript; charset=utf-8");
      assert.match(asset.headers.get("cache-control")!, /immutable/);
      const route = await fetch(`${base}/upgrades/to-1-28`);
      assert.equal(await route.text(), "<div id=root>");
      assert.equal(route.headers.get("cache-control"), "no-cache");
      assert.match(route.headers.get("content-security-policy")!, /default-src 'self'/);
      for (const p of ["/assets/missing.js", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/%E0%A4%A"])
        assert.equal((await fetch(`${base}${p}`)).status, 404, p);
    } finally {
      server.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
