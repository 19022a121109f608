import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import {
  CatalogError,
  VersionError,
  availableUpgrades,
  builtinCatalog,
  catalogFromData,
  controlPlaneSkew,
  formatVersion,
  isInCatalog,
  kubernetesSupport,
  loadCatalog,
  parseFullVersion,
  parseKubernetesVersion,
  parseVersion,
  revisionName,
  upgradePath,
  versionFromImage,
  type IstioVersion,
} from "./index.js";

const catalog = builtinCatalog();

describe("built-in catalog (istio-facts §4)", () => {
  test("lists 1.18 … 1.31 with every patch up to the last one tagged", () => {
    assert.deepEqual(
      catalog.releases.map((r) => r.minor),
      ["1.18", "1.19", "1.20", "1.21", "1.22", "1.23", "1.24", "1.25", "1.26", "1.27", "1.28", "1.29", "1.30", "1.31"],
    );
    const r128 = catalog.releases.find((r) => r.minor === "1.28")!;
    assert.equal(r128.versions.length, 11);
    assert.equal(r128.versions[0], "1.28.0");
    assert.equal(r128.latestVersion, "1.28.10");
    assert.deepEqual(r128.kubernetes, {
      supported: { min: "1.30", max: "1.34" },
      tested: { min: "1.25", max: "1.29" },
      minimum: "1.29",
    });
  });

  test("1.31 has only its release candidate and no final version", () => {
    const r131 = catalog.releases.find((r) => r.minor === "1.31")!;
    assert.deepEqual(r131.versions, []);
    assert.deepEqual(r131.prereleases, ["1.31.0-rc.0"]);
    assert.equal(isInCatalog(catalog, "1.31.0-rc.0"), true);
    assert.equal(isInCatalog(catalog, "1.31.0"), false);
  });

  test("knows exact patches and refuses patches beyond the last tag", () => {
    assert.equal(isInCatalog(catalog, "1.30.3"), true);
    assert.equal(isInCatalog(catalog, "1.30.4"), false);
    assert.equal(isInCatalog(catalog, "1.17.0"), false);
  });
});

describe("parseVersion", () => {
  const accepted: [string, string][] = [
    ["1.28.2", "1.28.2"],
    ["v1.28.2", "1.28.2"],
    [" 1.28.2 ", "1.28.2"],
    ["1.28", "1.28.10"],
    ["v1.30", "1.30.3"],
    ["1.31.0-rc.0", "1.31.0-rc.0"],
  ];
  for (const [input, expected] of accepted) {
    test(`"${input}" → ${expected}`, () => assert.equal(formatVersion(parseVersion(input, catalog)), expected));
  }

  const refused: [string, RegExp][] = [
    ["1", /not an Istio version/],
    ["1.28.2.1", /not an Istio version/],
    ["1.28.x", /not an Istio version/],
    ["latest", /not an Istio version/],
    ["01.28.2", /not an Istio version/],
    ["1.28.2-foo", /not an Istio version/],
    ["1.17", /not in the catalog \(known: 1\.18–1\.31\)/],
    ["1.31", /no final release in the catalog \(pre-releases: 1\.31\.0-rc\.0\)/],
  ];
  for (const [input, message] of refused) {
    test(`refuses "${input}" with a clear message`, () => {
      assert.throws(
        () => parseVersion(input, catalog),
        (err: unknown) => err instanceof VersionError && message.test(err.message),
      );
    });
  }

  test("property: formatting a parsed version gives back the canonical text, with or without v", () => {
    const version = fc.record({
      major: fc.nat(50),
      minor: fc.nat(200),
      patch: fc.nat(200),
      prerelease: fc.option(
        fc.tuple(fc.constantFrom("alpha", "beta", "rc"), fc.nat(20)).map(([k, n]) => `${k}.${n}`),
        { nil: null },
      ),
    });
    fc.assert(
      fc.property(version, (v) => {
        const text = formatVersion(v);
        assert.deepEqual(parseFullVersion(text), { ...v });
        assert.deepEqual(parseFullVersion(`v${text}`), { ...v });
      }),
    );
  });
});

describe("revisionName", () => {
  test("turns dots into dashes, the DNS-1123 form", () => {
    assert.equal(revisionName("1.28.2"), "1-28-2");
    assert.equal(revisionName("1.31.0-rc.0"), "1-31-0-rc-0");
  });
});

describe("upgradePath (canary may skip at most one minor)", () => {
  const cases: [string, string, boolean, string][] = [
    ["1.27.3", "1.27.9", true, "patch"],
    ["1.27.3", "1.28.0", true, "minor"],
    ["1.27.3", "1.29.6", true, "skip-one-minor"],
    ["1.27.3", "1.30.0", false, "too-far"],
    ["1.28.2", "1.28.2", false, "same-version"],
    ["1.29.0", "1.28.10", false, "downgrade"],
    ["1.28.2", "1.28.1", false, "downgrade"],
  ];
  for (const [from, to, allowed, kindOrReason] of cases) {
    test(`${from} → ${to}: ${allowed ? "allowed" : "refused"} (${kindOrReason})`, () => {
      const path = upgradePath(from, to, catalog);
      assert.equal(path.allowed, allowed);
      assert.equal(path.allowed ? path.kind : path.reason, kindOrReason);
    });
  }

  test("a path that is too long names the intermediate hops", () => {
    const path = upgradePath("1.24.0", "1.30.3", catalog);
    assert.equal(path.allowed, false);
    assert.deepEqual(!path.allowed && path.hops, ["1.26.8", "1.28.10", "1.30.3"]);
    assert.match(path.message, /1\.24\.0 → 1\.26\.8 → 1\.28\.10 → 1\.30\.3/);
  });

  test("property: never allows a jump of two or more skipped minors, nor a downgrade", () => {
    const v = fc.record({ major: fc.constant(1), minor: fc.nat(40), patch: fc.nat(12), prerelease: fc.constant(null) });
    fc.assert(
      fc.property(v, v, (from, to) => {
        const path = upgradePath(from, to, catalog);
        if (path.allowed) {
          assert.ok(to.minor - from.minor <= 2 && to.minor >= from.minor);
          assert.ok(formatVersion(from) !== formatVersion(to));
        }
        // every hop of a refused long path is itself an allowed step
        if (!path.allowed && path.reason === "too-far") {
          let prev: IstioVersion = from;
          for (const hop of path.hops) {
            const next = parseFullVersion(hop);
            assert.equal(upgradePath(prev, next, catalog).allowed, true, `${formatVersion(prev)} → ${hop}`);
            prev = next;
          }
        }
      }),
    );
  });
});

describe("kubernetesSupport", () => {
  const cases: [string, string, string][] = [
    ["1.28.2", "1.30", "supported"],
    ["1.28.2", "v1.34.1-eks-1234", "supported"],
    ["1.28.2", "1.29", "tested-only"],
    ["1.28.2", "1.35", "unsupported"],
    ["1.28.2", "1.24", "unsupported"],
    ["1.17.0", "1.29", "unknown-release"],
  ];
  for (const [istio, k8s, status] of cases) {
    test(`Istio ${istio} on Kubernetes ${k8s} → ${status}`, () =>
      assert.equal(kubernetesSupport(istio, k8s, catalog).status, status));
  }

  test("names the range and flags Kubernetes below istioctl's MinK8SVersion", () => {
    const s = kubernetesSupport("1.30.0", "1.31", catalog);
    assert.equal(s.status, "tested-only");
    assert.equal(s.belowMinimum, true);
    assert.match(s.message, /supported 1\.32–1\.36/);
  });

  test("refuses a malformed Kubernetes version", () => {
    assert.throws(() => parseKubernetesVersion("one.twenty"), VersionError);
  });
});

describe("availableUpgrades", () => {
  test("from 1.27.3 on Kubernetes 1.31 on 2026-08-22: offers 1.27.9, 1.28.10, 1.29.6 and recommends the newest supported, not-EOL one", () => {
    const options = availableUpgrades("1.27.3", "1.31", "2026-08-22", catalog);
    assert.deepEqual(
      options.upgrades.map((u) => u.version),
      ["1.27.9", "1.28.10", "1.29.6"],
    );
    assert.equal(options.current.endOfLife.reached, true);
    assert.equal(options.upgrades.find((u) => u.version === "1.28.10")!.endOfLife.reached, true);
    assert.equal(options.recommended, "1.29.6");
    assert.equal(options.newVersionAvailable, true);
    assert.equal(options.newestVersion, "1.30.3");
    assert.deepEqual(options.beyondOneStep, [{ version: "1.30.3", hops: ["1.29.6", "1.30.3"] }]);
  });

  test("on the newest patch of the newest final release nothing new is available", () => {
    const options = availableUpgrades("1.30.3", "1.33", new Date("2026-08-22T10:00:00Z"), catalog);
    assert.deepEqual(options.upgrades, []);
    assert.equal(options.newVersionAvailable, false);
    assert.equal(options.recommended, null);
  });

  test("does not recommend a version the cluster's Kubernetes does not support", () => {
    const options = availableUpgrades("1.28.0", "1.30", "2026-08-22", catalog);
    const v130 = options.upgrades.find((u) => u.version === "1.30.3")!;
    assert.equal(v130.kubernetes.status, "tested-only");
    // 1.28.10 is past end-of-life and 1.29/1.30 only tested on 1.30: nothing qualifies
    assert.equal(options.recommended, null);
  });
});

describe("controlPlaneSkew", () => {
  const cases: [string, string, boolean, string][] = [
    ["1.29.0", "1.29.6", true, "same-minor"],
    ["1.30.0", "1.29.6", true, "control-plane-one-ahead"],
    ["1.28.0", "1.29.0", false, "control-plane-behind"],
    ["1.30.0", "1.28.10", false, "control-plane-too-far-ahead"],
  ];
  for (const [cp, dp, allowed, reason] of cases) {
    test(`control plane ${cp}, proxies ${dp} → ${reason}`, () => {
      const verdict = controlPlaneSkew(cp, dp);
      assert.equal(verdict.allowed, allowed);
      assert.equal(verdict.reason, reason);
    });
  }
});

describe("versionFromImage", () => {
  const cases: [string, string | null][] = [
    ["docker.io/istio/proxyv2:1.28.2", "1.28.2"],
    ["registry.istio.io/release/proxyv2:1.30.0-distroless", "1.30.0"],
    ["gcr.io/istio-release/pilot:1.10.0-debug", "1.10.0"],
    ["localhost:5000/istio/proxyv2:1.29.1", "1.29.1"],
    ["registry.istio.io/testing/proxyv2:latest", null],
    ["istio/proxyv2@sha256:abc", null],
    ["proxyv2", null],
  ];
  for (const [image, version] of cases)
    test(`${image} → ${version}`, () => assert.equal(versionFromImage(image), version));
});

describe("catalog files", () => {
  test("a user file adds a new release on top of the built-in ones", async () => {
    const dir = await mkdtemp(join(tmpdir(), "meshlift-catalog-"));
    const file = join(dir, "catalog.yaml");
    await writeFile(
      file,
      [
        "releases:",
        "  - minor: '1.31'",
        "    released: 2026-08-26",
        "    endOfLife: null",
        "    latestPatch: 0",
        "    kubernetes: { supported: ['1.32', '1.36'], tested: ['1.28', '1.31'], minimum: '1.32' }",
        "  - minor: '1.32'",
        "    released: 2026-11-10",
        "    endOfLife: null",
        "    latestPatch: 1",
        "    kubernetes: { supported: ['1.33', '1.37'], minimum: '1.33' }",
      ].join("\n"),
    );
    const loaded = await loadCatalog(file);
    assert.equal(loaded.releases.at(-1)!.latestVersion, "1.32.1");
    assert.equal(formatVersion(parseVersion("1.31", loaded)), "1.31.0");
    assert.equal(loaded.releases.length, 15);
    assert.deepEqual(loaded.sources, ["builtin", file]);
    assert.equal(availableUpgrades("1.30.3", "1.34", "2026-12-01", loaded).recommended, "1.32.1");
  });

  test("an invalid file is refused with the path of each bad field", () => {
    const bad = {
      releases: [
        {
          minor: "1.32",
          released: "tomorrow",
          endOfLife: null,
          latestPatch: -1,
          kubernetes: { supported: ["1.37", "1.33"], minimum: "1.33" },
        },
      ],
    };
    assert.throws(
      () => catalogFromData(bad, "my-catalog.json"),
      (err: unknown) =>
        err instanceof CatalogError &&
        /my-catalog\.json is invalid/.test(err.message) &&
        /releases\[0\]\.released/.test(err.message) &&
        /releases\[0\]\.latestPatch/.test(err.message) &&
        /range start must not be after its end/.test(err.message),
    );
  });

  test("a missing file is a CatalogError naming the path", async () => {
    await assert.rejects(
      loadCatalog("/nonexistent/catalog.yaml"),
      (err: unknown) => err instanceof CatalogError && /\/nonexistent\/catalog\.yaml/.test(err.message),
    );
  });

  test("mode: replace drops the built-in releases", () => {
    const only = catalogFromData(
      {
        mode: "replace",
        releases: [
          {
            minor: "1.40",
            released: "2030-01-01",
            endOfLife: null,
            latestPatch: 2,
            kubernetes: { supported: ["1.40", "1.44"], minimum: "1.40" },
          },
        ],
      },
      "x",
      builtinCatalog(),
    );
    assert.deepEqual(
      only.releases.map((r) => r.minor),
      ["1.40"],
    );
  });
});
