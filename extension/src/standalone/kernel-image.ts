// lite-build: a kernel's Python restored from its environment's kernel image (the files of its
// pure-Python wheels and Pyodide's memory snapshot: lite_build/templates/make-snapshot.mjs), then
// made this browser's. The kernel's worker (prestart.worker.ts) restores with it; the tests
// restore with the same code in Node.js (build-browser.js also writes it as an ES module with its
// exports, lib/kernel-image.mjs). What it reads of the browser it reads from the global scope
// (`navigator`): a host that is not a browser provides it.

import type { IRuntimeOptions } from '../protocol';

/** lite-build's keys in the kernel's ``loadPyodideOptions`` (jupyter-lite.json). */
export interface ILiteBuildOptions {
  /** the environment's kernel image (files and memory snapshot), gzip-compressed */
  liteBuildSnapshotURL?: string;
  /** modules to import before the kernel asks (already imported when restored) */
  liteBuildImports?: string[];
}

/** A kernel image (lite_build/templates/make-snapshot.mjs): the files of the kernel's
 * pure-Python wheels, then Pyodide's memory snapshot. */
export interface IKernelImage {
  /** the packages whose files the image holds: loaded, as far as Pyodide is concerned */
  packages: string[];
  /** the kernel's other packages (compiled extensions), to load after the restore */
  load: string[];
  files: [string, Uint8Array][];
  snapshot: Uint8Array;
  /** where the runtime records whether it can stack-switch */
  runSync?: IRunSyncPointer;
  /** what modules bound from JavaScript's global scope at their import: [module, name, as] */
  jsImports?: [string, string, string][];
  /** whether the image holds IPython's shell, whose user module is `__main__` once restored */
  userMain?: boolean;
}

/** The kernel image in `bytes` (inflated). */
export function readImage(bytes: Uint8Array): IKernelImage {
  const text = new TextDecoder();
  if (text.decode(bytes.subarray(0, 4)) !== 'LBK1') {
    throw new Error('not a kernel image of this lite-build version');
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(4, true);
  const header = JSON.parse(text.decode(bytes.subarray(8, 8 + length)));
  const align = (offset: number) => Math.ceil(offset / 16) * 16;
  let offset = align(8 + length);
  const files = (header.files as [string, number][]).map(([path, size]): [string, Uint8Array] => {
    const data = bytes.subarray(offset, offset + size);
    offset += size;
    return [path, data];
  });
  return {
    packages: header.packages,
    load: header.load,
    files,
    snapshot: bytes.subarray(align(offset)),
    runSync: header.runSync,
    jsImports: header.jsImports,
    userMain: header.userMain,
  };
}

/** Where the image says Pyodide recorded whether the runtime can stack-switch (the function
 * pointer of `run_sync`, see make-snapshot.mjs), and the two values it can take. */
interface IRunSyncPointer {
  pointer: number;
  supported: number;
  unsupported: number;
}

/** Where the runtime's output goes (Pyodide's `stdout` and `stderr` options, which the kernel's
 * `loadPyodideOptions` do not set). */
export interface IRuntimeOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Where CPython keeps its call trampoline, a function table index that the runtime's start
 * writes into `_PyRuntime` (Emscripten's setEmscriptenTrampoline: a WebAssembly trampoline
 * where the host can make one, else 0 for a JavaScript one). */
function trampolineSlot(module: any): number {
  const offset = module.__PyEM_EMSCRIPTEN_TRAMPOLINE_OFFSET;
  if (offset === undefined || module.__PyRuntime === undefined) {
    throw new Error('this Pyodide keeps its call trampoline where lite-build cannot find it');
  }
  return (module.__PyRuntime + module.HEAP32[offset >>> 2]) >>> 2;
}

/** The JavaScript objects a snapshot names (lite_build/templates/make-snapshot.mjs), looked up
 * in the restored runtime: Pyodide's API (`{pyodide: null}`), one of its members, or a member of
 * its private API. */
function apiObject(api: any, reference: { pyodide?: string | null; api?: string }): unknown {
  if (reference.api !== undefined) {
    return api[reference.api];
  }
  return reference.pyodide ? api.public_api[reference.pyodide] : api.public_api;
}

/** A runtime for `options`: restored from `image`, or (no image) started the usual way. */
export async function loadRuntime(
  options: IRuntimeOptions,
  image: Promise<IKernelImage> | null,
  output: IRuntimeOutput,
): Promise<any> {
  const { loadPyodide } = await import(/* webpackIgnore: true */ options.pyodideUrl);
  const { liteBuildSnapshotURL: _url, liteBuildImports: _imports, ...pyodideOptions } =
    options.loadPyodideOptions as Record<string, unknown> & ILiteBuildOptions;
  const settings = {
    indexURL: options.indexUrl,
    stdout: output.stdout,
    stderr: output.stderr,
    ...pyodideOptions,
  };
  if (!image) {
    return loadPyodide(settings);
  }
  const asm = await import(/* webpackIgnore: true */ `${options.indexUrl}pyodide.asm.mjs`);
  // the packages are loaded once Pyodide knows which the image holds (startRuntime in
  // prestart.worker.ts)
  const { packages: _packages, ...restored } = settings as typeof settings & { packages?: [] };
  let runtime: any = null;
  let trampoline = 0;
  const pyodide = await loadPyodide({
    ...restored,
    // a promise: the runtime's files download while the image does
    _loadSnapshot: image.then((loaded) => loaded.snapshot),
    _snapshotDeserializer: (reference: { pyodide?: string | null; api?: string }) =>
      apiObject(runtime.API, reference),
    // the runtime's memory must be as large as the snapshot before it is restored (Pyodide
    // 314 sizes it from the snapshot only where the memory is imported, which it is not)
    createPyodideModule: async (moduleSettings: Record<string, unknown>) => {
      const module = await asm.default(moduleSettings);
      runtime = module;
      trampoline = module.HEAP32[trampolineSlot(module)];
      const { length } = (await image).snapshot;
      if (module.HEAP8.length < length) {
        module.growMemory(length);
      }
      return module;
    },
    // the wheels' files, in place before Python starts
    fsInit: async (FS: any) => {
      for (const [path, data] of (await image).files) {
        FS.mkdirTree(path.slice(0, path.lastIndexOf('/')));
        FS.writeFile(path, data);
      }
    },
  });
  // Pyodide only logs a standard library it could not download: a restored Python, its modules
  // imported already, would then start and fail at a learner's first import instead
  if (!pyodide.FS.readdir('/lib').some((name: string) => /^python\d+\.zip$/.test(name))) {
    throw new Error(`${options.indexUrl}python_stdlib.zip could not be installed`);
  }
  // CPython's call trampoline, as this browser's start set it (the restore wrote the build's
  // over it): with the build's, where Node.js offered none, every call from C to Python goes
  // through a JavaScript frame, and stack switching (time.sleep) fails with a fatal error
  runtime.HEAP32[trampolineSlot(runtime)] = trampoline;
  // the runtime keeps its options: let the image's bytes (tens of MB) be freed
  for (const key of ['_loadSnapshot', '_snapshotDeserializer', 'createPyodideModule', 'fsInit']) {
    delete pyodide._api.config[key];
  }
  for (const name of (await image).packages) {
    pyodide.loadedPackages[name] = 'default channel';
  }
  return pyodide;
}

/** After a restore, the build-time Python's view of its host is made this browser's (the
 * image was started as a browser starts Python: lite_build/templates/make-snapshot.mjs):
 * `random` is seeded afresh (every kernel would share the build's state); the time zone, the
 * language ($LANG, which Emscripten takes from the browser's language) and the C locale that
 * Python's start derives from it, `sys._emscripten_info.runtime`, and the names modules took
 * from JavaScript's global scope at their import are read again; micropip
 * reads again what it copied from the runtime at its import (the lock, its base URL, the loaded
 * packages). The values come in `host` (JSON). */
const AFTER_RESTORE = [
  'import json, sys, time',
  'host = json.loads(HOST)',
  "if 'random' in sys.modules: sys.modules['random'].seed()",
  // as CPython's time module sets them from C's tzset (init_timezone; musl has no altzone)
  "time.timezone, time.daylight = host['zone']['timezone'], host['zone']['daylight']",
  "time.altzone = time.timezone - 3600",
  "time.tzname = tuple(host['zone']['tzname'])",
  "if host['lang'] is not None:",
  '    import _locale, os',
  "    os.environ['LANG'] = host['lang']",
  "    _locale.setlocale(_locale.LC_CTYPE, '')",
  // as `from js import name` binds it in this browser: the name, or nothing
  'import js',
  "for module_name, name, bound in host['js_imports']:",
  '    module = sys.modules.get(module_name)',
  '    if module is None:',
  '        continue',
  '    if hasattr(js, name):',
  '        setattr(module, bound, getattr(js, name))',
  '    else:',
  '        module.__dict__.pop(bound, None)',
  'info = sys._emscripten_info',
  'values = list(info)',
  "values[type(info).__match_args__.index('runtime')] = host['runtime']",
  'sys._emscripten_info = type(info)(values)',
  // as IPython's shell sets it when it is made (the image holds Pyodide's own __main__, from
  // which the restore took pyodide.globals)
  "if host['user_main']:",
  '    from IPython import get_ipython',
  '    shell = get_ipython()',
  '    sys.modules[shell.user_module.__name__] = shell.user_module',
  "if 'micropip._compat._compat_in_pyodide' in sys.modules:",
  '    import importlib, micropip',
  "    importlib.reload(sys.modules['micropip._compat._compat_in_pyodide'])",
  "    importlib.reload(sys.modules['micropip._compat'])",
  '    micropip._package_manager_singleton.compat_layer = micropip._compat.compatibility_layer',
].join('\n');

/** Make the restored runtime this browser's (see AFTER_RESTORE). */
export function refreshHost(pyodide: any, image: IKernelImage, env: Record<string, string>): void {
  const module = pyodide._module;
  const { pointer, supported, unsupported } = image.runSync ?? ({} as IRunSyncPointer);
  if (pointer === undefined || ![supported, unsupported].includes(module.HEAPU32[pointer >>> 2])) {
    throw new Error('the snapshot does not say where its runtime records stack switching');
  }
  // Chromium can stack-switch where the build's Node.js could not: time.sleep and run_sync
  // then work as in a freshly started kernel
  module.HEAPU32[pointer >>> 2] = module.jspiSupported ? supported : unsupported;
  const host = {
    // as Emscripten sets $LANG when Pyodide's options do not (its getEnvStrings)
    lang: 'LANG' in env ? null : `${(navigator.language ?? 'C').replace('-', '_')}.UTF-8`,
    // as CPython's sys._emscripten_info reads it in a browser
    runtime: navigator.userAgent,
    zone: browserTimeZone(module),
    js_imports: image.jsImports ?? [],
    user_main: image.userMain ?? false,
  };
  python(pyodide, `HOST = ${JSON.stringify(JSON.stringify(host))}\n${AFTER_RESTORE}`);
}

/** This browser's time zone as C sees it: musl asks the host once, while `tzname` is unset
 * (Emscripten's _tzset_js), and the image holds the build machine's answer. */
function browserTimeZone(module: any): { timezone: number; daylight: number; tzname: string[] } {
  for (const name of ['___tzname', '_timezone', '_daylight', '_tzset']) {
    if (module[name] === undefined) {
      throw new Error('this Pyodide keeps its time zone where lite-build cannot find it');
    }
  }
  const tzname = module.___tzname >>> 2;
  module.HEAPU32[tzname] = 0;
  module._tzset();
  return {
    timezone: module.HEAP32[module._timezone >>> 2],
    daylight: module.HEAP32[module._daylight >>> 2],
    tzname: [0, 1].map((index) => module.UTF8ToString(module.HEAPU32[tzname + index])),
  };
}

function python(pyodide: any, code: string): void {
  // in a namespace of its own: no name is left in the kernel's globals
  pyodide.runPython(`exec(${JSON.stringify(code)}, {})\nNone`);
}
