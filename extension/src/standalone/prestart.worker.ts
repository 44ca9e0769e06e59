// lite-build: a kernel worker that can start its Python runtime before the kernel exists.
//
// A small script in each app page creates this worker as soon as the page starts to load and
// posts it a prestart message with the Pyodide options of the kernel the page most likely
// needs: the runtime (wasm compile, the kernel's packages, the heavy imports) then gets ready
// while JupyterLab itself boots, instead of after it. When our extension creates that kernel, it
// adopts the worker; the stock PyodideKernel drives it as usual.
//
// The worker is a stock kernel worker of @jupyterlite/pyodide-kernel (its URL comes in the
// prestart message, the first the page posts: the comlink worker, or the coincident
// worker when the page is cross-origin isolated) with one change:
// `initRuntime` takes the runtime prestarted with the same options, or starts one the same way
// (below), instead of loading Pyodide its own way. Messages that arrive while the stock worker
// module loads are held and then replayed to it.
// (Not a query parameter of this worker's URL: a worker's `location` is the URL of the response,
// and the precache answers with a cached response that has no query.)
//
// Every kernel of a lite-build site runs in this worker, prestarted or not, so every kernel gets
// the same start: its Python restored from the environment's memory snapshot when the site ships
// one (see lite_build/kernel/snapshot.py), else started the usual way; then the modules the kernel
// imports at start, imported ahead. lite-build's own keys in `loadPyodideOptions`
// (`liteBuildSnapshotURL`, `liteBuildImports`) are taken out before Pyodide sees the options.
// The worker tells the page how its runtime started. The messages it takes and posts are declared
// in ../protocol.ts.
//
// Bundled alone by build-browser.js (it imports nothing at run time but the URLs it is given),
// then shipped beside the extension's own files (see webpack.config.js).

import {
  MESSAGE,
  type FromKernelWorker,
  type IRuntimeOptions,
  type IRuntimeReady,
  type ToKernelWorker,
} from '../protocol';

/** The parts of the stock remote kernel this worker touches. */
interface IRemoteKernel {
  _pyodide: any;
  _logMessage: (message: Record<string, unknown>) => void;
}

type RemoteKernelClass = {
  prototype: IRemoteKernel & { initRuntime(options: IRuntimeOptions): Promise<void> };
};

const held: MessageEvent[] = [];
let prestarted: { key: string; pyodide: Promise<any> } | null = null;
/** The kernel that adopted the prestarted runtime: it receives the runtime's output. */
let adopter: IRemoteKernel | null = null;

/** The same text for the same options, whatever the order of their keys. */
function runtimeKey(options: IRuntimeOptions): string {
  const sorted = (_key: string, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)))
      : value;
  return JSON.stringify(
    [options.pyodideUrl, options.indexUrl, options.loadPyodideOptions],
    sorted,
  );
}

function log(level: string, text: string): void {
  adopter?._logMessage({ type: 'text', level, data: text });
}

/** lite-build's keys in the kernel's ``loadPyodideOptions`` (jupyter-lite.json). */
interface ILiteBuildOptions {
  /** the environment's kernel image (files and memory snapshot), gzip-compressed */
  liteBuildSnapshotURL?: string;
  /** modules to import before the kernel asks (already imported when restored) */
  liteBuildImports?: string[];
}

/** The kernel image, inflated (a host that sent it with ``Content-Encoding: gzip`` has
 * inflated it already: then it does not start with gzip's magic bytes). */
async function fetchImage(url: string): Promise<IKernelImage> {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`${url}: HTTP ${response.status}`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    return readImage(bytes);
  }
  const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return readImage(new Uint8Array(await new Response(inflated).arrayBuffer()));
}

/** The module of jupyterlite-pyodide-kernel that makes the kernel (its worker's initKernel). */
const KERNEL_MODULE = 'pyodide_kernel';

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

/** Where the image says Pyodide recorded whether the runtime can stack-switch (the function
 * pointer of `run_sync`, see make-snapshot.mjs), and the two values it can take. */
interface IRunSyncPointer {
  pointer: number;
  supported: number;
  unsupported: number;
}

/** Make the restored runtime this browser's (see AFTER_RESTORE). */
function refreshHost(pyodide: any, image: IKernelImage, env: Record<string, string>): void {
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

/** The JavaScript objects a snapshot names (lite_build/templates/make-snapshot.mjs), looked up
 * in the restored runtime: Pyodide's API (`{pyodide: null}`), one of its members, or a member of
 * its private API. */
function apiObject(api: any, reference: { pyodide?: string | null; api?: string }): unknown {
  if (reference.api !== undefined) {
    return api[reference.api];
  }
  return reference.pyodide ? api.public_api[reference.pyodide] : api.public_api;
}

function python(pyodide: any, code: string): void {
  // in a namespace of its own: no name is left in the kernel's globals
  pyodide.runPython(`exec(${JSON.stringify(code)}, {})\nNone`);
}

/** A kernel image (lite_build/templates/make-snapshot.mjs): the files of the kernel's
 * pure-Python wheels, then Pyodide's memory snapshot. */
interface IKernelImage {
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

function readImage(bytes: Uint8Array): IKernelImage {
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

async function loadRuntime(
  options: IRuntimeOptions,
  image: Promise<IKernelImage> | null,
): Promise<any> {
  const { loadPyodide } = await import(/* webpackIgnore: true */ options.pyodideUrl);
  const { liteBuildSnapshotURL: _url, liteBuildImports: _imports, ...pyodideOptions } =
    options.loadPyodideOptions as Record<string, unknown> & ILiteBuildOptions;
  const settings = {
    indexURL: options.indexUrl,
    stdout: (text: string) => {
      console.log(text);
      log('info', text);
    },
    stderr: (text: string) => {
      console.error(text);
      log('critical', text);
    },
    ...pyodideOptions,
  };
  if (!image) {
    return loadPyodide(settings);
  }
  const asm = await import(/* webpackIgnore: true */ `${options.indexUrl}pyodide.asm.mjs`);
  // the packages are loaded once Pyodide knows which the image holds (see startRuntime)
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

/** A runtime for ``options``, from the environment's snapshot when it has one that works. */
async function startRuntime(options: IRuntimeOptions): Promise<any> {
  const started = performance.now();
  const seconds = () => Math.round(performance.now() - started) / 1000;
  const steps: Record<string, number> = {};
  const extra = options.loadPyodideOptions as ILiteBuildOptions;
  let pyodide = null;
  let from: IRuntimeReady['from'] = 'start';
  let reason = extra.liteBuildSnapshotURL ? '' : 'the site ships no snapshot';
  let image: Promise<IKernelImage> | null = null;
  if (extra.liteBuildSnapshotURL) {
    try {
      image = fetchImage(extra.liteBuildSnapshotURL).then((loaded) => {
        steps.snapshot = seconds();
        return loaded;
      });
      pyodide = await loadRuntime(options, image);
      const env = (options.loadPyodideOptions.env ?? {}) as Record<string, string>;
      refreshHost(pyodide, await image, env);
      from = 'snapshot';
    } catch (error) {
      // offline before this environment's kernel ever ran, or a snapshot of another build
      console.warn('lite-build: the kernel starts without its snapshot:', error);
      reason = String(error);
      pyodide = null;
    }
  }
  if (pyodide && image) {
    // what the image does not hold (wheels with compiled extensions): a failure here is the
    // kernel's, as it would be without a snapshot
    const { load } = await image;
    if (load.length) {
      await pyodide.loadPackage(load);
    }
  }
  pyodide ??= await loadRuntime(options, null);
  steps.runtime = seconds();
  // the start imports, then the kernel's own module, which the stock kernel imports once the
  // kernel exists (then at no cost): importing it makes the IPython shell and runs the
  // environment's preload imports, about 1 s that no longer waits for the app. The
  // environment's start-up code waits for the first cell, in the notebook's folder
  // (lite_build/kernel.py). A snapshot holds it already when it can (nothing to preload, no
  // compiled extension loaded after the restore: lite_build/snapshot.py); then these imports
  // cost nothing.
  for (const name of [...(extra.liteBuildImports ?? []), KERNEL_MODULE]) {
    // one at a time, so that messages (the page's probe) are answered in between
    await new Promise((resolve) => setTimeout(resolve, 0));
    try {
      pyodide.runPython(`__import__(${JSON.stringify(name)})\nNone`);
    } catch (error) {
      // the kernel imports it again in its own order and reports what fails
      console.warn(`lite-build: importing ${name} ahead failed`, error);
    }
  }
  steps.imports = seconds();
  postMessage({
    type: MESSAGE.runtime,
    from,
    seconds: seconds(),
    reason,
    steps,
  } satisfies FromKernelWorker);
  return pyodide;
}

async function serviceWorkerAnswers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { cache: 'no-store' });
    return response.ok && (await response.text()) === 'ok';
  } catch {
    return false;
  }
}

/** The stock kernel worker, loaded once and changed to adopt the prestarted runtime. */
let stockLoaded: Promise<void> | null = null;

function onOwnMessage(event: MessageEvent): boolean {
  const data = event.data as ToKernelWorker | undefined;
  if (data?.type === MESSAGE.prestart) {
    const options: IRuntimeOptions = data.options;
    const pyodide = startRuntime(options);
    // a failed prestart is not an error yet: the kernel then loads its runtime itself
    pyodide.catch((error) => console.warn('lite-build: the early kernel start failed', error));
    prestarted = { key: runtimeKey(options), pyodide };
    stockLoaded ??= loadStock(String(data.kernel));
    return true;
  }
  if (data?.type === MESSAGE.probe) {
    // whether requests of this worker reach the site's service worker (input(), the drive)
    void serviceWorkerAnswers(data.url).then((ok) =>
      postMessage({ type: MESSAGE.probe, ok } satisfies FromKernelWorker),
    );
    return true;
  }
  return false;
}

function holding(event: MessageEvent): void {
  if (!onOwnMessage(event)) {
    held.push(event);
  }
}

addEventListener('message', holding);

async function loadStock(url: string): Promise<void> {
  const stock = await import(/* webpackIgnore: true */ url);
  const kernelClass: RemoteKernelClass | undefined =
    stock.PyodideComlinkKernel ?? stock.PyodideCoincidentKernel;
  if (!kernelClass) {
    throw new Error(`${url} is not a kernel worker of @jupyterlite/pyodide-kernel`);
  }

  kernelClass.prototype.initRuntime = async function (
    this: IRemoteKernel,
    options: IRuntimeOptions,
  ): Promise<void> {
    const early = prestarted;
    prestarted = null;
    adopter = this;
    let pyodide = null;
    if (early && early.key === runtimeKey(options)) {
      pyodide = await early.pyodide.catch(() => null);
    }
    // not prestarted for these options, or that start failed: start now, the same way
    pyodide ??= await startRuntime(options);
    this._pyodide = pyodide;
    pyodide._api.on_fatal = async (error: Error) => {
      log(
        'critical',
        error.name === 'Exit'
          ? 'Pyodide has exited and can no longer be used.'
          : `Pyodide has suffered a fatal error: ${error.name}: ${error.message}\n${error.stack}`,
      );
    };
  };

  removeEventListener('message', holding);
  addEventListener('message', (event: MessageEvent) => void onOwnMessage(event));
  for (const event of held.splice(0)) {
    dispatchEvent(new MessageEvent('message', { data: event.data, ports: [...event.ports] }));
  }
}
