/* lite-build:prestart -- start the kernel's runtime while the app loads */
(function (settings) {
  if (typeof Worker !== "function") return;
  // an app page is <site>/<app>/index.html (or <app>/): the site root is one level up
  if (window.location.pathname.match(/(index.html|\/?)$/) == null) return;
  var root = new URL("..", window.location.href);
  var url = new URL(settings.worker, root);
  // the stock kernel talks to its worker with SharedArrayBuffer when the page is
  // cross-origin isolated, else with messages: each way has its own worker module
  var isolated = window.crossOriginIsolated === true;
  var kernel = new URL(isolated ? settings.isolatedKernel : settings.kernel, root).href;
  // where every kernel of the page runs (see extension/src/index.ts)
  window.liteBuildKernelWorker = { worker: url.href, kernel: kernel };
  var container = navigator.serviceWorker;
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
    var once = function () {
      container.removeEventListener("controllerchange", once);
      if (!window.liteBuildKernelAsked) start();
    };
    container.addEventListener("controllerchange", once);
    container.register(new URL(settings.serviceWorker, root).href).catch(function (error) {
      console.warn("lite-build: could not register the service worker early", error);
    });
  }

  function start() {
    var name = new URLSearchParams(window.location.search).get("kernel") || settings.name;
    var environment = settings.environments[name];
    if (!environment) return;
    var pyodideUrl = new URL(settings.pyodideUrl, root).href;
    var options = {};
    Object.keys(environment).forEach(function (key) {
      var value = environment[key];
      var isUrl = /URL$/.test(key) && typeof value === "string";
      options[key] = isUrl ? new URL(value, root).href : value;
    });
    try {
      var worker = new Worker(url, { type: "module" });
      worker.postMessage({ type: "lite-build:prestart", kernel: kernel, options: {
        pyodideUrl: pyodideUrl,
        indexUrl: pyodideUrl.slice(0, pyodideUrl.lastIndexOf("/") + 1),
        loadPyodideOptions: options
      } });
      var state = { name: name, worker: worker, controlled: null };
      window.liteBuildPrestart = state;
      // the kernel can use this worker only if the service worker controls it: ask the
      // service worker (lite-build's precache answers at once) and the worker itself
      // (it answers when Python lets it)
      var heartbeat = new URL("/api/service-worker-heartbeat", window.location.href).href;
      var ask = function () {
        worker.postMessage({ type: "lite-build:probe", url: heartbeat });
        var controller = navigator.serviceWorker.controller;
        if (controller) controller.postMessage({ type: "lite-build-workers" });
      };
      var answer = function (event) {
        var data = event.data || {};
        if (data.type === "lite-build:runtime") {
          state.runtime = data; // how the runtime started, for the kernel to report
        } else if (data.type === "lite-build:probe" && state.controlled !== true) {
          state.controlled = !!data.ok;
        } else if (data.type === "lite-build-workers" && state.controlled !== true) {
          state.controlled = data.urls.indexOf(url.href) >= 0;
        }
      };
      worker.addEventListener("message", answer);
      if (container) {
        container.addEventListener("message", answer);
        if (container.controller) ask();
        container.addEventListener("controllerchange", ask);
      }
    } catch (error) {
      console.warn("lite-build: could not start the kernel early", error);
    }
  }
})(SETTINGS);
