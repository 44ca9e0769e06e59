// lite-build: a memory snapshot of Pyodide with the kernel's modules imported (see snapshot.py).
//
//   node make-snapshot.mjs PYODIDE_DIR JOB_JSON
//
// JOB_JSON: {env, wheels: [absolute paths], imports: [module names], output: path}. The wheels
// are unpacked with Python's zipfile (loadPackage would leave JavaScript objects behind, which a
// snapshot cannot hold), the modules imported, and the gzip-compressed snapshot written to
// `output`. Prints a JSON summary on its last line.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const [pyodideDir, jobFile] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobFile, "utf8"));
const indexURL = pyodideDir.endsWith("/") ? pyodideDir : pyodideDir + "/";
const { loadPyodide } = await import(pathToFileURL(join(pyodideDir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({
  indexURL,
  env: job.env,
  _makeSnapshot: true,
  stdout: (text) => process.stderr.write(text + "\n"),
  stderr: (text) => process.stderr.write(text + "\n"),
});

/** Python code run in a namespace of its own: no name is left in the kernel's globals. */
function run(code) {
  return pyodide.runPython(`exec(${JSON.stringify(code)}, {})\nNone`);
}

const site = pyodide.runPython("__import__('sysconfig').get_path('purelib')");
for (const wheel of job.wheels) {
  pyodide.FS.writeFile("/tmp/wheel.whl", readFileSync(wheel));
  run(`import zipfile\nzipfile.ZipFile("/tmp/wheel.whl").extractall(${JSON.stringify(site)})`);
}
pyodide.FS.unlink("/tmp/wheel.whl");
run("import importlib\nimportlib.invalidate_caches()");

const failed = [];
for (const name of job.imports) {
  try {
    pyodide.runPython(`__import__(${JSON.stringify(name)})\nNone`);
  } catch (error) {
    failed.push(name);
    process.stderr.write(`importing ${name} failed: ${error}\n`);
  }
}
// loadPyodide puts "" first on sys.path again when it restores; files are unpacked again
run(
  [
    "import gc, sys",
    "if sys.path and sys.path[0] == '': del sys.path[0]",
    "sys.path_importer_cache.clear()",
    "gc.collect()",
  ].join("\n"),
);

const snapshot = pyodide.makeMemorySnapshot();
const packed = gzipSync(snapshot, { level: 9 });
writeFileSync(job.output, packed);
process.stdout.write(
  JSON.stringify({ size: snapshot.length, compressed: packed.length, failed }) + "\n",
);
