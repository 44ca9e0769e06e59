// lite-build's start script of an app page: starts the kernel's runtime while the app loads.
//
// lite-build (lite_build/site/patches.py) puts it at the top of the page of each app that runs
// kernels, before any bundle, with SETTINGS replaced by the site's settings as JSON
// (lite_build/site/prestart.py). The extension then adopts the worker it starts for the first
// kernel of the same environment, or ends it (../index.ts).

import {
  MESSAGE,
  type FromKernelWorker,
  type FromServiceWorker,
  type IPrestartedWorker,
  type ToKernelWorker,
  type ToServiceWorker,
} from '../protocol';

/** What lite-build writes in place of SETTINGS (URLs are relative to the site root). */
interface IPrestartSettings {
  /** the environment to start when the URL names no `?kernel=`: the site's default kernel */
  name: string;
  pyodideUrl: string;
  /** lite-build's kernel worker (prestart.worker.ts) */
  worker: string;
  /** the stock kernel worker module it wraps, with messages or (`isolatedKernel`) with
   * SharedArrayBuffer */
  kernel: string;
  isolatedKernel: string;
  /** each environment's Pyodide options, by environment name */
  environments: Record<string, Record<string, unknown>>;
  /** the app's service worker, exactly as the app registers it; null without one */
  serviceWorker: string | null;
}

declare const SETTINGS: IPrestartSettings;

((settings: IPrestartSettings): void => {
  if (typeof Worker !== 'function') return;
  // an app page is <site>/<app>/index.html (or <app>/): the site root is one level up
  if (window.location.pathname.match(/(index.html|\/?)$/) == null) return;
  const root = new URL('..', window.location.href);
  const url = new URL(settings.worker, root);
  // the stock kernel talks to its worker with SharedArrayBuffer when the page is
  // cross-origin isolated, else with messages: each way has its own worker module
  const isolated = window.crossOriginIsolated === true;
  const kernel = new URL(isolated ? settings.isolatedKernel : settings.kernel, root).href;
  // where every kernel of the page runs (see ../index.ts)
  window.liteBuildKernelWorker = { worker: url.href, kernel: kernel };
  const container = navigator.serviceWorker;
  if (isolated || !container || container.controller) {
    // isolated, input() and the files go through SharedArrayBuffer, not the service
    // worker: the kernel's worker need not wait for it
    start();
  } else if (settings.serviceWorker && window.isSecureContext) {
    // a first visit: no service worker controls the page yet, and a worker started now
    // would stay outside it (input() and the files need it). Register the app's own
    // service worker now (the app registers the same URL once it has booted, which then
    // changes nothing) and start as soon as it controls the page, unless the app has
    // asked for its kernel by then
    const once = () => {
      container.removeEventListener('controllerchange', once);
      if (!window.liteBuildKernelAsked) start();
    };
    container.addEventListener('controllerchange', once);
    container.register(new URL(settings.serviceWorker, root).href).catch((error) => {
      console.warn('lite-build: could not register the service worker early', error);
    });
  }

  function start(): void {
    const name = new URLSearchParams(window.location.search).get('kernel') || settings.name;
    const environment = settings.environments[name];
    if (!environment) return;
    const pyodideUrl = new URL(settings.pyodideUrl, root).href;
    const options: Record<string, unknown> = {};
    Object.keys(environment).forEach((key) => {
      const value = environment[key];
      const isUrl = /URL$/.test(key) && typeof value === 'string';
      options[key] = isUrl ? new URL(value, root).href : value;
    });
    try {
      const worker = new Worker(url, { type: 'module' });
      worker.postMessage({
        type: MESSAGE.prestart,
        kernel: kernel,
        options: {
          pyodideUrl: pyodideUrl,
          indexUrl: pyodideUrl.slice(0, pyodideUrl.lastIndexOf('/') + 1),
          loadPyodideOptions: options,
        },
      } satisfies ToKernelWorker);
      const state: IPrestartedWorker = { name: name, worker: worker, controlled: null };
      window.liteBuildPrestart = state;
      // the kernel can use this worker only if the service worker controls it: ask the
      // service worker (lite-build's precache answers at once) and the worker itself
      // (it answers when Python lets it)
      const heartbeat = new URL('/api/service-worker-heartbeat', window.location.href).href;
      const ask = () => {
        worker.postMessage({ type: MESSAGE.probe, url: heartbeat } satisfies ToKernelWorker);
        const controller = navigator.serviceWorker.controller;
        if (controller) {
          controller.postMessage({ type: MESSAGE.workers } satisfies ToServiceWorker);
        }
      };
      const answer = (event: MessageEvent) => {
        const data = (event.data || {}) as FromKernelWorker | FromServiceWorker;
        if (data.type === MESSAGE.runtime) {
          state.runtime = data; // how the runtime started, for the kernel to report
        } else if (data.type === MESSAGE.probe && state.controlled !== true) {
          state.controlled = !!data.ok;
        } else if (data.type === MESSAGE.workers && state.controlled !== true) {
          state.controlled = data.urls.indexOf(url.href) >= 0;
        }
      };
      worker.addEventListener('message', answer);
      if (container) {
        container.addEventListener('message', answer);
        if (container.controller) ask();
        container.addEventListener('controllerchange', ask);
      }
    } catch (error) {
      console.warn('lite-build: could not start the kernel early', error);
    }
  }
})(SETTINGS);
