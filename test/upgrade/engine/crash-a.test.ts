// Crash safety, runs 0–9 of the 20 in the suite: see crash-runs.ts.
import { crashSuite } from "./crash-runs.js";

crashSuite(0, 10);
