import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { KubeError } from "./errors.js";
import { loadCluster } from "./config.js";

const dir = mkdtempSync(path.join(tmpdir(), "meshlift-kubeconfig-"));

function kubeconfig(
  file: string,
  opts: {
    clusters: [string, string, boolean?][];
    users: string[];
    contexts: [string, string, string, string?][];
    current?: string;
  },
): string {
  const full = path.join(dir, file);
  writeFileSync(
    full,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: opts.clusters.map(([name, server, skip]) => ({
        name,
        cluster: { server, ...(skip ? { "insecure-skip-tls-verify": true } : {}) },
      })),
      users: opts.users.map((name) => ({ name, user: { token: `${name}-token` } })),
      contexts: opts.contexts.map(([name, cluster, user, namespace]) => ({
        name,
        context: { cluster, user, ...(namespace ? { namespace } : {}) },
      })),
      ...(opts.current ? { "current-context": opts.current } : {}),
    }),
  );
  return full;
}

const expectKubeconfigError = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof KubeError && e.reason === "BadKubeconfig" && pattern.test(e.message));

describe("kubeconfig resolution", () => {
  const a = kubeconfig("a.yaml", {
    clusters: [
      ["prod", "https://prod.example:6443"],
      ["shared", "https://from-a.example"],
    ],
    users: ["alice"],
    contexts: [
      ["prod", "prod", "alice", "shop"],
      ["shared", "shared", "alice"],
    ],
    current: "prod",
  });
  const b = kubeconfig("b.yaml", {
    clusters: [
      ["shared", "https://from-b.example"],
      ["dev", "http://127.0.0.1:8080", true],
    ],
    users: ["bob", "alice"],
    contexts: [
      ["dev", "dev", "bob"],
      ["shared", "dev", "bob"],
    ],
    current: "dev",
  });

  test("--kubeconfig with its current context: server and context namespace", () => {
    const c = loadCluster({ kubeconfig: a, env: {} });
    assert.equal(c.server, "https://prod.example:6443");
    assert.equal(c.contextName, "prod");
    assert.equal(c.namespace, "shop");
    assert.equal(c.source, a);
  });

  test("KUBECONFIG with several files merges like kubectl: first definition and first current-context win", () => {
    const missing = path.join(dir, "missing.yaml");
    const c = loadCluster({ env: { KUBECONFIG: [missing, a, b].join(path.delimiter) } });
    assert.equal(c.contextName, "prod", "current-context of the first file that sets one");
    const shared = loadCluster({ env: { KUBECONFIG: [a, b].join(path.delimiter) }, context: "shared" });
    assert.equal(shared.server, "https://from-a.example", "the first file's context and cluster named 'shared' win");
    const dev = loadCluster({ env: { KUBECONFIG: [a, b].join(path.delimiter) }, context: "dev" });
    assert.equal(dev.server, "http://127.0.0.1:8080");
    assert.equal(dev.namespace, "default");
  });

  test("--kubeconfig beats KUBECONFIG", () => {
    const c = loadCluster({ kubeconfig: b, env: { KUBECONFIG: a } });
    assert.equal(c.contextName, "dev");
  });

  test("~/.kube/config is used when nothing else is given", () => {
    const home = path.join(dir, "home");
    mkdirSync(path.join(home, ".kube"), { recursive: true });
    writeFileSync(
      path.join(home, ".kube", "config"),
      stringify({
        clusters: [{ name: "h", cluster: { server: "https://home.example" } }],
        users: [{ name: "u", user: { token: "x" } }],
        contexts: [{ name: "h", context: { cluster: "h", user: "u" } }],
        "current-context": "h",
      }),
    );
    assert.equal(loadCluster({ env: { HOME: home } }).server, "https://home.example");
  });

  test("in-cluster: the service account token, CA and namespace files", () => {
    const sa = path.join(dir, "sa");
    mkdirSync(sa, { recursive: true });
    writeFileSync(path.join(sa, "token"), "sa-token");
    writeFileSync(path.join(sa, "ca.crt"), "");
    writeFileSync(path.join(sa, "namespace"), "meshlift-system\n");
    const c = loadCluster({
      env: { HOME: path.join(dir, "nohome"), KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" },
      serviceAccountDir: sa,
    });
    assert.equal(c.server, "https://10.0.0.1:443");
    assert.equal(c.namespace, "meshlift-system");
    assert.equal(c.source, "in-cluster service account");
  });

  test("an unknown --context lists the available ones", () => {
    expectKubeconfigError(
      () => loadCluster({ kubeconfig: a, context: "staging", env: {} }),
      /context "staging" is not in kubeconfig .*available: prod, shared/,
    );
  });

  test("a missing --kubeconfig file is one clear error", () => {
    expectKubeconfigError(
      () => loadCluster({ kubeconfig: path.join(dir, "nope"), env: {} }),
      /does not exist — check the --kubeconfig path/,
    );
  });

  test("KUBECONFIG naming only missing files is one clear error", () => {
    expectKubeconfigError(
      () => loadCluster({ env: { KUBECONFIG: path.join(dir, "x") } }),
      /none of the files in KUBECONFIG exist/,
    );
  });

  test("nothing found anywhere says what was tried", () => {
    expectKubeconfigError(
      () => loadCluster({ env: { HOME: path.join(dir, "empty-home") }, serviceAccountDir: path.join(dir, "no-sa") }),
      /no Kubernetes configuration found/,
    );
  });

  test("a file that is not YAML is reported with its path", () => {
    const bad = path.join(dir, "bad.yaml");
    writeFileSync(bad, "clusters: [unclosed");
    expectKubeconfigError(() => loadCluster({ kubeconfig: bad, env: {} }), /bad\.yaml cannot be read/);
  });

  test("no current-context and no --context: asks for --context", () => {
    const none = kubeconfig("none.yaml", { clusters: [["x", "https://x"]], users: ["u"], contexts: [["x", "x", "u"]] });
    expectKubeconfigError(
      () => loadCluster({ kubeconfig: none, env: {} }),
      /no current-context — pass --context \(available: x\)/,
    );
  });

  test("plain http without insecure-skip-tls-verify is refused before any request", () => {
    const http = kubeconfig("http.yaml", {
      clusters: [["x", "http://127.0.0.1:1"]],
      users: ["u"],
      contexts: [["x", "x", "u"]],
      current: "x",
    });
    expectKubeconfigError(
      () => loadCluster({ kubeconfig: http, env: {} }),
      /plain http .* without insecure-skip-tls-verify/,
    );
  });

  test("a context naming an undefined cluster is reported", () => {
    const dangling = kubeconfig("dangling.yaml", {
      clusters: [],
      users: ["u"],
      contexts: [["x", "ghost", "u"]],
      current: "x",
    });
    expectKubeconfigError(
      () => loadCluster({ kubeconfig: dangling, env: {} }),
      /names cluster "ghost", which is not defined/,
    );
  });
});
