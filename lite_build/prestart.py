"""Starting the kernel's Python runtime while the app loads.

JupyterLab takes seconds to boot before it asks for a kernel, and only then does the kernel's
worker start compiling Pyodide, loading the kernel's packages and importing IPython. A small
script at the top of each app page that runs kernels starts a kernel worker at once, for the
environment the page most likely needs (the REPL's ``?kernel=``, else the site's default
kernel), so both happen side by side. Our extension adopts that worker for the first kernel of
the same environment, or ends it (see extension/src/prestart.worker.ts and src/index.ts).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lite_build.errors import LiteBuildError
from lite_build.kernel import ENVIRONMENTS_EXTENSION, KERNELS_PLUGIN_ID
from lite_build.precache import SERVICE_WORKER

#: the apps whose pages start kernels
KERNEL_APPS = ("lab", "notebooks", "repl", "consoles")
MARKER = "lite-build:prestart"

#: the page script: runs before any bundle loads; ``SETTINGS`` is filled in at build time
PAGE_SCRIPT = """<script>
      /* lite-build:prestart -- start the kernel's runtime while the app loads */
      (function (settings) {
        if (typeof Worker !== "function") return;
        // an app page is <site>/<app>/index.html (or <app>/): the site root is one level up
        if (window.location.pathname.match(/(index.html|\\/?)$/) == null) return;
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
    </script>
"""


def prestart_settings(site: Path) -> dict[str, Any]:
    """What the page script needs, from the site's jupyter-lite.json and our extension's files."""
    config = json.loads((site / "jupyter-lite.json").read_text(encoding="utf-8"))
    data = config["jupyter-config-data"]
    plugin = data["litePluginSettings"][KERNELS_PLUGIN_ID]
    static = site / "extensions" / ENVIRONMENTS_EXTENSION / "static"
    return {
        "name": data.get("defaultKernelName") or plugin["kernels"][0]["name"],
        "pyodideUrl": plugin["pyodideUrl"],
        "worker": _one_file(site, static, "prestart.worker.*.js"),
        "kernel": _one_file(site, static, "comlink.worker.*.js"),
        "isolatedKernel": _one_file(site, static, "coincident.worker.*.js"),
        "environments": {
            kernel["name"]: kernel["loadPyodideOptions"] for kernel in plugin["kernels"]
        },
        "serviceWorker": service_worker_url(site, data),
    }


def service_worker_url(site: Path, data: dict[str, Any]) -> str | None:
    """The URL JupyterLite's ServiceWorkerManager registers its worker with (relative to the
    site root), exactly: registering it early must not make a second registration."""
    if not (site / SERVICE_WORKER).is_file():
        return None
    cache = data.get("enableServiceWorkerCache")
    # the app reads the option with PageConfig.getOption(...) || "false"
    flag = "true" if cache is True else str(cache) if cache else "false"
    return f"./{SERVICE_WORKER}?enableCache={flag}"


def _one_file(site: Path, folder: Path, pattern: str) -> str:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise LiteBuildError(
            f"the lite-build JupyterLab extension in {folder} should hold exactly one "
            f"{pattern} file, found {len(found)}; rebuild it (scripts/setup.sh)"
        )
    return "./" + found[0].relative_to(site).as_posix()


def install_prestart(site: Path) -> list[Path]:
    """Put the page script at the top of each kernel app's page; returns the pages changed."""
    settings = json.dumps(prestart_settings(site), sort_keys=True).replace("</", "<\\/")
    script = PAGE_SCRIPT.replace("SETTINGS", settings)
    changed = []
    for app in KERNEL_APPS:
        page = site / app / "index.html"
        if not page.is_file():
            continue
        text = page.read_text(encoding="utf-8")
        if MARKER in text:
            continue
        head = text.find("<head>")
        if head < 0:
            raise LiteBuildError(f"{page} has no <head>; cannot add the kernel start script")
        at = head + len("<head>")
        page.write_text(f"{text[:at]}\n    {script}{text[at:]}", encoding="utf-8")
        changed.append(page)
    return changed
