// lite-build: the page side of offline use.
//
// The service worker (standalone/precache-worker.ts, loaded by JupyterLite's service-worker.js)
// fills the offline cache when a page asks (a page's message also keeps the worker alive while
// it fills). This plugin asks once the page has started: the app restored and the page's kernel
// runtime ready, so that on a first visit the filling (a download of the whole site) does not
// compete with the start for the CPU and the network. It also looks for a newer build when the
// learner comes back to the tab, and says so when a newer build's worker has taken over the open
// page: the page still runs the code it loaded, so a reload is needed to use the new version.

import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';

import {
  MESSAGE,
  type FromKernelWorker,
  type IRuntimeReady,
  type ToServiceWorker,
} from './protocol';

/** How often, at most, a visible tab asks the host whether the site was rebuilt. */
const UPDATE_CHECK_INTERVAL_MS = 10 * 60 * 1000;

export const UPDATED_MESSAGE =
  'This site was updated. Reload the page to use the new version; your files are kept.';

/** The longest a page waits for its kernel's runtime before the filling starts anyway (a kernel
 * that failed to start, or one that is never asked for). */
const START_WAIT_MS = 20 * 1000;

/** The snapshots of this page's kernels that started without theirs (a first visit over a
 * network): the offline cache keeps them, after the site's files, for the next visits. */
const later = new Set<string>();
let asked = false;

function askToFill(): void {
  asked = true;
  const workers = navigator.serviceWorker;
  if (!workers) return;
  const ask = () => {
    const request = { type: MESSAGE.precache, keep: [...later] } satisfies ToServiceWorker;
    workers.controller?.postMessage(request);
  };
  if (workers.controller) {
    ask();
  } else {
    // a first visit whose page started before the worker took it (a page without a kernel
    // starts at once): asked once it has, else the request was lost and the cache never filled
    workers.addEventListener('controllerchange', ask, { once: true });
  }
}

let runtimeReady: () => void = () => undefined;
const runtimeReadyPromise = new Promise<void>((resolve) => {
  runtimeReady = resolve;
});

/** Called when a kernel runtime of this page is ready (see index.ts): the page has started. */
export function kernelRuntimeReady(ready?: IRuntimeReady): void {
  if (ready?.later && !later.has(ready.later)) {
    later.add(ready.later);
    if (asked) {
      askToFill(); // a kernel that started after the filling began
    }
  }
  runtimeReady();
}

/** Once the page has started: the app restored, then its kernel's runtime ready when a kernel is
 * starting (the page script's early start, or a kernel the app asked for). */
async function started(app: JupyterFrontEnd): Promise<void> {
  await app.restored;
  const prestart = window.liteBuildPrestart;
  if (prestart?.runtime) {
    kernelRuntimeReady(prestart.runtime);
    return;
  }
  prestart?.worker.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as FromKernelWorker | undefined;
    if (data?.type === MESSAGE.runtime) {
      kernelRuntimeReady(data);
    }
  });
  if (!prestart && !window.liteBuildKernelAsked) {
    return; // a page without a kernel (the file browser)
  }
  await Promise.race([
    runtimeReadyPromise,
    new Promise((resolve) => setTimeout(resolve, START_WAIT_MS)),
  ]);
}

async function checkForUpdate(): Promise<void> {
  const registration = await navigator.serviceWorker.getRegistration();
  // offline, or the host is unreachable: the next check will do
  await registration?.update().catch(() => undefined);
}

export const offline: JupyterFrontEndPlugin<void> = {
  id: '@lite-build/environments-extension:offline',
  description: 'Fills the offline cache after start and says when a newer build took over.',
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    const workers = navigator.serviceWorker;
    if (!workers) {
      return; // e.g. Firefox private windows: the site works, but not offline
    }
    // JupyterLite's worker claims open pages as soon as it activates (on a first visit, the
    // page that registered it), and a worker is only replaced when a rebuild changed the site
    let controller = workers.controller;
    let told = false;
    workers.addEventListener('controllerchange', () => {
      const replaced = controller !== null;
      controller = workers.controller;
      if (replaced) {
        askToFill(); // a newer build's worker: its cache fills at once
      }
      if (replaced && !told) {
        told = true;
        Notification.info(UPDATED_MESSAGE, {
          autoClose: false,
          actions: [{ label: 'Reload', callback: () => window.location.reload() }],
        });
      }
    });
    let lastCheck = Date.now();
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && Date.now() - lastCheck > UPDATE_CHECK_INTERVAL_MS) {
        lastCheck = Date.now();
        void checkForUpdate();
      }
    });
    void started(app).then(askToFill);
  },
};
