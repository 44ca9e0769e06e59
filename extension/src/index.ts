// lite-build: one Pyodide kernel per configured environment.
//
// lite-build writes, into jupyter-lite.json, this plugin's settings: the shared Pyodide runtime
// and, per environment, its kernel spec, its own pyodide-lock.json and its own piplite index.
// Every environment is registered as a kernel spec; each kernel is the stock PyodideKernel from
// @jupyterlite/pyodide-kernel, started with that environment's lock, so environments share the
// runtime and the wheel files but not their packages.

import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';
import type { ILogPayload } from '@jupyterlab/logconsole';
import { ILoggerRegistry } from '@jupyterlab/logconsole';
import { IServiceWorkerManager } from '@jupyterlite/apputils';
import type { IKernel } from '@jupyterlite/services';
import { IKernelSpecs } from '@jupyterlite/services';
import type { PyodideKernel as StockKernel } from '@jupyterlite/pyodide-kernel';

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

/** What the page's start script (lite-build's prestart) left: a kernel worker already
 * starting the runtime of one environment, and whether the site's service worker answers its
 * requests (null while unknown). */
interface IPrestartedWorker {
  name: string;
  worker: Worker;
  controlled: boolean | null;
}

declare global {
  interface Window {
    liteBuildPrestart?: IPrestartedWorker;
  }
}

/** The prestarted worker, if it was started for ``name`` and can serve the kernel. The first
 * kernel takes it or ends it: a page keeps no idle runtime. Never waits: a kernel must exist
 * as soon as it is asked for (cells run before it is ready are queued, not dropped). */
function prestartedWorker(name: string, mountDrive: boolean): Worker | undefined {
  const prestarted = window.liteBuildPrestart;
  delete window.liteBuildPrestart;
  if (!prestarted) {
    return undefined;
  }
  // files and input() go through the service worker: the worker must be under its control
  // (browsers differ for a worker created before the service worker took the page)
  const usable = !mountDrive || prestarted.controlled === true;
  if (prestarted.name === name && !crossOriginIsolated && usable) {
    return prestarted.worker;
  }
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
          // the stock kernel, driving the prestarted worker when there is one
          class EnvironmentKernel extends PyodideKernel {
            protected initWorker(kernelOptions: StockKernel.IOptions): Worker {
              return prestarted ?? super.initWorker(kernelOptions);
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
          // a kernel that cannot start otherwise leaves no trace outside the log console
          kernel.ready.catch((error) =>
            console.error(`lite-build: the kernel ${environment.name} did not start: ${error}`),
          );
          return kernel;
        },
      });
    }
  },
};

export default [kernels];
