// lite-build: a kernel image: Pyodide's memory with the kernel's modules imported, and the files
// of the kernel's pure-Python wheels (see snapshot.py).
//
//   node make-snapshot.mjs PYODIDE_DIR JOB_JSON
//
// JOB_JSON: {env, wheels: [{name, path}], load: [names], imports: [module names], seed, output:
// path}. The wheels are unpacked with Python's zipfile (loadPackage would leave JavaScript
// objects behind, which a memory snapshot cannot hold), the modules imported, and the image
// written to `output` (snapshot.py compresses it):
//
//   "LBK1" | header length (u32 LE) | header JSON | pad to 16 | the files' bytes, one after the
//   other | pad to 16 | Pyodide's memory snapshot
//
// header: {packages: [names], load: [names], files: [[absolute path, size], ...], runSync,
// jsImports, userMain}. In
// the browser the files are written before Python starts, so the kernel needs no loadPackage for
// these wheels; `load` names the kernel's other packages (compiled extensions), which the
// kernel's worker loads after the restore; `runSync` is where the image says whether the
// runtime can stack-switch and `jsImports` what modules took from JavaScript's global scope
// (below).
//
// The image must be the Python a browser would start, not one that learned from Node.js:
// - it is started as a browser starts it: the program name is Emscripten's browser default
//   (in Node.js it is this script's path: sys.executable, sys.orig_argv and $_ would carry the
//   build machine's folders into every learner's kernel);
// - its randomness is drawn from a generator seeded by the job (`seed`) and its clocks are
//   fixed, so the same inputs make the same image; the kernel's worker seeds `random` afresh
//   after the restore;
// - what a runtime decides about its host at start and keeps in memory is recorded, so the
//   worker can decide it again: Pyodide points `run_sync` at a stub when the runtime cannot
//   stack-switch (Node.js 20 cannot; Chromium can), and the image names that pointer; modules
//   bind names from JavaScript's global scope as they are imported, and the image lists them;
// - nothing that only Node.js knows survives: an open file, a pending timer or a random
//   generator the worker would not reseed makes the image unfaithful. Then no image is written
//   and the summary says why (`unfaithful`); the site's kernel starts the usual way.
// Prints a JSON summary on its last line.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import nodeCrypto, { createHash } from "node:crypto";

const MAGIC = "LBK1";
const ALIGN = 16;

const [pyodideDir, jobFile] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobFile, "utf8"));
const indexURL = pyodideDir.endsWith("/") ? pyodideDir : pyodideDir + "/";

/** Emscripten's program name outside Node.js (where it is `process.argv[1]`). */
const BROWSER_PROGRAM = "./this.program";

/** A deterministic stand-in for the randomness Python draws while it starts (its hash secret,
 * `random`'s first seed): xorshift128+ seeded by the job, so one set of inputs makes one
 * image. The secret is then the same in every kernel of a site, as with a fixed PYTHONHASHSEED
 * (it cannot change after the restore: every dictionary in the image was built with it). */
function seededRandomValues(seed) {
  const digest = createHash("sha256").update(String(seed)).digest();
  let s0 = digest.readBigUInt64LE(0) | 1n;
  let s1 = digest.readBigUInt64LE(8) | 1n;
  const mask = (1n << 64n) - 1n;
  const next = () => {
    let x = s0;
    const y = s1;
    s0 = y;
    x = (x ^ (x << 23n)) & mask;
    s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return (s1 + y) & mask;
  };
  return (array) => {
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    for (let i = 0; i < bytes.length; i += 8) {
      let value = next();
      for (let j = i; j < Math.min(i + 8, bytes.length); j++) {
        bytes[j] = Number(value & 0xffn);
        value >>= 8n;
      }
    }
    return array;
  };
}
// Emscripten draws its randomness through node:crypto in Node.js (crypto.getRandomValues
// elsewhere): both give the seeded values while the image is made
const fill = seededRandomValues(job.seed ?? "");
nodeCrypto.randomFillSync = fill;
Object.defineProperty(globalThis.crypto, "getRandomValues", { value: fill });

// The clocks Python reads while the image is made (file times, import caches, timestamps)
// start at a fixed time and advance one millisecond per reading: the same inputs make the same
// image, whenever it is made. The browser's clocks are the real ones.
const FIXED_START_MS = Date.UTC(1980, 0, 1);
let readings = 0;
Date.now = () => FIXED_START_MS + readings++;
performance.now = () => readings++;

const { loadPyodide } = await import(pathToFileURL(join(pyodideDir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({
  indexURL,
  env: job.env,
  _sysExecutable: BROWSER_PROGRAM,
  _makeSnapshot: true,
  stdout: (text) => process.stderr.write(text + "\n"),
  stderr: (text) => process.stderr.write(text + "\n"),
});

/** How the snapshot names JavaScript objects its modules hold beyond the global scope (which
 * Pyodide restores by itself): micropip keeps `pyodide_js` (Pyodide's API), some of its
 * functions and its private API. Each is named by where it is found, as `{pyodide: name}` (null:
 * the API itself) or `{api: name}`; the kernel's worker looks the name up in the restored
 * runtime (extension/src/standalone/kernel-image.ts). Any other object fails the snapshot. */
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
    "import gc, importlib, sys",
    "if sys.path and sys.path[0] == '': del sys.path[0]",
    "sys.path_importer_cache.clear()",
    // importlib.metadata keeps the zip files on sys.path (the standard library's among them)
    // open in a cache: their descriptors would not exist after a restore
    "importlib.invalidate_caches()",
    "gc.collect()",
  ].join("\n"),
);

/** A Python expression's value, leaving no name behind. */
function value(expression) {
  return pyodide.runPython(`(lambda: ${expression})()`);
}

/** Python code's `result`, computed in a namespace of its own: no name is left behind. */
function evaluate(code) {
  return pyodide.runPython(
    `(lambda namespace: (exec(${JSON.stringify(code)}, namespace), namespace['result'])[1])({})`,
  );
}

/** The names modules bound from JavaScript's global scope while they were imported
 * (`from js import X`, at a module's top level, in a try or an if): [module, name, bound as].
 * In Node.js some are missing (XMLHttpRequest, which pyodide.http binds when it can) and others
 * exist that a browser lacks, so the kernel's worker binds each again, as the same import in
 * the browser would have: the name, or nothing. */
function jsImports() {
  const code = [
    "import ast, json, re, sys",
    "found = []",
    "for module_name, module in sorted(sys.modules.items()):",
    "    try:",
    "        source = module.__spec__.loader.get_source(module_name)",
    "    except Exception:",
    "        continue",
    "    if not source or not re.search(r'^[ \\t]*from[ \\t]+js[ \\t]+import', source, re.M):",
    "        continue",
    "    todo = list(ast.parse(source).body)",
    "    while todo:",
    "        node = todo.pop(0)",
    "        if isinstance(node, ast.ImportFrom) and node.module == 'js' and not node.level:",
    "            found += [[module_name, a.name, a.asname or a.name] for a in node.names]",
    "        elif isinstance(node, (ast.Try, ast.If)):",
    "            todo += [*node.body, *getattr(node, 'orelse', []), *getattr(node, 'finalbody', [])]",
    "            todo += [child for handler in getattr(node, 'handlers', []) for child in handler.body]",
    "result = json.dumps(found)",
  ].join("\n");
  return JSON.parse(evaluate(code));
}

/** Where Pyodide recorded whether the runtime can stack-switch: the function pointer of
 * `_pyodide_core.run_sync`'s method definition, which Pyodide's start sets to `run_sync` or to
 * a stub that raises "WebAssembly stack switching not supported" (jsproxy_init). Pyodide
 * offers no way to decide it again, so the image names the pointer and the function table
 * indices of both choices; the kernel's worker sets it for the browser it runs in. */
function runSyncPointer() {
  const module = pyodide._module;
  const heap = module.HEAPU32;
  // a builtin function object on wasm32: reference count, type, then its PyMethodDef, whose
  // fields are the name, then the function pointer
  const definition = heap[(value("id(__import__('_pyodide_core').run_sync)") + 8) >>> 2];
  if (module.UTF8ToString(heap[definition >>> 2]) !== "run_sync") {
    return null;
  }
  const pointer = definition + 4;
  let supported = -1;
  let unsupported = -1;
  for (let index = 0; index < module.wasmTable.length; index++) {
    const entry = module.wasmTable.get(index);
    if (entry === module._run_sync) supported = index;
    if (entry === module._run_sync_not_supported) unsupported = index;
  }
  if (supported < 0 || unsupported < 0 || ![supported, unsupported].includes(heap[pointer >>> 2])) {
    return null;
  }
  return { pointer, supported, unsupported };
}

/** Why the image would not be the Python a browser starts: state that only Node.js has. */
function unfaithfulState() {
  const reasons = [];
  const open = pyodide.FS.streams.flatMap((stream, fd) => (stream && fd > 2 ? [stream.path] : []));
  if (open.length) {
    reasons.push(`it holds open files, which do not exist after a restore: ${open.join(", ")}`);
  }
  const timers = process
    .getActiveResourcesInfo()
    .filter((kind) => kind === "Timeout" || kind === "Immediate");
  if (timers.length) {
    reasons.push(`${timers.length} JavaScript timer(s) are pending (asyncio callbacks), which a restore drops`);
  }
  const tasks = value(
    "len(__import__('asyncio').all_tasks(__import__('asyncio').get_event_loop()))",
  );
  if (tasks) {
    reasons.push(`${tasks} asyncio task(s) are pending, which a restore would never resume`);
  }
  // found through their class (gc.get_objects would leave a list of every object behind in
  // the image's free memory: about 1 MB more to download)
  const generators = value(
    "(lambda random, gc: sum(1 for kind in (random.Random, *random.Random.__subclasses__())" +
      " if not issubclass(kind, random.SystemRandom) for found in gc.get_referrers(kind)" +
      " if type(found) is kind and found is not random._inst))" +
      "(__import__('random'), __import__('gc'))",
  );
  if (generators) {
    reasons.push(
      `${generators} random generator(s) besides random's own, which every kernel would share`,
    );
  }
  return reasons;
}

/** Zero the memory no one owns, so that the image compresses well: the free chunks of the C
 * allocator (Emscripten's dlmalloc: what Python freed while the wheels were unpacked and the
 * modules imported still holds its old bytes), the memory above its break and the stack below
 * the stack pointer. A fresh runtime's unused memory is zero too: nothing that a running Python
 * can read changes. dlmalloc offers no way to list its free chunks, so they are found by walking
 * its chunks from the heap's base (its layout on wasm32: a 4-byte footer, a 4-byte head holding
 * the size and the "this chunk in use" bit 2, then the payload); the payload's first 24 bytes of
 * a free chunk are the allocator's own links and stay. The walk checks every chunk (a free
 * chunk's size is repeated in the next chunk's footer); if anything is not as expected, nothing
 * is zeroed. Returns the bytes zeroed. */
function zeroFreeMemory(module) {
  const heap = module.HEAPU8;
  const words = module.HEAPU32;
  const brk = words[module._emscripten_get_sbrk_ptr() >>> 2];
  const LINKS = 8 + 24;
  const ranges = [];
  let chunk = module.___heap_base;
  for (;;) {
    const head = words[(chunk + 4) >>> 2];
    const size = head & ~7;
    if (size < 16 || size % 8 || chunk + size > brk) return 0;
    const inUse = head & 2;
    const next = chunk + size;
    if (!inUse && next + 8 > brk - 64) {
      // the top chunk (dlmalloc keeps a few bytes of its own after it), then everything
      // above the break
      ranges.push([chunk + LINKS, next], [brk, heap.length]);
      break;
    }
    if (!inUse) {
      if (words[next >>> 2] !== size || words[(next + 4) >>> 2] & 1) return 0;
      if (size > LINKS) ranges.push([chunk + LINKS, next]);
    }
    chunk = next;
  }
  ranges.push([module.___stack_low, module._emscripten_stack_get_current() - 256]);
  let zeroed = 0;
  for (const [start, end] of ranges) {
    heap.fill(0, start, end);
    zeroed += end - start;
  }
  return zeroed;
}

// IPython's shell (made when the kernel's module is imported) puts its user module in
// sys.modules["__main__"], and a restore takes Pyodide's globals (pyodide.globals, where the
// kernel's worker runs its own code) from there: the worker's imports would land among the
// learner's variables. The image keeps the module Pyodide started with; the kernel's worker
// puts the shell's back after the restore, as the shell did when it was made.
const userMain = evaluate(
  [
    "import sys",
    "module = sys.modules.get('IPython.core.interactiveshell')",
    "shell = module.InteractiveShell._instance if module else None",
    "result = bool(shell) and sys.modules.get('__main__') is shell.user_module",
    "if result:",
    "    sys.modules['__main__'] = shell._orig_sys_modules_main_mod",
  ].join("\n"),
);

const unfaithful = unfaithfulState();
const runSync = runSyncPointer();
const fromJs = jsImports();
if (!runSync) {
  unfaithful.push("this Pyodide records its stack switching where lite-build cannot find it");
}
if (unfaithful.length) {
  process.stdout.write(JSON.stringify({ failed, unfaithful }) + "\n");
  process.exit(0);
}
run("import gc\ngc.collect()");
const zeroed = zeroFreeMemory(pyodide._module);
const snapshot = pyodide.makeMemorySnapshot({ serializer: apiReference(pyodide) });

const align = (offset) => Math.ceil(offset / ALIGN) * ALIGN;
const header = new TextEncoder().encode(
  JSON.stringify({
    packages: job.wheels.map((wheel) => wheel.name),
    load: job.load,
    files: files.map(([path, data]) => [path, data.length]),
    runSync,
    jsImports: fromJs,
    userMain,
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
writeFileSync(job.output, image);
process.stdout.write(
  JSON.stringify({
    size: image.length,
    files: files.length,
    zeroed,
    failed,
    unfaithful,
  }) + "\n",
);
