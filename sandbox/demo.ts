// `npm start`: the embedded default — a sandbox cluster with the `demo` mesh and the web console on
// localhost. Prints how to reach both (kubectl, meshlift, the browser) and the two tokens; runs until
// interrupted. The console is product code reading the sandbox over HTTPS like any cluster.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pino } from "pino";
import { parse } from "yaml";
import { availableUpgrades, builtinCatalog, revisionName } from "../src/catalog/index.js";
import { loadCluster } from "../src/kube/config.js";
import { runUpgradeOperator, type UpgradeOperator } from "../src/upgrade/engine/operator.js";
import { manifestsConfigMap } from "./render-cli.js";
import { ensureConsoleBuilt, startConsoleServer, type ConsoleServer } from "../src/server/index.js";
import { startSandbox } from "./index.js";

const port = Number(process.env.MESHLIFT_DEMO_PORT ?? 0);
const consolePort = Number(process.env.MESHLIFT_CONSOLE_PORT ?? 8080);
const started = performance.now();
// a fresh machine has no build of the browser app yet: make it while nothing else runs
const build = await ensureConsoleBuilt({ rebuildIfStale: true, log: (line) => console.log(line) });
const sb = await startSandbox({
  scenario: process.env.MESHLIFT_DEMO_SCENARIO ?? "demo",
  port,
  kubeconfigPath: resolve(".sandbox/kubeconfig"),
});

// the MeshUpgrade API, so the console's Upgrades page works before any operator runs
const crd = parse(readFileSync(new URL("../deploy/crds/meshupgrade.yaml", import.meta.url), "utf8"));
const cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
await cluster.rest.requestJson({
  method: "POST",
  path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
  body: crd,
});

// Manifests install mode in the demo: the rendered manifests of every version one canary step away, each in a
// ConfigMap labelled for its revision (what a CI pipeline running `istioctl manifest generate` would store)
const catalog = builtinCatalog();
const current = sb.scenario.istio?.revisions?.[0]?.version ?? "1.27.9";
const targets = availableUpgrades(current, sb.scenario.kubernetesVersion, new Date(), catalog).upgrades;
for (const t of targets) {
  const configMap = await manifestsConfigMap({ version: t.version, revision: revisionName(t.version) });
  await cluster.rest.requestJson({
    method: "POST",
    path: "/api/v1/namespaces/istio-system/configmaps",
    body: configMap,
  });
}

// the operator reconciles every MeshUpgrade the console (or kubectl) creates
const operatorLog = resolve(".sandbox/operator.log");
const operator: UpgradeOperator = await runUpgradeOperator({
  cluster,
  catalog,
  leaseNamespace: "default",
  http: { host: "127.0.0.1", port: 0 },
  logger: pino({ level: "info" }, pino.destination({ dest: operatorLog, mkdir: true, sync: false })),
});

const consoleLog = resolve(".sandbox/console.log");
const logger = pino({ level: "info" }, pino.destination({ dest: consoleLog, mkdir: true, sync: false }));
let web: ConsoleServer;
try {
  web = await startConsoleServer({ cluster, logger, host: "127.0.0.1", port: consolePort });
} catch (err) {
  if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
  console.log(`port ${consolePort} is taken; the console takes a free one (set MESHLIFT_CONSOLE_PORT to choose)`);
  web = await startConsoleServer({ cluster, logger, host: "127.0.0.1", port: 0 });
}

const ms = Math.round(performance.now() - started);
const lines = [
  `meshlift demo ready in ${ms} ms${build.built ? ` (web app built in ${build.ms} ms)` : ""}`,
  ``,
  `  Console          ${web.url}   (log in with a token below; its log: ${consoleLog})`,
  `  Kubernetes API   ${sb.url}   (Kubernetes ${sb.scenario.kubernetesVersion}, ${sb.store.count("/pods")} pods)`,
  `  Operator         ${operator.controller.url}/metrics   (its log: ${operatorLog})`,
  `  Upgrades ready   ${targets.map((t) => t.version).join(", ")} (install mode Manifests: ConfigMaps in istio-system)`,
  `  kubeconfig       ${sb.kubeconfigPath}`,
  `  admin token      ${sb.tokens.admin}`,
  `  read-only token  ${sb.tokens.viewer}`,
  ``,
  `  try:  kubectl --kubeconfig ${sb.kubeconfigPath} get pods -A`,
  `        npm run meshlift -- --kubeconfig ${sb.kubeconfigPath} status`,
  ``,
  `  Ctrl-C to stop.`,
];
console.log(lines.join("\n"));
const stop = async () => {
  await web.close();
  await operator.stop();
  cluster.close();
  await sb.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
