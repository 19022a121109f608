// Records the protobuf request bodies a real kubectl sends, for testdata/: kubectl talks to a recording
// HTTPS proxy in front of a demo sandbox, and every `application/vnd.kubernetes.protobuf` body is written out.
//
//   npx tsx sandbox/api/protobuf/capture-bodies.ts <kubectl> <out-dir> -- create namespace foo
import https from "node:https";
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { startSandbox } from "../../index.js";
import { writeKubeconfig } from "../../kubeconfig.js";
import { makeServingCerts } from "../../tls.js";
import { PROTOBUF_MEDIA_TYPE } from "./decode.js";

const [bin, outDir, sep, ...args] = process.argv.slice(2);
if (!bin || !outDir || sep !== "--" || args.length === 0) {
  process.stderr.write("usage: capture-bodies.ts <kubectl> <out-dir> -- <kubectl args...>\n");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const sb = await startSandbox({ scenario: "demo", timing: { podStartMs: 20, podReadyMs: 20, podTerminateMs: 20 } });
const certs = await makeServingCerts();
const upstream = new URL(sb.url);
let captured = 0;
const proxy = https.createServer({ cert: certs.certPem, key: certs.keyPem }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    if ((req.headers["content-type"] ?? "").startsWith(PROTOBUF_MEDIA_TYPE)) {
      const file = join(outDir, `${++captured}-${req.method}-${req.url!.split("?")[0].replace(/\//g, "_")}.pb`);
      writeFileSync(file, body);
      process.stdout.write(`${file}\n`);
    }
    const forward = https.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
        ca: sb.caPem,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.end(body);
  });
});
await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
const kubeconfig = join(outDir, "kubeconfig");
writeKubeconfig(
  kubeconfig,
  `https://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
  [{ name: "admin", token: sb.tokens.admin }],
  certs.caPem,
);
// asynchronous: the proxy answers on this same event loop
const code = await new Promise<number>((resolve) =>
  execFile(
    bin,
    [`--kubeconfig=${kubeconfig}`, ...args],
    { env: { ...process.env, KUBECTL_KUBERC: "false" } },
    (err, stdout, stderr) => {
      process.stderr.write(stdout + stderr);
      resolve(err ? 1 : 0);
    },
  ),
);
proxy.close();
await sb.stop();
process.exit(code);
