// lite-build: what passes between separately loaded scripts, declared once.
//
// A lite-build page runs code from several scripts that are built and loaded apart: the page's
// start script (standalone/prestart-page.ts), the JupyterLab extension (index.ts, offline.ts),
// the kernel's worker (standalone/prestart.worker.ts) and the site's service worker
// (standalone/precache-worker.ts). They talk by messages whose `type` names them, and through a
// few globals. Every sender and receiver imports the names and the types from here.
//
// Senders check what they post with `satisfies` (`postMessage({...} satisfies ToKernelWorker)`);
// receivers read `event.data` as the union of what may arrive, and switch on its `type`.
//
// The constants (not the types) are also written to lite_build/browser/protocol.json at build
// time (build-browser.js), where lite-build's Python side reads them (lite_build/resources.py).

/** The `type` of every message. */
export const MESSAGE = {
  /** page -> kernel worker: start the runtime now (IPrestart) */
  prestart: 'lite-build:prestart',
  /** page -> kernel worker, and its answer: does the service worker see its requests
   * (IProbe, IProbeAnswer) */
  probe: 'lite-build:probe',
  /** kernel worker -> page: the runtime is ready, and how it started (IRuntimeReady) */
  runtime: 'lite-build:runtime',
  /** page -> service worker, and its answer: fill the offline cache (IPrecacheRequest,
   * IPrecacheState) */
  precache: 'lite-build-precache',
  /** page -> service worker, and its answer: which workers it controls
   * (IWorkersRequest, IWorkersAnswer) */
  workers: 'lite-build-workers',
} as const;

/** Every offline cache's name starts with it (then the build's version and the site's folder). */
export const CACHE_PREFIX = 'lite-build-precache-';

/** The global that lite-build (lite_build/site/precache.py) sets in front of the service
 * worker's code: `self.LITE_BUILD_PRECACHE = {...};` (an IPrecacheList). */
export const PRECACHE_GLOBAL = 'LITE_BUILD_PRECACHE';

// ---- the kernel's worker ------------------------------------------------------------------

/** What a kernel worker's runtime starts from, as the stock kernel passes it to its worker. */
export interface IRuntimeOptions {
  pyodideUrl: string;
  indexUrl: string;
  loadPyodideOptions: Record<string, unknown>;
}

/** page -> kernel worker: start the runtime for `options`, in the stock kernel worker module at
 * URL `kernel` (the first message the worker gets). */
export interface IPrestart {
  type: typeof MESSAGE.prestart;
  kernel: string;
  options: IRuntimeOptions;
}

/** page -> kernel worker: fetch the service worker's heartbeat `url`. */
export interface IProbe {
  type: typeof MESSAGE.probe;
  url: string;
}

/** kernel worker -> page: whether the heartbeat answered (then the service worker sees the
 * worker's requests: input() and the drive work). */
export interface IProbeAnswer {
  type: typeof MESSAGE.probe;
  ok: boolean;
}

/** kernel worker -> page: how its runtime started, once it is ready. */
export interface IRuntimeReady {
  type: typeof MESSAGE.runtime;
  from: 'snapshot' | 'start';
  seconds: number;
  /** why not from a snapshot ('' when it was) */
  reason: string;
  /** when each step was done, in seconds since the start: snapshot (fetched and inflated),
   * runtime (the packages loaded too), imports */
  steps: Record<string, number>;
  /** the snapshot's URL when this start went without it (a first visit over a network): the
   * page asks the offline cache to keep it, for the next visits */
  later?: string;
}

/** What the page posts to a kernel worker, besides the stock kernel's own messages. */
export type ToKernelWorker = IPrestart | IProbe;
/** What a kernel worker posts to the page, besides the stock kernel's own messages. */
export type FromKernelWorker = IProbeAnswer | IRuntimeReady;

// ---- the service worker -------------------------------------------------------------------

/** page -> service worker: fill the offline cache (a page that asks also keeps the worker
 * alive while it fills). */
export interface IPrecacheRequest {
  type: typeof MESSAGE.precache;
  /** on-demand files (URLs) to keep too, after the site's files: the snapshots of the kernels
   * that started without theirs */
  keep?: string[];
}

/** service worker -> page: the answer to IPrecacheRequest, once the cache is complete or the
 * filling stopped (e.g. offline: `complete: false`); also posted to every page on completion. */
export interface IPrecacheState {
  type: typeof MESSAGE.precache;
  version: string;
  complete: boolean;
  cached: number;
  total: number;
  /** files whose bytes from the server did not match this build's list (not stored): the
   * site was rebuilt while the cache filled, or the host changes what it serves */
  refused: string[];
}

/** page -> service worker: which workers do you control? */
export interface IWorkersRequest {
  type: typeof MESSAGE.workers;
}

/** service worker -> page: the URLs of the workers it controls. */
export interface IWorkersAnswer {
  type: typeof MESSAGE.workers;
  urls: string[];
}

/** What a page posts to the service worker, besides JupyterLite's own messages. */
export type ToServiceWorker = IPrecacheRequest | IWorkersRequest;
/** What the service worker posts to pages, besides JupyterLite's own messages. */
export type FromServiceWorker = IPrecacheState | IWorkersAnswer;

/** The site's files the service worker keeps, as lite-build lists them for one build. */
export interface IPrecacheList {
  /** the build's version: a hash of every listed file */
  version: string;
  /** fetched in the background once a page asks (site paths, such as `lab/index.html`) */
  files: string[];
  /** of `files`, those taken from the network first when it answers */
  fresh: string[];
  /** kept only once a page fetched them (a kernel's snapshot) */
  onDemand?: string[];
  /** every file of `files` and `onDemand` -> [its SHA-256 in hex, its size in bytes]: the
   * worker stores and serves no other bytes under its name */
  integrity: Record<string, [string, number]>;
}

// ---- the page's globals -------------------------------------------------------------------

/** What the page's start script left: a kernel worker already starting the runtime of one
 * environment, and whether the site's service worker answers its requests (null while
 * unknown). */
export interface IPrestartedWorker {
  name: string;
  worker: Worker;
  controlled: boolean | null;
  /** the worker's runtime message, once its runtime is ready */
  runtime?: IRuntimeReady;
}

declare global {
  interface Window {
    /** set by the page's start script; taken (or ended) by the first kernel */
    liteBuildPrestart?: IPrestartedWorker;
    /** lite-build's kernel worker and the stock worker module it wraps (set by the page's
     * start script): every kernel runs in it, so every kernel can start from a snapshot */
    liteBuildKernelWorker?: { worker: string; kernel: string };
    /** set when the first kernel is created: the page script then starts no runtime */
    liteBuildKernelAsked?: boolean;
  }
}
