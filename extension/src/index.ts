// lite-build: one Pyodide kernel per configured environment.
//
// lite-build writes, into jupyter-lite.json, this plugin's settings: the shared Pyodide runtime
// and, per environment, its kernel spec, its own pyodide-lock.json and its own piplite index.
// Every environment is registered as a kernel spec; each kernel is the stock PyodideKernel from
// @jupyterlite/pyodide-kernel, started with that environment's lock, so environments share the
// runtime and the wheel files but not their packages.

import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import type { ILogPayload } from '@jupyterlab/logconsole';
import { ILoggerRegistry } from '@jupyterlab/logconsole';
import { IServiceWorkerManager } from '@jupyterlite/apputils';
import type { KernelMessage } from '@jupyterlab/services';
import type { IKernel } from '@jupyterlite/services';
import { IKernelSpecs } from '@jupyterlite/services';
import type { PyodideKernel as StockKernel } from '@jupyterlite/pyodide-kernel';

import { kernelRuntimeReady, offline } from './offline';
import {
  MESSAGE,
  type FromKernelWorker,
  type IRuntimeOptions,
  type IRuntimeReady,
  type ToKernelWorker,
} from './protocol';
import { backup } from './backup';
import { safekeeping } from './safekeeping';
import { settings } from './settings';
import { versions } from './versions';

/** The plugin id, and its key in jupyter-lite.json's litePluginSettings. */
const PLUGIN_ID = '@lite-build/environments-extension:kernels';

/** Shown for an environment without a logo: a plain "Py" badge. */
const DEFAULT_LOGO =
  'data:image/svg+xml;base64,' +
  btoa(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">' +
      '<rect width="64" height="64" rx="12" fill="#3670a0"/>' +
      '<text x="32" y="42" font-family="sans-serif" font-size="28" font-weight="bold" ' +
      'text-anchor="middle" fill="#ffd43b">Py</text></svg>',
  );

/** One environment, as lite-build describes it (relative URLs are relative to the site root). */
interface IEnvironmentKernel {
  name: string;
  display_name: string;
  logo?: string;
  pipliteUrls: string[];
  loadPyodideOptions: IPyodideOptions;
}

/** What loadPyodide is given: this environment's lock, and what it loads at start. */
type IPyodideOptions = Record<string, unknown> & { lockFileURL: string; packages: string[] };

interface ISettings {
  pyodideUrl: string;
  disablePyPIFallback?: boolean;
  kernels: IEnvironmentKernel[];
}

/**
 * Why a kernel could not start, and what to try, in a learner's words. The cause is whatever the
 * kernel's worker reported (a wheel that failed to download or did not match its hash, ...).
 */
export function startFailure(displayName: string, cause: string): { title: string; help: string } {
  const download = /fetch|network|404|not found|load|offline/i.test(cause);
  const integrity = /integrity|sha-?256|hash|digest/i.test(cause);
  let help: string;
  if (integrity) {
    help =
      'A file of this site does not match what the site was built with: it was changed or ' +
      'damaged after the build. Reload the page; if that does not help, tell the course author ' +
      '(rebuilding and uploading the whole site again fixes it).';
  } else if (download) {
    help =
      'A file the kernel needs could not be downloaded: the network went away before this site ' +
      'was fully stored for offline use, or a file is missing on the web server. Reload the ' +
      'page when you are online; if that does not help, tell the course author (`lite-build ' +
      'check` finds what is missing).';
  } else {
    help =
      'Reload the page to try again. If it keeps happening, tell the course author and include ' +
      'this message.';
  }
  return { title: `The kernel "${displayName}" could not start: ${cause}`, help };
}

/**
 * After a failed start: which file the kernel needs is missing (the worker's own message is often
 * only "exit(1)"). Checks the runtime, the environment's lock and every wheel it lists.
 */
async function missingFiles(pyodideUrl: string, lockFileURL: string): Promise<string | null> {
  if (!navigator.onLine) {
    return 'this device is offline and the site was not yet fully stored for offline use';
  }
  const missing: string[] = [];
  const check = async (url: string) => {
    const response = await fetch(url, { method: 'HEAD', cache: 'no-store' }).catch(() => null);
    if (!response?.ok) {
      const name = decodeURIComponent(new URL(url).pathname.split('/').pop() || url);
      missing.push(`${name} (${response ? `HTTP ${response.status}` : 'network error'})`);
    }
  };
  const runtime = ['pyodide.asm.mjs', 'pyodide.asm.wasm', 'python_stdlib.zip'];
  await Promise.all([pyodideUrl, ...runtime.map((name) => new URL(name, pyodideUrl).href)].map(check));
  const lock = await fetchLock(lockFileURL);
  if (!lock) {
    missing.push('pyodide-lock.json');
  } else {
    const wheels = Object.values(lock.packages ?? {}).map((entry: any) => String(entry.file_name));
    await Promise.all(wheels.map((file) => check(new URL(file, lockFileURL).href)));
  }
  if (!missing.length) {
    return null;
  }
  const shown = missing.slice(0, 3).join(', ') + (missing.length > 3 ? ', …' : '');
  return `a file it needs could not be downloaded: ${shown}`;
}

/** An environment's pyodide-lock.json, or null when it cannot be fetched. */
async function fetchLock(lockFileURL: string): Promise<any> {
  return fetch(lockFileURL, { cache: 'no-store' })
    .then((response) => (response.ok ? response.json() : null))
    .catch(() => null);
}

/** The page's console says how each kernel's runtime started (the worker's own console is not
 * the page's). */
function reportRuntime(name: string, worker: Worker, arrived?: IRuntimeReady): void {
  const report = (data: IRuntimeReady) => {
    kernelRuntimeReady(data);
    const how = data.from === 'snapshot' ? 'restored from its snapshot' : 'started';
    const why = data.reason ? ` (no snapshot: ${data.reason})` : '';
    const steps = Object.entries(data.steps ?? {})
      .map(([step, at]) => `${step} ${at.toFixed(1)}`)
      .join(', ');
    console.info(
      `lite-build: kernel "${name}": Python ${how} in ${Number(data.seconds).toFixed(1)} s${why}` +
        ` [done at: ${steps}]`,
    );
  };
  if (arrived) {
    report(arrived); // a prestarted runtime may be ready before the kernel is asked for
    return;
  }
  worker.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as FromKernelWorker | undefined;
    if (data?.type === MESSAGE.runtime) {
      report(data);
    }
  });
}

/** A new lite-build kernel worker for ``name``, its runtime starting at once (null: the page has
 * no start script, and the stock worker is used). */
function newKernelWorker(name: string, options: IRuntimeOptions): Worker | null {
  const urls = window.liteBuildKernelWorker;
  if (!urls) {
    return null;
  }
  const worker = new Worker(urls.worker, { type: 'module' });
  reportRuntime(name, worker);
  worker.postMessage({
    type: MESSAGE.prestart,
    kernel: urls.kernel,
    options,
  } satisfies ToKernelWorker);
  return worker;
}

/** The prestarted worker, if it was started for ``name`` and can serve the kernel. The first
 * kernel takes it or ends it: a page keeps no idle runtime. Never waits: a kernel must exist
 * as soon as it is asked for (cells run before it is ready are queued, not dropped). */
function prestartedWorker(name: string, mountDrive: boolean): Worker | undefined {
  // a page script still waiting for the service worker must not start a runtime any more
  window.liteBuildKernelAsked = true;
  const prestarted = window.liteBuildPrestart;
  delete window.liteBuildPrestart;
  if (!prestarted) {
    return undefined;
  }
  // files and input() go through the service worker, unless the page is cross-origin isolated
  // (then through SharedArrayBuffer): the worker must be under its control (browsers differ
  // for a worker created before the service worker took the page)
  const usable = crossOriginIsolated || !mountDrive || prestarted.controlled === true;
  if (prestarted.name === name && usable) {
    console.info(`lite-build: kernel "${name}" uses the runtime started with the page`);
    reportRuntime(name, prestarted.worker, prestarted.runtime);
    return prestarted.worker;
  }
  const why =
    prestarted.name !== name
      ? `it was started for "${prestarted.name}"`
      : 'the service worker does not control it yet';
  console.info(`lite-build: kernel "${name}" starts its own runtime: ${why}`);
  prestarted.worker.terminate();
  return undefined;
}

/** ``url`` made absolute against the site root: the kernel's worker cannot resolve it later. */
function absolute(url: string): string {
  return new URL(url, PageConfig.getBaseUrl()).href;
}

/** Pyodide options with every ``...URL`` value (such as ``lockFileURL``) made absolute. */
function pyodideOptions(options: IPyodideOptions): IPyodideOptions {
  const resolved: IPyodideOptions = { ...options };
  for (const [key, value] of Object.entries(resolved)) {
    if (key.endsWith('URL') && typeof value === 'string') {
      resolved[key] = absolute(value);
    }
  }
  return resolved;
}

const kernels: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Registers one Pyodide kernel per lite-build environment.',
  autoStart: true,
  requires: [IKernelSpecs],
  optional: [IServiceWorkerManager, ILoggerRegistry],
  activate: (
    app: JupyterFrontEnd,
    kernelspecs: IKernelSpecs,
    serviceWorkerManager: IServiceWorkerManager | null,
    loggerRegistry: ILoggerRegistry | null,
  ): void => {
    const allSettings = JSON.parse(PageConfig.getOption('litePluginSettings') || '{}');
    const settings: ISettings | undefined = allSettings[PLUGIN_ID];
    if (!settings?.kernels?.length) {
      console.error(`${PLUGIN_ID}: jupyter-lite.json describes no environments`);
      return;
    }
    const { contents: contentsManager, sessions } = app.serviceManager;
    const pyodideUrl = absolute(settings.pyodideUrl);
    const disablePyPIFallback = !!settings.disablePyPIFallback;

    // kernel messages (such as warnings) go to the log console of the notebook using the kernel
    const logger = async (options: { payload: ILogPayload; kernelId: string }) => {
      if (!loggerRegistry) {
        return;
      }
      for (const session of sessions.running()) {
        if (session.kernel?.id === options.kernelId) {
          loggerRegistry.getLogger(session.path).log(options.payload);
          return;
        }
      }
    };

    for (const environment of settings.kernels) {
      const logo = environment.logo ? absolute(environment.logo) : DEFAULT_LOGO;
      const pipliteUrls = environment.pipliteUrls.map(absolute);
      const loadPyodideOptions = pyodideOptions(environment.loadPyodideOptions);
      kernelspecs.register({
        spec: {
          name: environment.name,
          display_name: environment.display_name,
          language: 'python',
          argv: [],
          resources: { 'logo-32x32': logo, 'logo-64x64': logo },
        },
        create: async (options: IKernel.IOptions): Promise<IKernel> => {
          const { PyodideKernel } = await import('@jupyterlite/pyodide-kernel');

          // the kernel's files reach the notebook's folder through the service worker or,
          // under cross-origin isolation, through SharedArrayBuffer
          const mountDrive = !!(serviceWorkerManager?.enabled || crossOriginIsolated);
          const prestarted = prestartedWorker(environment.name, mountDrive);

          /**
           * The stock kernel, driving the prestarted worker when there is one; a failed start
           * is said in the notebook: every cell run answers with the cause instead of staying
           * at [*] forever. (JupyterLite holds every message until ``ready`` resolves, so
           * ``ready`` resolves even then.)
           */
          class EnvironmentKernel extends PyodideKernel {
            private failure: string | null = null;

            /** Why the kernel could not start (null: it started, or is starting). */
            get startError(): string | null {
              return this.failure;
            }
            private readonly started: Promise<void>;

            constructor(kernelOptions: ConstructorParameters<typeof PyodideKernel>[0]) {
              super(kernelOptions);
              this.started = super.ready.then(
                () => undefined,
                async (reason) => {
                  const missing = await missingFiles(
                    pyodideUrl,
                    loadPyodideOptions.lockFileURL,
                  ).catch(() => null);
                  this.failure = missing ?? String(reason);
                },
              );
            }

            get ready(): Promise<void> {
              return this.started ?? super.ready;
            }

            protected initWorker(kernelOptions: StockKernel.IOptions): Worker {
              const start = {
                pyodideUrl,
                indexUrl: pyodideUrl.slice(0, pyodideUrl.lastIndexOf('/') + 1),
                loadPyodideOptions,
              };
              return (
                prestarted ??
                newKernelWorker(environment.name, start) ??
                super.initWorker(kernelOptions)
              );
            }

            async executeRequest(
              content: KernelMessage.IExecuteRequestMsg['content'],
            ): Promise<KernelMessage.IExecuteReplyMsg['content']> {
              await this.ready;
              if (this.failure === null) {
                const reply = await super.executeRequest(content);
                // the kernel names the class as "<class 'ModuleNotFoundError'>"
                if (reply.status === 'error' && reply.ename.includes('ModuleNotFoundError')) {
                  await this.explainMissingModule(reply.evalue);
                }
                return reply;
              }
              const failure = startFailure(environment.display_name, this.failure);
              const error = {
                ename: 'KernelStartError',
                evalue: failure.title,
                traceback: [failure.title, '', failure.help],
              };
              this.publishExecuteError(error, this.parentHeader);
              return { status: 'error', execution_count: this.executionCount, ...error };
            }

            /**
             * "No module named 'attrs'" while the environment ships attrs means its wheel failed
             * to load in the browser (the real cause is only in the console): say so.
             */
            private async explainMissingModule(evalue: string): Promise<void> {
              const module = /No module named '([^'.]+)/.exec(evalue)?.[1];
              const lockURL = loadPyodideOptions.lockFileURL;
              const lock = module ? await fetchLock(lockURL) : null;
              const entry: any = Object.values(lock?.packages ?? {}).find(
                (candidate: any) =>
                  Array.isArray(candidate.imports) && candidate.imports.includes(module),
              );
              if (!entry) {
                return;
              }
              const wheel = new URL(String(entry.file_name), lockURL).href;
              const response = await fetch(wheel, { method: 'HEAD', cache: 'no-store' }).catch(
                () => null,
              );
              const cause = !navigator.onLine
                ? 'this device is offline and the site was not yet fully stored for offline use'
                : response?.ok
                  ? 'see the browser console for details'
                  : `${entry.file_name.split('/').pop()} could not be downloaded (${
                      response ? `HTTP ${response.status}` : 'network error'
                    })`;
              this.stream(
                {
                  name: 'stderr',
                  text:
                    `\n${module} is part of this kernel ("${environment.display_name}", package ` +
                    `${entry.name} ${entry.version}) but could not be loaded: ${cause}. Reload ` +
                    'the page when you are online; if it keeps happening, tell the course author ' +
                    '(`lite-build check` finds missing files).\n',
                },
                this.parentHeader,
              );
            }

            /** ``call`` once the kernel started; ``fallback`` when it could not start. */
            private async whenStarted<T>(call: () => Promise<T>, fallback: T): Promise<T> {
              await this.ready;
              return this.failure === null ? call() : fallback;
            }

            // without a started kernel the other requests get empty answers, not a hang
            completeRequest(
              content: KernelMessage.ICompleteRequestMsg['content'],
            ): Promise<KernelMessage.ICompleteReplyMsg['content']> {
              const at = content.cursor_pos;
              return this.whenStarted(() => super.completeRequest(content), {
                status: 'ok',
                matches: [],
                cursor_start: at,
                cursor_end: at,
                metadata: {},
              });
            }

            inspectRequest(
              content: KernelMessage.IInspectRequestMsg['content'],
            ): Promise<KernelMessage.IInspectReplyMsg['content']> {
              return this.whenStarted(() => super.inspectRequest(content), {
                status: 'ok',
                found: false,
                data: {},
                metadata: {},
              });
            }

            isCompleteRequest(
              content: KernelMessage.IIsCompleteRequestMsg['content'],
            ): Promise<KernelMessage.IIsCompleteReplyMsg['content']> {
              return this.whenStarted(() => super.isCompleteRequest(content), {
                status: 'unknown',
              });
            }

            commInfoRequest(
              content: KernelMessage.ICommInfoRequestMsg['content'],
            ): Promise<KernelMessage.ICommInfoReplyMsg['content']> {
              return this.whenStarted(() => super.commInfoRequest(content), {
                status: 'ok',
                comms: {},
              });
            }

            commOpen(msg: KernelMessage.ICommOpenMsg): Promise<void> {
              return this.whenStarted(() => super.commOpen(msg), undefined);
            }

            commMsg(msg: KernelMessage.ICommMsgMsg): Promise<void> {
              return this.whenStarted(() => super.commMsg(msg), undefined);
            }

            commClose(msg: KernelMessage.ICommCloseMsg): Promise<void> {
              return this.whenStarted(() => super.commClose(msg), undefined);
            }
          }

          const kernel = new EnvironmentKernel({
            ...options,
            pyodideUrl,
            pipliteUrls,
            disablePyPIFallback,
            mountDrive,
            // a copy: the kernel may change what it is given
            loadPyodideOptions: structuredClone(loadPyodideOptions),
            contentsManager,
            browsingContextId: serviceWorkerManager?.browsingContextId,
            logger,
          });
          void kernel.ready.then(() => {
            if (kernel.startError === null) {
              return;
            }
            const failure = startFailure(environment.display_name, kernel.startError);
            console.error(`${failure.title}\n${failure.help}`);
            Notification.error(failure.title, {
              autoClose: false,
              actions: [{ label: 'Reload', callback: () => window.location.reload() }],
            });
          });
          if (!mountDrive) {
            const message =
              'Files written by Python are not saved to the file browser in this browser ' +
              'window (no service worker; private windows in Firefox have none). Use a ' +
              'regular window for full functionality.';
            console.warn(message);
            void kernel.ready.then(() =>
              logger({
                payload: { type: 'text', data: message, level: 'warning' },
                kernelId: options.id,
              }),
            );
          }
          return kernel;
        },
      });
    }
  },
};

export { PrecomputedSchemaValidator } from './settings';
export { risks } from './safekeeping';

export default [kernels, offline, versions, settings, safekeeping, backup];
