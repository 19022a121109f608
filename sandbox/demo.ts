// `npm start`: the embedded default — a sandbox cluster with the `demo` mesh on localhost.
// Prints how to reach it with kubectl and meshlift; runs until interrupted.
import { resolve } from "node:path";
import { startSandbox } from "./index.js";

const port = Number(process.env.MESHLIFT_DEMO_PORT ?? 0);
const started = performance.now();
const sb = await startSandbox({
  scenario: process.env.MESHLIFT_DEMO_SCENARIO ?? "demo",
  port,
  kubeconfigPath: resolve(".sandbox/kubeconfig"),
});
const ms = Math.round(performance.now() - started);
const lines = [
  `meshlift demo ready in ${ms} ms`,
  ``,
  `  Kubernetes API   ${sb.url}   (Kubernetes ${sb.scenario.kubernetesVersion}, ${sb.store.count("/pods")} pods)`,
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
  await sb.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
