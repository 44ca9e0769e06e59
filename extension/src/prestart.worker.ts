// lite-build: a kernel worker that can start its Python runtime before the kernel exists.
//
// A small script in each app page creates this worker as soon as the page starts to load and
// posts it `lite-build:prestart` with the Pyodide options of the kernel the page most likely
// needs: the runtime (wasm compile, the kernel's packages, the heavy imports) then gets ready
// while JupyterLab itself boots, instead of after it. When our extension creates that kernel, it
// adopts the worker; the stock PyodideKernel drives it as usual.
//
// The worker is the stock comlink kernel worker of @jupyterlite/pyodide-kernel (its URL comes
// in the `lite-build:prestart` message, the first the page posts) with one change:
// `initRuntime` takes the runtime prestarted with the same options instead of loading a second
// one. Messages that arrive while the stock worker module loads are held and then replayed to it.
// (Not a query parameter of this worker's URL: a worker's `location` is the URL of the response,
// and the precache answers with a cached response that has no query.)
//
// The file is shipped as is (see webpack.config.js): it imports nothing at build time.

/** Python modules the kernel imports when it starts, imported ahead (none of them reads the
 * current folder or the kernel's settings). */
const AHEAD_IMPORTS = [
  'micropip',
  'traitlets',
  'comm',
  'jedi',
  'IPython.core.application',
  'IPython.core.history',
  'IPython.core.interactiveshell',
  'IPython.core.shellapp',
  'IPython.utils.tokenutil',
];

interface IRuntimeOptions {
  pyodideUrl: string;
  indexUrl: string;
  loadPyodideOptions: Record<string, unknown>;
}

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

async function prestart(options: IRuntimeOptions): Promise<any> {
  const { loadPyodide } = await import(/* webpackIgnore: true */ options.pyodideUrl);
  const pyodide = await loadPyodide({
    indexURL: options.indexUrl,
    stdout: (text: string) => {
      console.log(text);
      log('info', text);
    },
    stderr: (text: string) => {
      console.error(text);
      log('critical', text);
    },
    ...options.loadPyodideOptions,
  });
  for (const name of AHEAD_IMPORTS) {
    // one at a time, so that messages (the page's probe) are answered in between
    await new Promise((resolve) => setTimeout(resolve, 0));
    try {
      pyodide.runPython(`import ${name}`);
    } catch (error) {
      // the kernel imports it again in its own order and reports what fails
      console.warn(`lite-build: importing ${name} ahead failed`, error);
    }
  }
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
  const data = event.data;
  if (data?.type === 'lite-build:prestart') {
    const options: IRuntimeOptions = data.options;
    const pyodide = prestart(options);
    // a failed prestart is not an error yet: the kernel then loads its runtime itself
    pyodide.catch((error) => console.warn('lite-build: the early kernel start failed', error));
    prestarted = { key: runtimeKey(options), pyodide };
    stockLoaded ??= loadStock(String(data.kernel));
    return true;
  }
  if (data?.type === 'lite-build:probe') {
    // whether requests of this worker reach the site's service worker (input(), the drive)
    void serviceWorkerAnswers(data.url).then((ok) => postMessage({ type: data.type, ok }));
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
  const kernelClass: RemoteKernelClass = stock.PyodideComlinkKernel;
  const stockInitRuntime = kernelClass.prototype.initRuntime;

  kernelClass.prototype.initRuntime = async function (
    this: IRemoteKernel,
    options: IRuntimeOptions,
  ): Promise<void> {
    const early = prestarted;
    prestarted = null;
    if (early && early.key === runtimeKey(options)) {
      adopter = this;
      const pyodide = await early.pyodide.catch(() => null);
      if (pyodide) {
        this._pyodide = pyodide;
        pyodide._api.on_fatal = async (error: Error) => {
          log(
            'critical',
            error.name === 'Exit'
              ? 'Pyodide has exited and can no longer be used.'
              : `Pyodide has suffered a fatal error: ${error.name}: ${error.message}\n${error.stack}`,
          );
        };
        return;
      }
    }
    return stockInitRuntime.call(this, options);
  };

  removeEventListener('message', holding);
  addEventListener('message', (event: MessageEvent) => void onOwnMessage(event));
  for (const event of held.splice(0)) {
    dispatchEvent(new MessageEvent('message', { data: event.data, ports: [...event.ports] }));
  }
}

export {};
