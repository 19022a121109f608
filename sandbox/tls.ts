// A throwaway CA and serving certificate for the sandbox. The API is served over HTTPS because kubectl
// (client-go) never sends bearer tokens over plain HTTP (kubernetes/kubectl#744).
import "reflect-metadata"; // @peculiar/x509 (tsyringe) needs the Reflect metadata polyfill
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface ServingCerts {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${b64.trim()}\n-----END ${label}-----\n`;
}

/** A CA plus a serving certificate for 127.0.0.1, ::1 and localhost, valid for a year. */
export async function makeServingCerts(hosts: string[] = ["127.0.0.1", "::1", "localhost"]): Promise<ServingCerts> {
  const subtle = webcrypto.subtle as unknown as SubtleCrypto;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 365 * 24 * 3600_000);
  const caKeys = (await subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=meshlift-sandbox-ca",
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = (await subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const san = hosts.map((h) =>
    /^[\d.]+$|:/.test(h) ? { type: "ip" as const, value: h } : { type: "dns" as const, value: h },
  );
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: "CN=meshlift-sandbox",
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingKey: caKeys.privateKey,
    publicKey: leafKeys.publicKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(san, false),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
    ],
  });
  const keyDer = await subtle.exportKey("pkcs8", leafKeys.privateKey);
  return { caPem: ca.toString("pem") + "\n", certPem: leaf.toString("pem") + "\n", keyPem: pem("PRIVATE KEY", keyDer) };
}
