// lite-build: a kernel image: Pyodide's memory with the kernel's modules imported, and the files
// of the kernel's pure-Python wheels (see snapshot.py).
//
//   node make-snapshot.mjs PYODIDE_DIR JOB_JSON
//
// JOB_JSON: {env, wheels: [{name, path}], load: [names], imports: [module names], output: path}.
// The wheels
// are unpacked with Python's zipfile (loadPackage would leave JavaScript objects behind, which a
// memory snapshot cannot hold), the modules imported, and the image written gzip-compressed to
// `output`:
//
//   "LBK1" | header length (u32 LE) | header JSON | pad to 16 | the files' bytes, one after the
//   other | pad to 16 | Pyodide's memory snapshot
//
// header: {packages: [names], load: [names], files: [[absolute path, size], ...]}. In the
// browser the files are written before Python starts, so the kernel needs no loadPackage for
// these wheels; `load` names the kernel's other packages (compiled extensions), which the
// kernel's worker loads after the restore.
// Prints a JSON summary on its last line.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const MAGIC = "LBK1";
const ALIGN = 16;

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

/** How the snapshot names JavaScript objects its modules hold beyond the global scope (which
 * Pyodide restores by itself): micropip keeps `pyodide_js` (Pyodide's API), some of its
 * functions and its private API. Each is named by where it is found, as `{pyodide: name}` (null:
 * the API itself) or `{api: name}`; the kernel's worker looks the name up in the restored
 * runtime (extension/src/prestart.worker.ts). Any other object fails the snapshot. */
function apiReference(pyodide) {
  const names = new Map([[pyodide._api.public_api, { pyodide: null }]]);
  for (const [where, holder] of [["pyodide", pyodide._api.public_api], ["api", pyodide._api]]) {
    for (const [name, property] of Object.entries(Object.getOwnPropertyDescriptors(holder))) {
      const value = property.value; // data properties only: no getter runs while snapshotting
      if (value && ["object", "function"].includes(typeof value) && !names.has(value)) {
        names.set(value, { [where]: name });
      }
    }
  }
  return (object) => {
    if (names.has(object)) return names.get(object);
    throw new Error(`the snapshot would hold a JavaScript object it cannot restore: ${object}`);
  };
}

/** Python code run in a namespace of its own: no name is left in the kernel's globals. */
function run(code) {
  return pyodide.runPython(`exec(${JSON.stringify(code)}, {})\nNone`);
}

const site = pyodide.runPython("__import__('sysconfig').get_path('purelib')");
for (const wheel of job.wheels) {
  pyodide.FS.writeFile("/tmp/wheel.whl", readFileSync(wheel.path));
  // as loadPackage installs a wheel: its files, and who installed it in its .dist-info
  run(
    [
      "import zipfile, pathlib",
      `archive = zipfile.ZipFile("/tmp/wheel.whl")`,
      `archive.extractall(${JSON.stringify(site)})`,
      "for top in {name.split('/')[0] for name in archive.namelist()}:",
      "    if top.endswith('.dist-info'):",
      `        info = pathlib.Path(${JSON.stringify(site)}, top)`,
      "        (info / 'INSTALLER').write_text('pyodide.loadPackage')",
      "        (info / 'PYODIDE_SOURCE').write_text('pyodide')",
    ].join("\n"),
  );
}
pyodide.FS.unlink("/tmp/wheel.whl");
run("import importlib\nimportlib.invalidate_caches()");

/** Every file under ``folder``: [absolute path, bytes]. */
function filesUnder(folder) {
  const found = [];
  for (const name of pyodide.FS.readdir(folder)) {
    if (name === "." || name === "..") continue;
    const path = `${folder}/${name}`;
    const { mode } = pyodide.FS.stat(path);
    if (pyodide.FS.isDir(mode)) {
      found.push(...filesUnder(path));
    } else if (pyodide.FS.isFile(mode)) {
      found.push([path, pyodide.FS.readFile(path)]);
    }
  }
  return found;
}
const files = filesUnder(site);

const failed = [];
for (const name of job.imports) {
  try {
    pyodide.runPython(`__import__(${JSON.stringify(name)})\nNone`);
  } catch (error) {
    failed.push(name);
    process.stderr.write(`importing ${name} failed: ${error}\n`);
  }
}
// loadPyodide puts "" first on sys.path again when it restores
run(
  [
    "import gc, sys",
    "if sys.path and sys.path[0] == '': del sys.path[0]",
    "sys.path_importer_cache.clear()",
    "gc.collect()",
  ].join("\n"),
);
const snapshot = pyodide.makeMemorySnapshot({ serializer: apiReference(pyodide) });

const align = (offset) => Math.ceil(offset / ALIGN) * ALIGN;
const header = new TextEncoder().encode(
  JSON.stringify({
    packages: job.wheels.map((wheel) => wheel.name),
    load: job.load,
    files: files.map(([path, data]) => [path, data.length]),
  }),
);
const dataStart = align(8 + header.length);
const snapshotStart = align(dataStart + files.reduce((sum, [, data]) => sum + data.length, 0));
const image = new Uint8Array(snapshotStart + snapshot.length);
image.set(new TextEncoder().encode(MAGIC), 0);
new DataView(image.buffer).setUint32(4, header.length, true);
image.set(header, 8);
let offset = dataStart;
for (const [, data] of files) {
  image.set(data, offset);
  offset += data.length;
}
image.set(snapshot, snapshotStart);
const packed = gzipSync(image, { level: 9 });
writeFileSync(job.output, packed);
process.stdout.write(
  JSON.stringify({
    size: image.length,
    compressed: packed.length,
    files: files.length,
    failed,
  }) + "\n",
);
