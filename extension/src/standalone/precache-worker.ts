// lite-build precache: the whole site stays usable offline after the first visit.
//
// Imported at the top of JupyterLite's service-worker.js, so this file's listeners run first:
// one worker per scope. GET requests for files of this build are answered by this worker;
// everything else (stdin, drive sync, heartbeat) falls through to JupyterLite's own handlers.
//
// Two kinds of files:
// - "fresh" files (pages, jupyter-lite.json, the content and its index) come from the network
//   when it answers within a few seconds, else from the cache: an online reload always shows
//   the author's latest content, even before a new build's worker takes over;
// - every other file (the app, the runtime, the wheels) comes from the cache when present.
//   They are consistent among themselves: a lock and its wheels never mix two builds.
//
// The cache is named after the build's content hash and the site's folder. It fills in the
// background, one file at a time and only while the page has no request of its own in flight;
// files the page fetches anyway are kept as they pass. Filling starts only when a page asks: the
// app's pages ask once they have started (their kernel's runtime included; see ../offline.ts),
// so a first visit's start never shares the CPU and the network with the filling.
//
// A first visit (this worker was just installed and no build's cache is here) goes further:
// until the cache is complete, this worker leaves the page's requests for precached files it
// has not stored yet to the browser, instead of streaming each response through itself into
// the cache. On a 2-CPU machine that took about a second from the first start. The browser's
// HTTP cache keeps those files, and the filling asks for the very URLs the page asked for: it
// revalidates them instead of downloading them again. On-demand files are still kept as they
// pass: a kernel snapshot is larger than what a browser's HTTP cache may keep. Once the cache is
// complete, caches of earlier builds are deleted: a new build replaces the cache instead of
// mixing versions. Until then, offline requests this build's cache cannot answer fall back to an
// earlier build's cache, so the site keeps working offline during the hand-over.
//
// JupyterLite's worker skips waiting and claims open pages, so a new build's worker takes over
// at the first visit after the rebuild. A page learns the state by posting an IPrecacheRequest
// to its controller: the worker answers with an IPrecacheState once the cache is complete (or
// the filling stopped, e.g. offline: `complete: false`). Completion is also posted to every page
// (the messages are declared in ../protocol.ts).
//
// Files listed "on demand" (each environment's kernel snapshot) are served and kept the same way,
// but never fetched in the background: only the kernels a visitor starts need theirs.
//
// lite-build (lite_build/site/precache.py) writes this script as lite-build-sw.js, after a line
// that sets the build's list of files: `self.LITE_BUILD_PRECACHE = {...};` (PRECACHE_GLOBAL, an
// IPrecacheList). Type checked as a service worker (tsconfig.worker.json).

import {
  CACHE_PREFIX,
  MESSAGE,
  PRECACHE_GLOBAL,
  type FromServiceWorker,
  type IPrecacheList,
  type IPrecacheState,
  type ToServiceWorker,
} from '../protocol';

declare const self: ServiceWorkerGlobalScope & { [PRECACHE_GLOBAL]: IPrecacheList };

const PRECACHE = self[PRECACHE_GLOBAL];
const BASE = new URL('./', self.location.href);
// the site's folder in every name: two sites on one host keep their caches apart
const SCOPE = ' ' + BASE.pathname;
const CACHE = CACHE_PREFIX + PRECACHE.version + SCOPE;
const isEarlierBuild = (name: string) =>
  name.startsWith(CACHE_PREFIX) && name.endsWith(SCOPE) && name !== CACHE;
const FILES = new Set(PRECACHE.files);
const SERVED = new Set([...PRECACHE.files, ...(PRECACHE.onDemand || [])]);
const FRESH = new Set(PRECACHE.fresh);
// how long a fresh file waits for the network before the cached copy is used (a classroom
// network that hangs must not hang the site)
const NETWORK_TIMEOUT_MS = 4000;
const MATCH: CacheQueryOptions = { ignoreVary: true, ignoreSearch: true };

let foreground = 0; // the page's own network requests in flight
let waiters: (() => void)[] = [];
/** path -> promise of the background fetch storing it */
const filling = new Map<string, Promise<void>>();
let fill: Promise<IPrecacheState> | null = null;
// a first visit: until the cache is complete, requests for precached files it does not
// hold yet go straight to the network (see above). The URLs they asked for, by path, for the
// filling to ask for the same; the files the filling has stored (all the cache holds of them)
let direct = false;
const passed = new Map<string, string>();
const kept = new Set<string>();

function keyFor(path: string): string {
  return new URL(path.split('/').map(encodeURIComponent).join('/'), BASE).href;
}

/** The site path ("lab/index.html") a URL asks for, or null when it is not a shipped file. */
function sitePath(url: URL): string | null {
  if (url.origin !== BASE.origin || !url.pathname.startsWith(BASE.pathname)) return null;
  let path;
  try {
    path = decodeURIComponent(url.pathname.slice(BASE.pathname.length));
  } catch {
    return null;
  }
  if (path === '' || path.endsWith('/')) path += 'index.html';
  return SERVED.has(path) ? path : null;
}

function quiet(): Promise<void> {
  return foreground === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
}

function storable(response: Response): boolean {
  return (
    response.ok && response.status === 200 && response.type === 'basic' && !response.redirected
  );
}

function foregroundFetch(request: Request): Promise<Response> {
  foreground += 1;
  return fetch(request).finally(() => {
    foreground -= 1;
    if (foreground === 0) {
      const ready = waiters;
      waiters = [];
      ready.forEach((resolve) => resolve());
    }
  });
}

/** `path` from this build's cache, else (e.g. offline during a hand-over) an earlier one's. */
async function cached(path: string, anyBuild: boolean): Promise<Response | undefined> {
  const cache = await caches.open(CACHE);
  let response = await cache.match(keyFor(path), MATCH);
  if (!response && filling.has(path)) {
    await filling.get(path)!.catch(() => null);
    response = await cache.match(keyFor(path), MATCH);
  }
  if (response || !anyBuild) return response;
  for (const name of await caches.keys()) {
    if (isEarlierBuild(name)) {
      response = await (await caches.open(name)).match(keyFor(path), MATCH);
      if (response) return response;
    }
  }
  return undefined;
}

/** Stored while the page already reads the response: no wait for the whole body. */
function keep(event: FetchEvent, path: string, response: Response): Response {
  if (storable(response)) {
    // cloned now: once the page reads the response, its body can no longer be cloned
    const copy = response.clone();
    event.waitUntil(caches.open(CACHE).then((cache) => cache.put(keyFor(path), copy)));
  }
  return response;
}

async function cacheFirst(event: FetchEvent, path: string): Promise<Response> {
  const hit = await cached(path, false);
  if (hit) return hit;
  try {
    return keep(event, path, await foregroundFetch(event.request));
  } catch (error) {
    const earlier = await cached(path, true);
    if (earlier) return earlier;
    throw error;
  }
}

async function networkFirst(event: FetchEvent, path: string): Promise<Response> {
  const network = foregroundFetch(event.request).then((response) => keep(event, path, response));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, NETWORK_TIMEOUT_MS);
  });
  try {
    const response = await Promise.race([network, late]);
    if (response) return response;
  } catch {
    // offline: the cached copy below
  } finally {
    clearTimeout(timer);
  }
  const hit = await cached(path, true);
  return hit || network;
}

/** `path` into `cache` unless it holds it (`present`: what it held when the filling
 * began); fetched by the URL the page used for it, if the page asked. */
async function store(cache: Cache, present: Set<string>, path: string): Promise<void> {
  const key = keyFor(path);
  if (present.has(key)) return;
  await quiet();
  if (await cache.match(key, MATCH)) return;
  const stored = fetch(passed.get(path) || key, { cache: 'no-cache' }).then((response) => {
    if (!storable(response)) throw new Error(`${path}: HTTP ${response.status}`);
    return cache.put(key, response);
  });
  filling.set(path, stored);
  try {
    await stored;
  } finally {
    filling.delete(path);
  }
}

async function fillCache(): Promise<IPrecacheState> {
  const cache = await caches.open(CACHE);
  const present = new Set((await cache.keys()).map((request) => request.url));
  for (const path of PRECACHE.files) {
    await store(cache, present, path);
    kept.add(path);
  }
  direct = false;
  const names = await caches.keys();
  await Promise.all(names.filter(isEarlierBuild).map((name) => caches.delete(name)));
  const done = await status(true);
  const clients = await self.clients.matchAll({ includeUncontrolled: true });
  clients.forEach((client) => client.postMessage(done));
  return done;
}

async function status(complete: boolean): Promise<IPrecacheState> {
  const keys = await (await caches.open(CACHE)).keys();
  const cached = keys.filter((request) => FILES.has(sitePath(new URL(request.url))!)).length;
  return {
    type: MESSAGE.precache,
    version: PRECACHE.version,
    complete,
    cached,
    total: FILES.size,
  } satisfies FromServiceWorker;
}

function startFill(): Promise<IPrecacheState> {
  if (!fill) {
    fill = fillCache().catch((error) => {
      // offline or a changed server: try again on the next request
      console.warn('lite-build precache incomplete:', error);
      fill = null;
      return status(false);
    });
  }
  return fill;
}

// installed here, for the first time: no cache of this build or an earlier one. Fetch events
// come only once the install has finished, so `direct` is settled by then; a worker that
// restarts later was not installed in that run and answers every request itself.
self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.keys().then((names) => {
      direct = !names.some((name) => name === CACHE || isEarlierBuild(name));
    }),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const path = sitePath(new URL(request.url));
  if (path === null) return;
  event.stopImmediatePropagation();
  if (direct && FILES.has(path) && !kept.has(path)) {
    passed.set(path, request.url);
    return; // not answered: the browser fetches it itself
  }
  event.respondWith(FRESH.has(path) ? networkFirst(event, path) : cacheFirst(event, path));
});

self.addEventListener('message', (event) => {
  const data = event.data as ToServiceWorker | undefined;
  if (!data || data.type !== MESSAGE.precache) return;
  const client = event.source;
  event.waitUntil(startFill().then((state) => client && client.postMessage(state)));
});

// A page asks which of its workers this service worker controls: a kernel worker started
// before the service worker took the page (lite-build's prestart) may or may not have been
// claimed with it, depending on the browser, and input() and the drive need it controlled.
self.addEventListener('message', (event) => {
  const data = event.data as ToServiceWorker | undefined;
  if (!data || data.type !== MESSAGE.workers) return;
  const client = event.source;
  event.waitUntil(
    self.clients.matchAll({ type: 'worker' }).then((workers) => {
      if (client) {
        const urls = workers.map((worker) => worker.url);
        client.postMessage({ type: MESSAGE.workers, urls } satisfies FromServiceWorker);
      }
    }),
  );
});
