import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { ApiError } from "../types.js";
import { parseBody } from "../http.js";
import { decodeProtobufBody, PROTOBUF_MAGIC, PROTOBUF_MEDIA_TYPE, readEnvelope } from "./decode.js";
import { BODY_KINDS, MESSAGE_FIELDS } from "./tables.js";
import { SPECIAL_MESSAGES } from "./wire-kinds.js";

/** A body kubectl 1.33 sent (captured with capture-bodies.ts). */
const captured = (name: string) => readFileSync(new URL(`./testdata/${name}.pb`, import.meta.url));

// Hand-built bodies, for kinds kubectl does not send as protobuf (client-go controllers do)
type Field =
  | [no: number, kind: "string", value: string]
  | [no: number, kind: "int32" | "int64", value: number]
  | [no: number, kind: "bool", value: boolean]
  | [no: number, kind: "message" | "bytes", value: Uint8Array];

function message(...fields: Field[]): Uint8Array {
  const w = new BinaryWriter();
  for (const [no, kind, value] of fields) {
    if (kind === "string") w.tag(no, WireType.LengthDelimited).string(value);
    else if (kind === "int32") w.tag(no, WireType.Varint).int32(value);
    else if (kind === "int64") w.tag(no, WireType.Varint).int64(value);
    else if (kind === "bool") w.tag(no, WireType.Varint).bool(value);
    else w.tag(no, WireType.LengthDelimited).bytes(value as Uint8Array);
  }
  return w.finish();
}

const entry = (key: string, value: string | Uint8Array): Field => [
  0,
  "message",
  message([1, "string", key], typeof value === "string" ? [2, "string", value] : [2, "bytes", value]),
];
/** map fields are repeated entry messages; `entries` gives them their field number */
const mapField = (no: number, entries: Field[]): Field[] => entries.map(([, , v]) => [no, "message", v as Uint8Array]);

function body(apiVersion: string, kind: string, raw: Uint8Array): Buffer {
  const unknown = message([1, "message", message([1, "string", apiVersion], [2, "string", kind])], [2, "bytes", raw]);
  return Buffer.concat([PROTOBUF_MAGIC, unknown]);
}

const objectMeta = (name: string, namespace = "") =>
  message(
    [1, "string", name],
    [2, "string", ""],
    [3, "string", namespace],
    [7, "int64", 0],
    [8, "message", new Uint8Array()],
  );

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${String(e)}`);
    return e;
  }
  assert.fail("expected the body to be refused");
}

describe("bodies kubectl 1.33 sends for imperative commands", () => {
  test("create namespace: the name, with Go's zero values (empty strings, zero time) left out", () => {
    assert.deepEqual(decodeProtobufBody(captured("namespace")), {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "pbns" },
      spec: {},
      status: {},
    });
  });

  test("create configmap --from-literal keeps an empty value as an entry", () => {
    assert.deepEqual(decodeProtobufBody(captured("configmap")), {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cm1" },
      data: { empty: "", greeting: "hello" },
    });
  });

  test("create secret generic: data bytes become base64 as in JSON", () => {
    const s = decodeProtobufBody(captured("secret-generic"));
    assert.deepEqual(s.data, { password: Buffer.from("hunter2").toString("base64") });
    const reg = decodeProtobufBody(captured("secret-docker-registry"));
    assert.equal(reg.type, "kubernetes.io/dockerconfigjson");
    const config = JSON.parse(Buffer.from(reg.data[".dockerconfigjson"], "base64").toString("utf8"));
    assert.equal(config.auths["r.example.com"].username, "u");
  });

  test("create deployment --replicas=2 --port=80: replicas, selector, container image and port", () => {
    assert.deepEqual(decodeProtobufBody(captured("deployment")), {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", labels: { app: "web" } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "nginx", image: "nginx", ports: [{ containerPort: 80 }], resources: {} }] },
        },
        strategy: {},
      },
      status: {},
    });
  });

  test("create job and create cronjob: command, restart policy and schedule", () => {
    const job = decodeProtobufBody(captured("job"));
    assert.deepEqual(job.spec.template.spec.containers[0].command, ["echo", "hi"]);
    assert.equal(job.spec.template.spec.restartPolicy, "Never");
    const cj = decodeProtobufBody(captured("cronjob"));
    assert.equal(cj.spec.schedule, "*/5 * * * *");
    assert.equal(cj.spec.jobTemplate.spec.template.spec.restartPolicy, "OnFailure");
  });

  test("create role / rolebinding / clusterrole / clusterrolebinding: rules and subjects", () => {
    assert.deepEqual(decodeProtobufBody(captured("role")).rules, [
      { verbs: ["get", "list"], apiGroups: [""], resources: ["pods"], resourceNames: ["p1"] },
    ]);
    assert.deepEqual(decodeProtobufBody(captured("clusterrole-nonresource")).rules, [
      { verbs: ["get"], nonResourceURLs: ["/healthz"] },
    ]);
    const rb = decodeProtobufBody(captured("rolebinding"));
    assert.deepEqual(rb.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "r1" });
    assert.deepEqual(rb.subjects, [
      { kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "alice" },
      { kind: "ServiceAccount", name: "sa1", namespace: "default" },
    ]);
    assert.equal(decodeProtobufBody(captured("clusterrolebinding")).subjects[0].name, "devs");
  });

  test("create pdb: IntOrString decodes to a string (50%) or a number (1)", () => {
    assert.equal(decodeProtobufBody(captured("pdb-min-available")).spec.minAvailable, "50%");
    assert.equal(decodeProtobufBody(captured("pdb-max-unavailable")).spec.maxUnavailable, 1);
  });

  test("create service nodeport: ports with targetPort and nodePort", () => {
    assert.deepEqual(decodeProtobufBody(captured("service-nodeport")).spec, {
      ports: [{ name: "80-8080", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30080 }],
      selector: { app: "svc3" },
      type: "NodePort",
    });
  });

  test("create ingress: the inlined IngressRuleValue puts `http` beside `host`", () => {
    const rule = decodeProtobufBody(captured("ingress")).spec.rules[0];
    assert.equal(rule.host, "foo.com");
    assert.deepEqual(rule.http.paths[0].backend, { service: { name: "svc1", port: { number: 8080 } } });
    assert.equal(rule.ingressRuleValue, undefined);
  });

  test("create quota: Quantities decode to their strings", () => {
    assert.deepEqual(decodeProtobufBody(captured("resourcequota")).spec.hard, { cpu: "1", memory: "1Gi", pods: "2" });
  });

  test("create token --duration=10m: a TokenRequest with expirationSeconds", () => {
    const tr = decodeProtobufBody(captured("tokenrequest"));
    assert.equal(tr.kind, "TokenRequest");
    assert.equal(tr.spec.expirationSeconds, 600);
  });

  test("autoscale: autoscaling/v2 metrics and autoscaling/v1 target utilisation", () => {
    const v2 = decodeProtobufBody(captured("hpa-autoscaling-v2"));
    assert.deepEqual(v2.spec.metrics, [
      { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } },
    ]);
    assert.equal(decodeProtobufBody(captured("hpa-autoscaling-v1")).spec.targetCPUUtilizationPercentage, 80);
    assert.equal(decodeProtobufBody(captured("priorityclass")).value, 1000);
  });
});

describe("messages client-go writes beyond kubectl's imperative commands", () => {
  test("a pod: inlined VolumeSource/LocalObjectReference/ProbeHandler, and pointer zero values kept", () => {
    const configMapVolume = message([1, "message", message([1, "string", "settings"])], [4, "bool", false]);
    const volume = message([1, "string", "cfg"], [2, "message", message([19, "message", configMapVolume])]);
    const secretKeyRef = message([1, "message", message([1, "string", "creds"])], [2, "string", "token"]);
    const env = message([1, "string", "TOKEN"], [3, "message", message([4, "message", secretKeyRef])]);
    const httpGet = message([1, "string", "/healthz"], [2, "message", message([1, "int64", 0], [2, "int32", 8080])]);
    const probe = message([1, "message", message([2, "message", httpGet])], [2, "int32", 0], [4, "int32", 5]);
    const securityContext = message([4, "int64", 0], [6, "bool", false]);
    const container = message(
      [1, "string", "app"],
      [2, "string", "nginx"],
      [7, "message", env],
      [11, "message", probe],
      [15, "message", securityContext],
    );
    const spec = message([1, "message", volume], [2, "message", container], [21, "bool", false], [11, "bool", false]);
    const pod = decodeProtobufBody(
      body("v1", "Pod", message([1, "message", objectMeta("p", "ns")], [2, "message", spec])),
    );
    assert.deepEqual(pod.metadata, { name: "p", namespace: "ns" });
    // `optional` is a *bool: an explicit false stays
    assert.deepEqual(pod.spec.volumes, [{ name: "cfg", configMap: { name: "settings", optional: false } }]);
    const c = pod.spec.containers[0];
    assert.deepEqual(c.env, [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: "creds", key: "token" } } }]);
    assert.deepEqual(c.readinessProbe, { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 5 });
    // runAsUser 0 (root) and readOnlyRootFilesystem false are pointers: set, not absent
    assert.deepEqual(c.securityContext, { runAsUser: 0, readOnlyRootFilesystem: false });
    assert.equal(pod.spec.automountServiceAccountToken, false, "a *bool false is kept");
    assert.equal("hostNetwork" in pod.spec, false, "a plain bool false is Go's zero value: left out");
  });

  test("a deployment with replicas 0 keeps replicas: 0 (a pointer), not the default", () => {
    const d = decodeProtobufBody(
      body("apps/v1", "Deployment", message([1, "message", objectMeta("d")], [2, "message", message([1, "int32", 0])])),
    );
    assert.equal(d.spec.replicas, 0);
  });

  test("a Lease: MicroTime with six fractional digits, Time in whole seconds", () => {
    const micro = message([1, "int64", 1_700_000_000], [2, "int32", 123_456_789]);
    const spec = message([1, "string", "node-1"], [2, "int32", 40], [4, "message", micro], [5, "int32", 3]);
    const lease = decodeProtobufBody(
      body(
        "coordination.k8s.io/v1",
        "Lease",
        message([1, "message", objectMeta("l", "kube-node-lease")], [2, "message", spec]),
      ),
    );
    assert.deepEqual(lease.spec, {
      holderIdentity: "node-1",
      leaseDurationSeconds: 40,
      renewTime: "2023-11-14T22:13:20.123456Z",
      leaseTransitions: 3,
    });
    const created = message([1, "string", "x"], [8, "message", message([1, "int64", 1_700_000_000], [2, "int32", 5])]);
    const ns = decodeProtobufBody(body("v1", "Namespace", message([1, "message", created])));
    assert.equal(ns.metadata.creationTimestamp, "2023-11-14T22:13:20Z");
  });

  test("an Eviction carries DeleteOptions with a zero grace period and a UID precondition", () => {
    const options = message([1, "int64", 0], [2, "message", message([1, "string", "uid-1"])], [5, "string", "All"]);
    const eviction = decodeProtobufBody(
      body("policy/v1", "Eviction", message([1, "message", objectMeta("web-1", "shop")], [2, "message", options])),
    );
    assert.deepEqual(eviction, {
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: "web-1", namespace: "shop" },
      deleteOptions: { gracePeriodSeconds: 0, preconditions: { uid: "uid-1" }, dryRun: ["All"] },
    });
  });

  test("DeleteOptions decode under any group version (the kind is registered in each)", () => {
    for (const apiVersion of ["v1", "meta.k8s.io/v1", "apps/v1"]) {
      const opts = decodeProtobufBody(body(apiVersion, "DeleteOptions", message([4, "string", "Foreground"])));
      assert.equal(opts.propagationPolicy, "Foreground", apiVersion);
    }
  });

  test("a Scale and binary ConfigMap data", () => {
    const scale = decodeProtobufBody(
      body(
        "autoscaling/v1",
        "Scale",
        message([1, "message", objectMeta("web")], [2, "message", message([1, "int32", 5])]),
      ),
    );
    assert.deepEqual(scale.spec, { replicas: 5 });
    const bin = decodeProtobufBody(
      body(
        "v1",
        "ConfigMap",
        message([1, "message", objectMeta("b")], ...mapField(3, [entry("blob", Uint8Array.of(0, 255, 1))])),
      ),
    );
    assert.deepEqual(bin.binaryData, { blob: Buffer.from([0, 255, 1]).toString("base64") });
  });

  test("fields a newer client adds are skipped, as Go's generated Unmarshal does", () => {
    const ns = decodeProtobufBody(
      body("v1", "Namespace", message([1, "message", objectMeta("n")], [99, "string", "from the future"])),
    );
    assert.deepEqual(ns, { apiVersion: "v1", kind: "Namespace", metadata: { name: "n" } });
  });
});

describe("bodies the sandbox refuses", () => {
  test("a kind without a field table (a custom resource) is 415 listing the JSON media types", () => {
    const err = refusal(() =>
      decodeProtobufBody(body("networking.istio.io/v1", "VirtualService", message([1, "message", objectMeta("vs")]))),
    );
    assert.equal(err.code, 415);
    assert.equal(err.reason, "UnsupportedMediaType");
    assert.equal(
      err.message,
      "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
    );
  });

  test("bytes without the k8s\\0 prefix are 400 with the serializer's message", () => {
    const err = refusal(() => decodeProtobufBody(Buffer.from('{"kind":"Namespace"}')));
    assert.equal(err.code, 400);
    assert.match(err.message, /does not appear to be a protobuf message, expected prefix \[107 56 115 0\]/);
  });

  test("a truncated object is 400, not a crash", () => {
    const whole = captured("deployment");
    const err = refusal(() => decodeProtobufBody(whole.subarray(0, whole.length - 20)));
    assert.equal(err.code, 400);
    assert.match(err.message, /couldn't decode body: premature EOF/);
  });
});

describe("the parseBody hook", () => {
  test("a protobuf body read as latin1 text decodes the same as the raw bytes", () => {
    const raw = captured("secret-generic");
    const fromText = parseBody(raw.toString("latin1"), `${PROTOBUF_MEDIA_TYPE}; charset=binary`);
    assert.deepEqual(fromText, parseBody(raw, PROTOBUF_MEDIA_TYPE));
    assert.deepEqual((fromText as { data: unknown }).data, { password: "aHVudGVyMg==" });
  });

  test("JSON bodies are parsed as before", () => {
    assert.deepEqual(parseBody('{"kind":"Namespace"}', "application/json"), { kind: "Namespace" });
  });
});

describe("field tables", () => {
  test("every message a table names has a table or a hand-written decoder", () => {
    const known = new Set([...Object.keys(MESSAGE_FIELDS), ...SPECIAL_MESSAGES]);
    const scalars = new Set(["string", "int32", "int64", "bool", "bytes", "double"]);
    for (const [name, row] of Object.entries(MESSAGE_FIELDS))
      for (const entry of row.split(" ")) {
        const kind = /:(.+?)[*?~]?$/.exec(entry)![1].replace(/^map<string,(.+)>$/, "$1");
        assert.ok(scalars.has(kind) || known.has(kind), `${name}.${entry}: ${kind} has no table`);
      }
    for (const message of Object.values(BODY_KINDS)) assert.ok(MESSAGE_FIELDS[message], message);
  });

  test("any ConfigMap data map survives encoding and decoding", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), fc.string()), (data) => {
        const raw = message(
          [1, "message", objectMeta("cm")],
          ...mapField(
            2,
            Object.entries(data).map(([k, v]) => entry(k, v)),
          ),
        );
        const cm = decodeProtobufBody(body("v1", "ConfigMap", raw));
        assert.deepEqual(cm.data ?? {}, { ...data });
      }),
    );
  });

  test("the envelope's type meta is read from runtime.Unknown", () => {
    const env = readEnvelope(captured("cronjob"));
    assert.equal(env.apiVersion, "batch/v1");
    assert.equal(env.kind, "CronJob");
    assert.equal(env.contentEncoding, "");
  });
});
