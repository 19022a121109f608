// A list with more items than one chunk is streamed (chunked transfer, never one 160 MB string in the
// sandbox) and is the same list, item for item, as the pages a client reads with limit/continue.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import * as k8s from "@kubernetes/client-node";
import { startSandbox, type Sandbox } from "../../sandbox/index.js";

const COUNT = 1_234;
let sb: Sandbox;

before(async () => {
  sb = await startSandbox({ scenario: "demo", empty: true });
  sb.store.create("/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "many" } });
  for (let i = 0; i < COUNT; i++)
    sb.store.create("/configmaps", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `cm-${String(i).padStart(4, "0")}`, namespace: "many" },
      data: { i: String(i), text: "x".repeat(200) },
    });
});
after(async () => sb?.stop());

function get(path: string): Promise<{ headers: import("node:http").IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) =>
    https
      .get(new URL(path, sb.url), { ca: sb.caPem, headers: { authorization: `Bearer ${sb.tokens.admin}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      })
      .on("error", reject),
  );
}

test("a list longer than one chunk is streamed, valid and complete", async () => {
  const { headers, body } = await get("/api/v1/namespaces/many/configmaps");
  assert.equal(headers["transfer-encoding"], "chunked");
  assert.equal(headers["content-length"], undefined);
  assert.equal(headers["content-type"], "application/json");
  const list = JSON.parse(body) as { kind: string; metadata: { resourceVersion: string }; items: k8s.V1ConfigMap[] };
  assert.equal(list.kind, "ConfigMapList");
  assert.equal(list.items.length, COUNT);
  assert.deepEqual(
    list.items.map((c) => c.data?.i),
    Array.from({ length: COUNT }, (_, i) => String(i)),
  );
  // a short list keeps its Content-Length
  const short = await get("/api/v1/namespaces/many/configmaps?limit=10");
  assert.equal(short.headers["content-length"], String(Buffer.byteLength(short.body)));
});

test("the streamed list equals the pages client-node reads with limit and continue", async () => {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(sb.kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const whole = await core.listNamespacedConfigMap({ namespace: "many" });
  const paged: string[] = [];
  let cont: string | undefined;
  do {
    const page = await core.listNamespacedConfigMap({ namespace: "many", limit: 500, _continue: cont });
    paged.push(...page.items.map((c) => c.metadata!.name!));
    cont = page.metadata?._continue;
  } while (cont);
  assert.deepEqual(
    whole.items.map((c) => c.metadata!.name!),
    paged,
  );
  assert.equal(paged.length, COUNT);
});
