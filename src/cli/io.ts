// The IO a command may use. Injected (clipanion's model) so tests run `run(argv, io)` in-process
// and capture exactly what a user would see; nothing in src/cli/ touches process.* directly.

/** The part of a stream the CLI writes to. */
export interface TextSink {
  write(text: string): unknown;
}

export interface CliIO {
  stdout: TextSink;
  stderr: TextSink;
  stdin?: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  /** stdout is an interactive terminal (tables with colour; plain lines otherwise) */
  isTTY: boolean;
  /** the clock, injectable so EOL and "days left" are reproducible */
  now?: () => Date;
}

/** The real process's IO. */
export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY),
  };
}
