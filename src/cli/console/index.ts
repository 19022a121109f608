// `meshlift console`: the web console — live mesh view, prechecks and upgrades in the browser, each
// user acting with their own Kubernetes token.
import type { Command } from "commander";
import type { CommandHost } from "../context.js";

export interface ConsoleOptions {
  port: string;
  host: string;
  tlsCert?: string;
  tlsKey?: string;
}

export default function registerConsole(program: Command, host: CommandHost): void {
  program
    .command("console")
    .description("serve the web console (mesh overview, prechecks, upgrades) on a local port")
    .option("--port <port>", "port to listen on; 0 picks a free one", "8080")
    .option("--host <address>", "address to listen on; anything but loopback should use TLS", "127.0.0.1")
    .option("--tls-cert <file>", "PEM certificate: serve https (the session cookie is then Secure)")
    .option("--tls-key <file>", "PEM private key of --tls-cert")
    .addHelpText(
      "after",
      "\n  The kubeconfig's identity fills a shared read cache; every user logs in with their own bearer token,\n  and every change is made with that token, so Kubernetes RBAC decides who may do what.",
    )
    .action(
      host.action<ConsoleOptions>(async (ctx, options) => (await import("./console.js")).serveConsole(ctx, options)),
    );
}
