import { ExitCode, UsageError } from "../exit-codes.js";
import type { CommandContext } from "../context.js";
import type { OperatorOptions } from "./index.js";

export async function operator(ctx: CommandContext, options: OperatorOptions): Promise<number> {
  const m = /^(.*):(\d+)$/.exec(options.metricsAddress);
  if (!m) throw new UsageError(`--metrics-address "${options.metricsAddress}" is not host:port (e.g. 0.0.0.0:9464)`);
  const cluster = await ctx.connect();
  const catalog = await ctx.catalog();
  const { runUpgradeOperator } = await import("../../upgrade/engine/operator.js");
  const { operatorLogger } = await import("../../operator/log.js");
  const { stopOnSignals } = await import("../../operator/runtime.js");
  const logger = operatorLogger();
  const op = await runUpgradeOperator({
    cluster,
    catalog,
    identity: options.identity,
    leaseNamespace: options.leaseNamespace ?? ctx.globals.namespace,
    http: { host: m[1], port: Number(m[2]) },
    logger,
  });
  ctx.io.stderr.write(`operator ${op.controller.identity} serving ${op.controller.url}/metrics\n`);
  stopOnSignals({ stop: () => op.stop() }, logger);
  await op.controller.done;
  return ExitCode.Ok;
}
