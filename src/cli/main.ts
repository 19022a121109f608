// Process entry: real IO in, exit code out. The only place that touches the process.
import path from "node:path";
import { createCli, processIO } from "./index.js";

// installed as `kubectl-meshlift`, kubectl runs it for `kubectl meshlift …`
const invokedAs = path.basename(process.argv[1] ?? "");
const programName = invokedAs.startsWith("kubectl-") ? "kubectl meshlift" : "meshlift";

process.exitCode = await createCli({ programName }).run(process.argv.slice(2), processIO());
