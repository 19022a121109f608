// Crash safety, runs 10–19 of the 20 in the suite: see crash-runs.ts.
import { crashSuite } from "./crash-runs.js";

crashSuite(10, 10);
