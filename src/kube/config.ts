// Finding the cluster: kubeconfig resolution the way kubectl does it, and the Cluster handle that
// carries everything else in src/kube/ (typed clients for writes, the raw REST client for reads).
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PolicyV1Api,
  type Cluster as KubeconfigCluster,
  type Context as KubeconfigContext,
  type User as KubeconfigUser,
} from "@kubernetes/client-node";
import { kubeconfigError } from "./errors.js";
import { RestClient } from "./rest.js";

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface ClusterOptions {
  /** an explicit kubeconfig file (--kubeconfig); beats $KUBECONFIG */
  kubeconfig?: string;
  /** a context of the kubeconfig (--context); default: its current-context */
  context?: string;
  /** environment to read KUBECONFIG, HOME and in-cluster variables from (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** per-request timeout for non-watch calls, ms (default 30 s) */
  requestTimeoutMs?: number;
  /** where the in-cluster service account files live (tests) */
  serviceAccountDir?: string;
}

/** A connection to one cluster: the loaded KubeConfig and the API clients built from it. */
export interface Cluster {
  kubeConfig: KubeConfig;
  /** API server base URL */
  server: string;
  contextName: string;
  /** the context's namespace, "default" when it names none */
  namespace: string;
  /** where the configuration came from, for messages: a file list or "in-cluster service account" */
  source: string;
  /** raw JSON reads and watches (objects exactly as served) */
  rest: RestClient;
  core: CoreV1Api;
  apps: AppsV1Api;
  policy: PolicyV1Api;
  admission: AdmissionregistrationV1Api;
  customObjects: CustomObjectsApi;
  objects: KubernetesObjectApi;
  /** releases keep-alive connections */
  close(): void;
}

interface LoadedKubeconfig {
  kubeConfig: KubeConfig;
  source: string;
  namespaceFromServiceAccount?: string;
}

function loadFile(file: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (err) {
    throw kubeconfigError(
      `kubeconfig ${file} cannot be read: ${(err as Error).message} — fix the file or point --kubeconfig/KUBECONFIG elsewhere`,
      err,
    );
  }
  return kc;
}

/**
 * kubectl's merge of $KUBECONFIG files (clientcmd loading rules): missing files are skipped, the
 * first file to define a cluster, user or context name wins, and the first non-empty
 * current-context wins. client-node's own merge throws on duplicates and lets the last file win.
 */
export function mergeKubeconfigFiles(files: string[]): KubeConfig {
  const clusters = new Map<string, KubeconfigCluster>();
  const users = new Map<string, KubeconfigUser>();
  const contexts = new Map<string, KubeconfigContext>();
  let currentContext = "";
  for (const file of files) {
    const kc = loadFile(file);
    for (const c of kc.getClusters()) if (!clusters.has(c.name)) clusters.set(c.name, c);
    for (const u of kc.getUsers()) if (!users.has(u.name)) users.set(u.name, u);
    for (const c of kc.getContexts()) if (!contexts.has(c.name)) contexts.set(c.name, c);
    currentContext ||= kc.getCurrentContext() ?? "";
  }
  const merged = new KubeConfig();
  merged.loadFromOptions({
    clusters: [...clusters.values()],
    users: [...users.values()],
    contexts: [...contexts.values()],
    currentContext,
  });
  return merged;
}

function loadInCluster(env: NodeJS.ProcessEnv, dir: string): LoadedKubeconfig | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port || !existsSync(path.join(dir, "token"))) return undefined;
  const kc = new KubeConfig();
  // client-node's tokenFile provider re-reads the token periodically (bound service-account tokens rotate)
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  kc.loadFromOptions({
    clusters: [{ name: "in-cluster", server, caFile: path.join(dir, "ca.crt"), skipTLSVerify: false }],
    users: [
      { name: "in-cluster", authProvider: { name: "tokenFile", config: { tokenFile: path.join(dir, "token") } } },
    ],
    contexts: [{ name: "in-cluster", cluster: "in-cluster", user: "in-cluster" }],
    currentContext: "in-cluster",
  });
  const nsFile = path.join(dir, "namespace");
  const namespace = existsSync(nsFile) ? readFileSync(nsFile, "utf8").trim() : undefined;
  return { kubeConfig: kc, source: "in-cluster service account", namespaceFromServiceAccount: namespace };
}

/** Order: --kubeconfig, $KUBECONFIG (several files), ~/.kube/config, in-cluster service account. */
export function loadKubeconfig(options: ClusterOptions = {}): LoadedKubeconfig {
  const env = options.env ?? process.env;
  if (options.kubeconfig) {
    if (!existsSync(options.kubeconfig)) {
      throw kubeconfigError(`kubeconfig ${options.kubeconfig} does not exist — check the --kubeconfig path`);
    }
    return { kubeConfig: loadFile(options.kubeconfig), source: options.kubeconfig };
  }
  if (env.KUBECONFIG) {
    const listed = env.KUBECONFIG.split(path.delimiter).filter(Boolean);
    const present = listed.filter((f) => existsSync(f));
    if (present.length === 0) {
      throw kubeconfigError(
        `none of the files in KUBECONFIG exist (${listed.join(path.delimiter)}) — fix KUBECONFIG or pass --kubeconfig`,
      );
    }
    return { kubeConfig: mergeKubeconfigFiles(present), source: present.join(path.delimiter) };
  }
  const home = env.HOME ?? env.USERPROFILE ?? homedir();
  const defaultFile = path.join(home, ".kube", "config");
  if (existsSync(defaultFile)) return { kubeConfig: loadFile(defaultFile), source: defaultFile };
  const inCluster = loadInCluster(env, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
  if (inCluster) return inCluster;
  throw kubeconfigError(
    `no Kubernetes configuration found: no --kubeconfig, KUBECONFIG unset, ${defaultFile} missing, and not running in a cluster — point --kubeconfig at a kubeconfig file`,
  );
}

function selectContext(kc: KubeConfig, source: string, wanted: string | undefined): KubeconfigContext {
  const names = kc.getContexts().map((c) => c.name);
  const known = names.length ? names.join(", ") : "none";
  const name = wanted ?? kc.getCurrentContext();
  if (!name)
    throw kubeconfigError(`kubeconfig ${source} has no current-context — pass --context (available: ${known})`);
  const context = kc.getContextObject(name);
  if (!context) throw kubeconfigError(`context "${name}" is not in kubeconfig ${source} (available: ${known})`);
  return context;
}

/** Loads the configuration and builds the clients; every failure is one KubeError (BadKubeconfig). */
export function loadCluster(options: ClusterOptions = {}): Cluster {
  const loaded = loadKubeconfig(options);
  const kc = loaded.kubeConfig;
  const context = selectContext(kc, loaded.source, options.context);
  kc.setCurrentContext(context.name);
  const cluster = kc.getCluster(context.cluster);
  if (!cluster)
    throw kubeconfigError(
      `context "${context.name}" names cluster "${context.cluster}", which is not defined in ${loaded.source}`,
    );
  if (!cluster.server) throw kubeconfigError(`cluster "${cluster.name}" in ${loaded.source} has no server address`);
  try {
    new URL(cluster.server);
  } catch {
    throw kubeconfigError(
      `cluster "${cluster.name}" in ${loaded.source} has an invalid server address "${cluster.server}"`,
    );
  }
  if (context.user && !kc.getUser(context.user)) {
    throw kubeconfigError(
      `context "${context.name}" names user "${context.user}", which is not defined in ${loaded.source}`,
    );
  }
  // client-node refuses plain http unless TLS verification is explicitly off (KUBE-NOTES §2)
  if (cluster.server.startsWith("http:") && !cluster.skipTLSVerify) {
    throw kubeconfigError(
      `cluster "${cluster.name}" uses plain http (${cluster.server}) without insecure-skip-tls-verify: true — use https, or set insecure-skip-tls-verify for a local test cluster`,
    );
  }
  return clusterOf(kc, {
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    contextName: context.name,
    namespace: context.namespace || loaded.namespaceFromServiceAccount || "default",
    source: loaded.source,
  });
}

/** A Cluster over a loaded KubeConfig: one RestClient (shared keep-alive agent) and the generated API clients. */
export function clusterOf(
  kc: KubeConfig,
  info: { requestTimeoutMs: number; contextName: string; namespace: string; source: string },
): Cluster {
  const rest = new RestClient(kc, { requestTimeoutMs: info.requestTimeoutMs, context: info.contextName });
  return {
    kubeConfig: kc,
    server: rest.server,
    contextName: info.contextName,
    namespace: info.namespace,
    source: info.source,
    rest,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    policy: kc.makeApiClient(PolicyV1Api),
    admission: kc.makeApiClient(AdmissionregistrationV1Api),
    customObjects: kc.makeApiClient(CustomObjectsApi),
    objects: KubernetesObjectApi.makeApiClient(kc),
    close: () => rest.close(),
  };
}
