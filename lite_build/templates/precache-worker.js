/* lite-build precache: the whole site stays usable offline after the first visit.
 *
 * Imported at the top of JupyterLite's service-worker.js, so this file's listeners run first:
 * one worker per scope. GET requests for files of this build are answered from a cache named
 * after the build's content hash; everything else (stdin, drive sync, heartbeat) falls through
 * to JupyterLite's own handlers untouched.
 *
 * The cache fills in the background, one file at a time and only while the page has no request
 * of its own in flight, so the first visit (starting the kernel) never waits for it. Files the
 * page fetches anyway are kept as they pass. When the cache is complete, caches of earlier
 * builds are deleted: a new build replaces the cache instead of mixing versions.
 *
 * A page learns the state by posting `{type: "lite-build-precache"}` to its controller: the
 * worker answers `{type, version, complete, cached, total}` once the cache is complete (or the
 * filling stopped, e.g. offline: `complete: false`). Completion is also posted to every page.
 *
 * Expects `self.LITE_BUILD_PRECACHE = {version, files}` to be defined before it.
 */
(() => {
  "use strict";
  const PRECACHE = self.LITE_BUILD_PRECACHE;
  const PREFIX = "lite-build-precache-";
  const CACHE = PREFIX + PRECACHE.version;
  const BASE = new URL("./", self.location.href);
  const FILES = new Set(PRECACHE.files);
  const MATCH = { ignoreVary: true, ignoreSearch: true };

  let foreground = 0; // the page's own network requests in flight
  let waiters = [];
  const filling = new Map(); // path -> promise of the background fetch storing it
  let fill = null;

  function keyFor(path) {
    return new URL(path.split("/").map(encodeURIComponent).join("/"), BASE).href;
  }

  /** The site path ("lab/index.html") a URL asks for, or null when it is not a shipped file. */
  function sitePath(url) {
    if (url.origin !== BASE.origin || !url.pathname.startsWith(BASE.pathname)) return null;
    let path;
    try {
      path = decodeURIComponent(url.pathname.slice(BASE.pathname.length));
    } catch (error) {
      return null;
    }
    if (path === "" || path.endsWith("/")) path += "index.html";
    return FILES.has(path) ? path : null;
  }

  function quiet() {
    return foreground === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
  }

  function storable(response) {
    return response.ok && response.status === 200 && response.type === "basic" && !response.redirected;
  }

  async function respond(event, path) {
    const request = event.request;
    const cache = await caches.open(CACHE);
    let cached = await cache.match(keyFor(path), MATCH);
    if (!cached && filling.has(path)) {
      await filling.get(path).catch(() => null);
      cached = await cache.match(keyFor(path), MATCH);
    }
    if (cached) return cached;
    foreground += 1;
    try {
      const response = await fetch(request);
      // stored while the page already reads the response: no wait for the whole body
      if (storable(response)) event.waitUntil(cache.put(keyFor(path), response.clone()));
      return response;
    } finally {
      foreground -= 1;
      if (foreground === 0) {
        const ready = waiters;
        waiters = [];
        ready.forEach((resolve) => resolve());
      }
    }
  }

  async function fillCache() {
    const cache = await caches.open(CACHE);
    const present = new Set((await cache.keys()).map((request) => request.url));
    for (const path of PRECACHE.files) {
      const key = keyFor(path);
      if (present.has(key)) continue;
      await quiet();
      if (await cache.match(key, MATCH)) continue;
      const stored = fetch(key, { cache: "no-cache" }).then((response) => {
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
    const names = await caches.keys();
    await Promise.all(
      names.filter((name) => name.startsWith(PREFIX) && name !== CACHE).map((name) => caches.delete(name)),
    );
    const done = await status(true);
    const clients = await self.clients.matchAll({ includeUncontrolled: true });
    clients.forEach((client) => client.postMessage(done));
    return done;
  }

  async function status(complete) {
    const cached = (await (await caches.open(CACHE)).keys()).length;
    return { type: "lite-build-precache", version: PRECACHE.version, complete, cached, total: FILES.size };
  }

  function startFill() {
    if (!fill) {
      fill = fillCache().catch((error) => {
        // offline or a changed server: try again on the next request
        console.warn("lite-build precache incomplete:", error);
        fill = null;
        return status(false);
      });
    }
    return fill;
  }

  self.addEventListener("fetch", (event) => {
    const request = event.request;
    if (request.method !== "GET") return;
    const path = sitePath(new URL(request.url));
    if (path === null) return;
    event.stopImmediatePropagation();
    event.respondWith(respond(event, path));
    event.waitUntil(startFill());
  });

  self.addEventListener("message", (event) => {
    if (!event.data || event.data.type !== "lite-build-precache") return;
    const client = event.source;
    event.waitUntil(startFill().then((state) => client && client.postMessage(state)));
  });

  // A page asks which of its workers this service worker controls: a kernel worker started
  // before the service worker took the page (lite-build's prestart) may or may not have been
  // claimed with it, depending on the browser, and input() and the drive need it controlled.
  self.addEventListener("message", (event) => {
    if (!event.data || event.data.type !== "lite-build-workers") return;
    const client = event.source;
    event.waitUntil(
      self.clients.matchAll({ type: "worker" }).then((workers) => {
        if (client) client.postMessage({ type: "lite-build-workers", urls: workers.map((w) => w.url) });
      })
    );
  });
})();
