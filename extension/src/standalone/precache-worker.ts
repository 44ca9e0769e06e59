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
// background, four files at a time and only while the page has no request of its own in flight;
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
// complete, caches of earlier builds are deleted (the on-demand files they kept that are this
// build's too are carried over first): a new build replaces the cache instead of mixing
// versions. Until then, offline requests this build's cache cannot answer fall back to an
// earlier build's cache for the files the rebuild did not change, so the site keeps working
// offline during the hand-over as far as it can without mixing builds.
//
// Only this build's bytes. The build lists each file's SHA-256 and size (IPrecacheList's
// `integrity`), and the worker checks every response against them before storing it: a file the
// server changed since this worker was installed (the site was rebuilt while the cache filled)
// is refused, not stored, and reported to the page (IPrecacheState's `refused`); the filling goes
// on, stays incomplete, and the worker asks the host for the newer build's worker. So a cache
// never holds a new lock next to old wheels. Nor does serving trust the cache: any script of the
// same origin (another site in another folder of the host, an HTML file in the content, kernel
// code through `js.caches`) can write into CacheStorage, and IndexedDB is no safer, so there is
// no place to keep "verified" that such a script could not forge. Every cache hit is hashed
// again before it is served; an entry that does not match is deleted and the file comes from
// the network (measured in Chromium on 2 CPUs: SHA-256 of the whole default site, 50 MB, takes
// about 0.1 s, spread over the files a page loads; see docs/serving.md). An earlier build's cache
// (the hand-over below) answers only with bytes that are this build's file too, i.e. files the
// rebuild left unchanged: two builds never mix, even offline.
//
// Hand-written, not Workbox: Workbox's precache checks a file at most when it downloads it
// (`integrity`, via the browser's subresource integrity) and serves its cache as it finds it,
// fills in the install event (the first visit's start would compete with the download of the
// whole site) and has no network-first-with-timeout for content or files kept on demand; what
// is left here is that policy, which Workbox would need as much code for.
//
// JupyterLite's worker skips waiting and claims open pages, so a new build's worker takes over
// at the first visit after the rebuild. A page learns the state by posting an IPrecacheRequest
// to its controller: the worker answers with an IPrecacheState once the cache is complete (or
// the filling stopped, e.g. offline: `complete: false`). Completion is also posted to every page
// (the messages are declared in ../protocol.ts).
//
// Files listed "on demand" (each environment's kernel snapshot) are served and kept the same way,
// but never fetched in the background unless a page asks: only the kernels a visitor starts need
// theirs. A kernel whose first start went without its snapshot (a first visit over a network:
// see prestart.worker.ts) has its page ask for it (IPrecacheRequest's `keep`): it is fetched
// after the site's files, for the next visits.
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
import { sha256Hex } from './digest';

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
// how many files the filling fetches at once: each file costs a few round trips (the cache
// look-up, the request, the hash, the store), which one at a time left the link idle (a
// 560-file site took 26 s on loopback); four leave the page two of the browser's six
// connections per host
const FILL_LANES = 4;
// Each file has one key in the cache, its own URL without a query (keyFor), looked up exactly:
// an entry stored under another URL (the same path with a query, put there by some other
// script) is never found for it. A request's query string is dropped when it is mapped to the
// site's file (sitePath): on a static site it never selects another file (lite-build's servers
// and static hosts ignore it), and the app adds its own only against HTTP caches
// (`service-worker.js?enableCache=false`, webpack's chunk versions) or for the page's script
// (`repl/index.html?kernel=...&code=...`), so the cached file is the one the host would serve.
const MATCH: CacheQueryOptions = { ignoreVary: true };
const INTEGRITY = PRECACHE.integrity;

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
/** the files whose bytes from the server were not this build's (see the top) */
const refused = new Set<string>();

/** Whether `bytes` are this build's file `path`: its size, then its SHA-256. */
async function isThisBuilds(path: string, bytes: ArrayBuffer): Promise<boolean> {
  const [sha256, size] = INTEGRITY[path];
  return bytes.byteLength === size && (await sha256Hex(bytes)) === sha256;
}

/** `response` (from the network) stored as `path` when its bytes are this build's; else refused
 * and reported. Stored as the bytes that were checked, not streamed, so they cannot differ. */
async function put(cache: Cache, path: string, response: Response): Promise<boolean> {
  const bytes = await response.arrayBuffer();
  if (!(await isThisBuilds(path, bytes))) {
    if (!refused.has(path)) {
      refused.add(path);
      console.warn(
        `lite-build precache: the server's ${path} is not this build's (rebuilt?); not kept`,
      );
      // a rebuild made a new worker: look for it now, not at the next visit
      void self.registration.update().catch(() => undefined);
    }
    return false;
  }
  refused.delete(path);
  const { status, statusText, headers } = response;
  await cache.put(keyFor(path), new Response(bytes, { status, statusText, headers }));
  return true;
}

/** `path` from `cache`, only when its bytes are this build's `path`. Checked at every hit, as
 * anything else on this origin may have written the entry (see the top); a foreign entry in
 * this build's own cache (`own`) is deleted, so the filling fetches the file again. */
async function verified(cache: Cache, path: string, own: boolean): Promise<Response | undefined> {
  const response = await cache.match(keyFor(path), MATCH);
  if (!response) return undefined;
  // the copy is read and checked; the cache's own response is served (and keeps its body)
  if (await isThisBuilds(path, await response.clone().arrayBuffer())) return response;
  if (own) {
    console.warn(`lite-build precache: the cached ${path} is not this build's; dropped`);
    await cache.delete(keyFor(path), MATCH);
  }
  return undefined;
}

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

/** `path` from this build's cache, else (e.g. offline during a hand-over) from an earlier
 * one's when the rebuild left that file as it was: always this build's bytes. */
async function cached(path: string, anyBuild: boolean): Promise<Response | undefined> {
  const cache = await caches.open(CACHE);
  if (filling.has(path)) await filling.get(path)!.catch(() => null);
  const response = await verified(cache, path, true);
  if (response || !anyBuild) return response;
  for (const name of await caches.keys()) {
    if (isEarlierBuild(name)) {
      const earlier = await verified(await caches.open(name), path, false);
      if (earlier) return earlier;
    }
  }
  return undefined;
}

/** Stored while the page already reads the response: no wait for the whole body. The page
 * gets the response as the host sent it (as it would without this worker); it is kept only
 * when its bytes are this build's. */
function keep(event: FetchEvent, path: string, response: Response): Response {
  if (storable(response)) {
    // cloned now: once the page reads the response, its body can no longer be cloned
    const copy = response.clone();
    event.waitUntil(caches.open(CACHE).then((cache) => put(cache, path, copy)));
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
 * began; checked when served); fetched by the URL the page used for it, if the page asked.
 * Whether the cache holds it now (false: the server's bytes were not this build's). */
async function store(cache: Cache, present: Set<string>, path: string): Promise<boolean> {
  const key = keyFor(path);
  if (present.has(key)) return true;
  await quiet();
  if (await cache.match(key, MATCH)) return true;
  const stored = fetch(passed.get(path) || key, { cache: 'no-cache' }).then((response) => {
    if (!storable(response)) throw new Error(`${path}: HTTP ${response.status}`);
    return put(cache, path, response);
  });
  filling.set(path, stored.then(() => undefined));
  try {
    return await stored;
  } finally {
    filling.delete(path);
  }
}

async function fillCache(): Promise<IPrecacheState> {
  const cache = await caches.open(CACHE);
  const present = new Set((await cache.keys()).map((request) => request.url));
  let complete = true;
  const queue = [...PRECACHE.files];
  const lane = async () => {
    for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
      if (await store(cache, present, path)) kept.add(path);
      else complete = false; // the others are still worth keeping: each is this build's
    }
  };
  await Promise.all(Array.from({ length: FILL_LANES }, lane));
  if (!complete) return status(false);
  direct = false;
  await carryOver(cache);
  const names = await caches.keys();
  await Promise.all(names.filter(isEarlierBuild).map((name) => caches.delete(name)));
  const done = await status(true);
  const clients = await self.clients.matchAll({ includeUncontrolled: true });
  clients.forEach((client) => client.postMessage(done));
  return done;
}

/** The on-demand files (kernel snapshots) that earlier builds' caches kept and that are this
 * build's too (the rebuild left their environment alone), into this build's cache before the
 * earlier caches go: a kernel that restored from its snapshot before the rebuild still does,
 * offline too, without a second download. */
async function carryOver(cache: Cache): Promise<void> {
  for (const path of PRECACHE.onDemand || []) {
    if (await cache.match(keyFor(path), MATCH)) continue;
    const earlier = await cached(path, true);
    if (earlier) await cache.put(keyFor(path), earlier);
  }
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
    refused: [...refused],
  } satisfies FromServiceWorker;
}

function startFill(): Promise<IPrecacheState> {
  if (!fill) {
    fill = fillCache()
      .catch((error) => {
        console.warn('lite-build precache incomplete:', error);
        return status(false);
      })
      .then((state) => {
        // offline, or files refused (a rebuilt site): try again on the next request
        if (!state.complete) fill = null;
        return state;
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

/** The on-demand files a page asks to keep (the snapshots of kernels that started without
 * theirs), once the site's files are: never before what a visit needs offline. */
async function keepOnDemand(urls: string[]): Promise<void> {
  const cache = await caches.open(CACHE);
  for (const url of urls) {
    const path = sitePath(new URL(url, BASE));
    if (path === null || FILES.has(path)) continue;
    // bytes that are not this build's are refused and reported by `put`, as for the others
    await store(cache, new Set(), path).catch((error) => {
      console.warn('lite-build precache: could not keep', path, error);
    });
  }
}

self.addEventListener('message', (event) => {
  const data = event.data as ToServiceWorker | undefined;
  if (!data || data.type !== MESSAGE.precache) return;
  const client = event.source;
  event.waitUntil(
    startFill().then(async (state) => {
      if (state.complete) await keepOnDemand(data.keep ?? []);
      if (client) client.postMessage(state);
    }),
  );
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
