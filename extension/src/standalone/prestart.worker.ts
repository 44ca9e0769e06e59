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
// one (see lite_build/kernel/snapshot.py) and it pays (snapshotSource below), else started the
// usual way; then the modules the kernel
// imports at start, imported ahead. lite-build's own keys in `loadPyodideOptions`
// (`liteBuildSnapshotURL`, `liteBuildImports`) are taken out before Pyodide sees the options.
// The worker tells the page how its runtime started. The messages it takes and posts are declared
// in ../protocol.ts.
//
// The restore itself (reading the image, restoring the runtime, making it this browser's) is in
// kernel-image.ts. Bundled alone by build-browser.js, with what it imports (it imports nothing at
// run time but the URLs it is given), then shipped beside the extension's own files (see
// webpack.config.js).

import {
  CACHE_PREFIX,
  MESSAGE,
  type FromKernelWorker,
  type IRuntimeOptions,
  type IRuntimeReady,
  type ToKernelWorker,
} from '../protocol';
import { sha256Hex } from './digest';
import {
  loadRuntime,
  readImage,
  refreshHost,
  type IKernelImage,
  type ILiteBuildOptions,
  type IRuntimeOutput,
} from './kernel-image';

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

/** The runtime's output: in the worker's console, and in the kernel's log once one adopts it. */
const OUTPUT: IRuntimeOutput = {
  stdout: (text: string) => {
    console.log(text);
    log('info', text);
  },
  stderr: (text: string) => {
    console.error(text);
    log('critical', text);
  },
};

/** The kernel image in ``bytes``, inflated (a host that sent it with ``Content-Encoding: gzip``
 * has inflated it already: then it does not start with gzip's magic bytes). */
async function imageOf(bytes: Uint8Array<ArrayBuffer>): Promise<IKernelImage> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    return readImage(bytes);
  }
  const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return readImage(new Uint8Array(await new Response(inflated).arrayBuffer()));
}

async function fetchImage(url: string): Promise<IKernelImage> {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`${url}: HTTP ${response.status}`);
  }
  return imageOf(new Uint8Array(await response.arrayBuffer()));
}

/** Whether the site is served from this computer (the bundle's start.py, `lite-build serve`):
 * its files arrive at disk speed. */
function servedLocally(): boolean {
  const host = self.location.hostname;
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '[::1]' ||
    /^127\.\d+\.\d+\.\d+$/.test(host)
  );
}

/** The snapshot at ``url`` as an earlier visit's offline cache kept it, when its bytes are the
 * ones the URL names (its ``sha256``); else null. Read from the cache here, not through the
 * service worker: a kernel worker is not always under its control (see index.ts), and a fetch
 * that the service worker does not answer would download the whole snapshot. */
async function keptSnapshot(url: string): Promise<Uint8Array<ArrayBuffer> | null> {
  const address = new URL(url);
  const sha256 = address.searchParams.get('sha256');
  address.search = '';
  try {
    for (const name of await caches.keys()) {
      if (!name.startsWith(CACHE_PREFIX)) continue;
      const response = await (await caches.open(name)).match(address.href);
      if (!response) continue;
      const bytes = new Uint8Array(await response.arrayBuffer());
      if ((await sha256Hex(bytes)) === sha256) return bytes;
    }
  } catch (error) {
    // no CacheStorage here (an insecure context, some private windows): no kept copy
    console.warn('lite-build: could not look for a kept snapshot', error);
  }
  return null;
}

/** How a kernel gets its snapshot, or null when this start goes without it. The snapshot
 * saves the start's processor time (about 3 s: unpacking the wheels, importing IPython, making
 * the shell) but is about 17 MB, twice what a start without it downloads: it pays where it
 * arrives at disk speed (a copy the offline cache kept, or a site served from this computer),
 * and it doubles the wait on a first visit over a home or classroom line (measured:
 * docs/performance.md). A first visit over a network therefore starts the usual way; its page
 * then asks the offline cache to keep the snapshot, after the site's files, so that the next
 * visits restore from it. Decided by where the bytes are, not by timing the link: the same
 * visit always starts the same way. */
async function snapshotSource(url: string): Promise<{ image: Promise<IKernelImage> } | null> {
  const kept = await keptSnapshot(url);
  if (kept) return { image: imageOf(kept) };
  // in a record: awaiting this function must not wait for the download
  return servedLocally() ? { image: fetchImage(url) } : null;
}

/** The module of jupyterlite-pyodide-kernel that makes the kernel (its worker's initKernel). */
const KERNEL_MODULE = 'pyodide_kernel';

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
  let later: string | undefined;
  const url = extra.liteBuildSnapshotURL;
  const source = url ? await snapshotSource(url) : null;
  if (url && !source) {
    reason = 'a first visit over a network; kept for the next visits';
    later = url;
  }
  if (source) {
    try {
      image = source.image.then((loaded) => {
        steps.snapshot = seconds();
        return loaded;
      });
      pyodide = await loadRuntime(options, image, OUTPUT);
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
  pyodide ??= await loadRuntime(options, null, OUTPUT);
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
    ...(later ? { later } : {}),
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
