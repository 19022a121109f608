// Istio releases known to this meshlift build (istio-facts §4, as of 2026-08).
// Sources: istio.io data/compatibility/supportStatus.yml (master copy for 1.25–1.30, the Aug-2025
// fork for 1.18–1.24); MinK8S = MinK8SVersion at each .0 tag; last patch = newest tag in istio/istio.
// Users add newer releases with a catalog file (see loadCatalog) instead of a new meshlift release.
import type { CatalogFile } from "./catalog.js";

export const BUILTIN_CATALOG: CatalogFile = {
  asOf: "2026-08-22",
  releases: [
    {
      minor: "1.18",
      released: "2023-06-03",
      endOfLife: "2024-01-04",
      latestPatch: 7,
      kubernetes: { supported: ["1.24", "1.27"], tested: ["1.20", "1.23"], minimum: "1.23" },
    },
    {
      minor: "1.19",
      released: "2023-09-05",
      endOfLife: "2024-04-24",
      latestPatch: 10,
      kubernetes: { supported: ["1.25", "1.28"], tested: ["1.21", "1.24"], minimum: "1.25" },
    },
    {
      minor: "1.20",
      released: "2023-11-14",
      endOfLife: "2024-06-25",
      latestPatch: 8,
      kubernetes: { supported: ["1.25", "1.29"], tested: ["1.23", "1.24"], minimum: "1.25" },
    },
    {
      minor: "1.21",
      released: "2024-03-13",
      endOfLife: "2024-09-27",
      latestPatch: 6,
      kubernetes: { supported: ["1.26", "1.29"], tested: ["1.23", "1.25"], minimum: "1.26" },
    },
    {
      minor: "1.22",
      released: "2024-05-13",
      endOfLife: "2025-01-22",
      latestPatch: 8,
      kubernetes: { supported: ["1.27", "1.30"], tested: ["1.23", "1.26"], minimum: "1.26" },
    },
    {
      minor: "1.23",
      released: "2024-08-14",
      endOfLife: "2025-04-16",
      latestPatch: 6,
      kubernetes: { supported: ["1.27", "1.30"], tested: ["1.23", "1.26"], minimum: "1.26" },
    },
    {
      minor: "1.24",
      released: "2024-11-07",
      endOfLife: "2025-06-24",
      latestPatch: 6,
      kubernetes: { supported: ["1.28", "1.31"], tested: ["1.23", "1.27"], minimum: "1.28" },
    },
    {
      minor: "1.25",
      released: "2025-03-03",
      endOfLife: "2025-09-30",
      latestPatch: 5,
      kubernetes: { supported: ["1.29", "1.32"], tested: ["1.24", "1.28"], minimum: "1.28" },
    },
    // the Aug-2025 copy of supportStatus.yml ends at 1.32; the master copy (authoritative here) at 1.33
    {
      minor: "1.26",
      released: "2025-05-08",
      endOfLife: "2025-12-22",
      latestPatch: 8,
      kubernetes: { supported: ["1.29", "1.33"], tested: ["1.24", "1.28"], minimum: "1.29" },
    },
    {
      minor: "1.27",
      released: "2025-08-11",
      endOfLife: "2026-04-07",
      latestPatch: 9,
      kubernetes: { supported: ["1.29", "1.33"], tested: ["1.24", "1.28"], minimum: "1.29" },
    },
    {
      minor: "1.28",
      released: "2025-11-05",
      endOfLife: "2026-07-01",
      latestPatch: 10,
      kubernetes: { supported: ["1.30", "1.34"], tested: ["1.25", "1.29"], minimum: "1.29" },
    },
    // EOL "~Aug 2026 (expected)": end of August taken, marked estimated
    {
      minor: "1.29",
      released: "2026-02-16",
      endOfLife: "2026-08-31",
      endOfLifeEstimated: true,
      latestPatch: 6,
      kubernetes: { supported: ["1.31", "1.35"], tested: ["1.26", "1.30"], minimum: "1.30" },
    },
    {
      minor: "1.30",
      released: "2026-05-14",
      endOfLife: "2026-11-30",
      endOfLifeEstimated: true,
      latestPatch: 3,
      kubernetes: { supported: ["1.32", "1.36"], tested: ["1.27", "1.31"], minimum: "1.32" },
    },
    // only rc.0 is tagged; the K8s rows are the unconfirmed master rows
    {
      minor: "1.31",
      released: "2026-08-19",
      endOfLife: null,
      latestPatch: null,
      prereleases: ["1.31.0-rc.0"],
      unconfirmed: true,
      kubernetes: { supported: ["1.32", "1.36"], tested: ["1.24", "1.30"], minimum: "1.32" },
    },
  ],
};
