// One logging style for the long-running operator: pino's JSON lines (one object per line, `msg`
// plus structured fields), which log collectors index without parsing. The CLI keeps its own
// human output layer (src/cli/output.ts); only the operator process logs this way.
import { pino, type Logger } from "pino";

export type { Logger };

export interface OperatorLoggerOptions {
  /** pino level name; default $LOG_LEVEL or "info" */
  level?: string;
  /** where lines go; default stdout */
  destination?: pino.DestinationStream;
}

export function operatorLogger(options: OperatorLoggerOptions = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? "info";
  const settings = { name: "meshlift-operator", level };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** A logger that drops everything (tests, library use without a logger). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/** The fields pino needs to print an error with its Kubernetes reason, without client dumps. */
export function errorFields(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { error: String(err) };
  const fields: Record<string, unknown> = { error: err.message };
  const code = (err as { code?: unknown }).code;
  const reason = (err as { reason?: unknown }).reason;
  if (typeof code === "number" && code > 0) fields.code = code;
  if (typeof reason === "string") fields.reason = reason;
  return fields;
}
