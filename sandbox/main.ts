// `npm run sandbox -- --scenario demo|large|FILE [--port N] [--kubeconfig FILE]`
// Starts the sandbox in the foreground and prints one line with the URL and kubeconfig path when ready.
import { Command, InvalidArgumentError } from "commander";
import { resolve } from "node:path";
import { startSandbox } from "./index.js";

const program = new Command("sandbox")
  .description("a Kubernetes API server simulator with an Istio mesh inside")
  .option("-s, --scenario <name|file>", "demo, large, large:namespaces=N,pods=M, or a scenario YAML file", "demo")
  .option(
    "-p, --port <port>",
    "port on 127.0.0.1 (0 = any free port)",
    (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535)
        throw new InvalidArgumentError("must be an integer between 0 and 65535");
      return n;
    },
    0,
  )
  .option("-k, --kubeconfig <file>", "where to write the kubeconfig", ".sandbox/kubeconfig")
  .option("--show-tokens", "print the tokens too", false)
  .action(async (o: { scenario: string; port: number; kubeconfig: string; showTokens: boolean }) => {
    const started = performance.now();
    let sb;
    try {
      sb = await startSandbox({ scenario: o.scenario, port: o.port, kubeconfigPath: resolve(o.kubeconfig) });
    } catch (e) {
      console.error(`sandbox: ${(e as Error).message}`);
      process.exitCode = 2;
      return;
    }
    const ms = Math.round(performance.now() - started);
    console.log(
      `sandbox ready in ${ms} ms: ${sb.url} kubeconfig=${sb.kubeconfigPath} scenario=${sb.scenario.name} pods=${sb.store.count("/pods")}`,
    );
    if (o.showTokens) console.log(`tokens: admin=${sb.tokens.admin} viewer=${sb.tokens.viewer}`);
    const stop = async () => {
      await sb.stop();
      process.exit(0);
    };
    process.on("SIGINT", () => void stop());
    process.on("SIGTERM", () => void stop());
  });

await program.parseAsync(process.argv);
