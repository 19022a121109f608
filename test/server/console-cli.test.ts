// `meshlift console` as a user runs it: the real launcher in its own process, pointed at a sandbox
// with --kubeconfig. It prints the ready line, serves the built app and the API, and stops on SIGTERM.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startSandbox, type Sandbox } from "../../sandbox/index.js";
import { ensureConsoleBuilt } from "../../src/server/index.js";
import { TIMING } from "./console-harness.js";

const LAUNCHER = fileURLToPath(new URL("../../bin/meshlift.js", import.meta.url));

describe("meshlift console", () => {
  let sb: Sandbox;
  let child: ChildProcess | undefined;

  before(async () => {
    await ensureConsoleBuilt({ rebuildIfStale: true });
    sb = await startSandbox({ scenario: "demo", port: 0, timing: TIMING });
    await sb.idle();
  });
  after(async () => {
    child?.kill("SIGKILL");
    await sb?.stop();
  });

  test("prints 'console ready in N ms at URL', serves the app and the API, and exits 0 on SIGTERM", async () => {
    child = spawn(process.execPath, [LAUNCHER, "--kubeconfig", sb.kubeconfigPath, "console", "--port", "0"], {
      env: { ...process.env, NODE_NO_WARNINGS: "1", MESHLIFT_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line after 60 s; stderr:\n${stderr}`)), 60_000);
      child!.stdout!.on("data", (d) => {
        stdout += d;
        const m = /^console ready in \d+ ms at (http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout);
        if (m && stdout.includes("log in with")) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child!.once("exit", (code) => reject(new Error(`exited ${code} before ready; stderr:\n${stderr}`)));
    });
    assert.match(stdout, new RegExp(`reading ${sb.url.replace(/[.]/g, "\\.")}`));

    const page = await fetch(`${url}/upgrades`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="root"><\/div>/);
    assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    const api = await fetch(`${url}/api/overview`);
    assert.equal(api.status, 401);
    const missing = await fetch(`${url}/assets/nothing-here.js`);
    assert.equal(missing.status, 404);

    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    assert.match(stderr, /"path":"\/api\/overview","status":401/, "requests are logged as JSON lines on stderr");
  });

  test("refuses a bad port and half a TLS pair with exit 4 before touching the cluster", async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const p = spawn(process.execPath, [LAUNCHER, "--kubeconfig", sb.kubeconfigPath, "console", ...args], {
          env: { ...process.env, NODE_NO_WARNINGS: "1" },
        });
        let stderr = "";
        p.stderr.on("data", (d) => (stderr += d));
        p.once("exit", (code) => resolve({ code, stderr }));
      });
    const port = await run(["--port", "http"]);
    assert.equal(port.code, 4);
    assert.match(port.stderr, /--port "http" is not a port number/);
    const tls = await run(["--tls-cert", "/tmp/cert.pem"]);
    assert.equal(tls.code, 4);
    assert.match(tls.stderr, /--tls-cert and --tls-key go together/);
  });
});
