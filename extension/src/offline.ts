// lite-build: the page side of offline use.
//
// The service worker (lite-build-sw.js, inside JupyterLite's service-worker.js) fills the offline
// cache by itself; this plugin asks it to once the app is up (a page's message keeps the worker
// alive while it fills), looks for a newer build when the learner comes back to the tab, and says
// so when a newer build's worker has taken over the open page: the page still runs the code it
// loaded, so a reload is needed to use the new version.

import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';

/** How often, at most, a visible tab asks the host whether the site was rebuilt. */
const UPDATE_CHECK_INTERVAL_MS = 10 * 60 * 1000;

export const UPDATED_MESSAGE =
  'This site was updated. Reload the page to use the new version; your files are kept.';

function askToFill(): void {
  navigator.serviceWorker.controller?.postMessage({ type: 'lite-build-precache' });
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
      askToFill();
      const replaced = controller !== null;
      controller = workers.controller;
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
    void app.restored.then(askToFill);
  },
};
