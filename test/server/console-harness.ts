// A console under test: the demo sandbox with the MeshUpgrade CRD installed, and the console server
// reading it with the admin kubeconfig, every log line captured. Used by the API and browser tests.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { parse } from "yaml";
import { startSandbox, type Sandbox } from "../../sandbox/index.js";
import { loadScenario } from "../../sandbox/scenario/schema.js";
import { loadCluster, type Cluster } from "../../src/kube/config.js";
import { startConsoleServer, type ConsoleServer, type LiveEvent } from "../../src/server/index.js";

const CRD_FILE = fileURLToPath(new URL("../../deploy/crds/meshupgrade.yaml", import.meta.url));
export const TIMING = { podStartMs: 20, podReadyMs: 20, podTerminateMs: 20, jobRunMs: 50, crashLoopMs: 50 };

/**
 * Tokens as a real cluster has them: an admin, and a read-only user who — like every authenticated
 * user of a real cluster (ClusterRole system:basic-user) — may ask what it is allowed to do.
 */
export function demoTokens() {
  const token = (name: string) => `${name}-${randomBytes(16).toString("hex")}`;
  return {
    admin: { name: "admin", token: token("admin"), role: "admin" as const, groups: ["system:masters"] },
    viewer: {
      name: "viewer",
      token: token("viewer"),
      groups: [],
      rules: [
        { verbs: ["get", "list", "watch"], apiGroups: ["*"], resources: ["*"] },
        {
          verbs: ["create"],
          apiGroups: ["authorization.k8s.io"],
          resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        },
        { verbs: ["create"], apiGroups: ["authentication.k8s.io"], resources: ["selfsubjectreviews"] },
      ],
    },
  };
}

export interface ConsoleHarness {
  sb: Sandbox;
  /** the admin's cluster handle, for arranging and checking state */
  admin: Cluster;
  server: ConsoleServer;
  tokens: { admin: string; viewer: string };
  /** every line the console logged */
  logs: string[];
  stop(): Promise<void>;
}

export async function startConsoleHarness(
  options: { scenario?: string; console?: Partial<Parameters<typeof startConsoleServer>[0]> } = {},
): Promise<ConsoleHarness> {
  const scenario = loadScenario(options.scenario ?? "demo");
  const tokens = demoTokens();
  const sb = await startSandbox({
    scenario: { ...scenario, tokens: [tokens.admin, tokens.viewer] } as typeof scenario,
    port: 0,
    timing: TIMING,
  });
  await sb.idle();
  const admin = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
  await admin.rest.requestJson({
    method: "POST",
    path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    body: parse(readFileSync(CRD_FILE, "utf8")),
  });
  const logs: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void logs.push(line) });
  const consoleCluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
  const server = await startConsoleServer({
    cluster: consoleCluster,
    logger,
    host: "127.0.0.1",
    port: 0,
    live: { synczIntervalMs: 0 },
    ...options.console,
  });
  return {
    sb,
    admin,
    server,
    tokens: { admin: tokens.admin.token, viewer: tokens.viewer.token },
    logs,
    async stop() {
      await server.close();
      consoleCluster.close();
      admin.close();
      await sb.stop();
    },
  };
}

export interface ReceivedEvent {
  at: number;
  event: LiveEvent;
}

/** An open /api/events stream: every event with its arrival time. */
export interface EventStream {
  status: number;
  events: ReceivedEvent[];
  waitFor(predicate: (e: LiveEvent) => boolean, timeoutMs: number): Promise<ReceivedEvent>;
  close(): void;
}

export function openEvents(baseUrl: string, cookie: string): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const events: ReceivedEvent[] = [];
    const waiters = new Set<() => void>();
    const req = http.get(
      `${baseUrl}/api/events`,
      { headers: { Cookie: cookie, Accept: "text/event-stream" } },
      (res) => {
        let buffer = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block
              .split("\n")
              .filter((l) => l.startsWith("data: "))
              .map((l) => l.slice(6))
              .join("\n");
            if (data) events.push({ at: Date.now(), event: JSON.parse(data) as LiveEvent });
          }
          for (const w of [...waiters]) w();
        });
        res.on("error", () => undefined);
        resolve({
          status: res.statusCode ?? 0,
          events,
          waitFor(predicate, timeoutMs) {
            return new Promise((done, fail) => {
              const check = () => {
                const found = events.find((e) => predicate(e.event));
                if (found) {
                  waiters.delete(check);
                  clearTimeout(timer);
                  done(found);
                }
              };
              const timer = setTimeout(() => {
                waiters.delete(check);
                fail(
                  new Error(
                    `no matching event within ${timeoutMs} ms; got: ${events.map((e) => e.event.type).join(", ")}`,
                  ),
                );
              }, timeoutMs);
              waiters.add(check);
              check();
            });
          },
          close: () => req.destroy(),
        });
      },
    );
    req.on("error", reject);
  });
}
