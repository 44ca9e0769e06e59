// lite-build: tell learners when their work is not safe in this browser.
//
// A learner's files live only in this browser's storage for the site. Browsers may clear that
// storage when the disk runs short, unless the site was granted persistent storage; a private
// window loses it when closed. At the first save of a page (not at page load: browsers grant
// persistence more readily once the page is used, and a visitor who only reads has nothing to
// keep) the site asks for persistent storage, then says once, in a notification, if the work is
// still at risk. Each warning has "Don't Show Again", remembered per site in localStorage.

import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';

import { DOWNLOAD_COMMAND } from './backup';
import { storageName } from './versions';

/** Below this quota, storage is most likely a private window's (in memory, a few hundred MB at
 * most in Chromium; Firefox and Safari private windows give even less); normal windows get a
 * share of the disk, gigabytes. A heuristic: browsers do not say a window is private. */
const PRIVATE_QUOTA_BYTES = 200 * 1024 * 1024;

/** The share of the quota from which storage counts as nearly full. */
const NEARLY_FULL = 0.9;

/** Why a learner's work is at risk; each kind is told once. */
export type Risk = 'private' | 'not-persistent' | 'nearly-full';

export const WARNINGS: Record<Risk, string> = {
  private:
    'This looks like a private window: your work here will be lost when you close it. ' +
    'Use File › Download All My Work before you close the window.',
  'not-persistent':
    'Your work is kept only in this browser, and the browser may delete it when the computer ' +
    'runs short of space. Use File › Download All My Work from time to time to keep a copy.',
  'nearly-full':
    'The space this browser gives this site is almost full: saving may soon fail. Download ' +
    'all your work (File › Download All My Work), then delete files you no longer need.',
};

export const DONT_SHOW_AGAIN = "Don't Show Again";

/** What the browser says about this site's storage. */
export interface IStorageState {
  persisted: boolean;
  usage?: number;
  quota?: number;
}

/** The risks ``state`` shows, the worst first (a private window is also not persistent). */
export function risks(state: IStorageState): Risk[] {
  const found: Risk[] = [];
  const { usage, quota } = state;
  if (!state.persisted) {
    found.push(quota !== undefined && quota < PRIVATE_QUOTA_BYTES ? 'private' : 'not-persistent');
  }
  if (usage !== undefined && quota && usage / quota >= NEARLY_FULL) {
    found.push('nearly-full');
  }
  return found;
}

/** Asks for persistent storage (once per page) and reads the quota. */
async function storageState(ask: boolean): Promise<IStorageState | null> {
  const storage = navigator.storage;
  if (!storage?.estimate) {
    return null; // not a secure context, or an old browser: nothing to go on
  }
  let persisted = (await storage.persisted?.()) ?? false;
  if (!persisted && ask && storage.persist) {
    persisted = await storage.persist();
  }
  const { usage, quota } = await storage.estimate();
  return { persisted, usage, quota };
}

class Safekeeping {
  constructor(private readonly app: JupyterFrontEnd) {
    this.key = `lite-build-quiet-warnings: ${storageName()}`;
  }

  /** Called after every save: the first asks for persistence; every one checks the space. */
  async onSaved(): Promise<void> {
    if (this.checking) {
      return; // a save while the previous check runs (autosave of several files)
    }
    this.checking = true;
    try {
      const state = await storageState(!this.asked);
      this.asked = true;
      for (const risk of state ? risks(state) : []) {
        this.warn(risk);
      }
    } finally {
      this.checking = false;
    }
  }

  private warn(risk: Risk): void {
    if (this.told.has(risk) || this.quiet().includes(risk)) {
      return;
    }
    this.told.add(risk);
    Notification.warning(WARNINGS[risk], {
      autoClose: 20_000,
      actions: [
        {
          label: 'Download All My Work',
          callback: () => void this.app.commands.execute(DOWNLOAD_COMMAND),
        },
        {
          label: DONT_SHOW_AGAIN,
          displayType: 'link',
          callback: () => this.store([...this.quiet(), risk]),
        },
      ],
    });
  }

  private quiet(): Risk[] {
    try {
      const stored = JSON.parse(localStorage.getItem(this.key) || '[]');
      return Array.isArray(stored) ? stored : [];
    } catch {
      return [];
    }
  }

  private store(quiet: Risk[]): void {
    localStorage.setItem(this.key, JSON.stringify(quiet));
  }

  private readonly key: string;
  private asked = false;
  private checking = false;
  private readonly told = new Set<Risk>();
}

export const safekeeping: JupyterFrontEndPlugin<void> = {
  id: '@lite-build/environments-extension:safekeeping',
  description:
    "Asks for persistent storage at the first save, and says when learners' work is at risk.",
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    const keeper = new Safekeeping(app);
    app.serviceManager.contents.fileChanged.connect((_, change) => {
      if (change.type === 'save') {
        void keeper.onSaved().catch((error) => console.error('lite-build safekeeping:', error));
      }
    });
  },
};
