// lite-build: adds precompiled bytecode to wheels, using the Pyodide runtime they will run on.
//
//   node compile-wheels.mjs PYODIDE_DIR JOBS_JSON
//
// JOBS_JSON lists [source wheel, target wheel] pairs (absolute host paths). The host file
// system is mounted at /host inside Pyodide; compile_wheels.py (next to this file) does the work
// and this script prints its JSON summary.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [pyodideDir, jobsFile] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(join(pyodideDir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({
  indexURL: pyodideDir.endsWith("/") ? pyodideDir : pyodideDir + "/",
  stdout: (text) => process.stderr.write(text + "\n"),
  stderr: (text) => process.stderr.write(text + "\n"),
});
pyodide.FS.mkdirTree("/host");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: "/" }, "/host");
const here = dirname(fileURLToPath(import.meta.url));
const module = pyodide.runPython(readFileSync(join(here, "compile_wheels.py"), "utf8") + "\nmain");
const sitePackages = pyodide.runPython("import sysconfig; sysconfig.get_path('purelib')");
process.stdout.write(module("/host" + jobsFile, sitePackages) + "\n");
