"""Every change lite-build makes to JupyterLite's own output, each guarded.

Each patch returns what it changed; the site step fails with :func:`patch_missed` when a patch
finds nothing to change, because then the installed JupyterLite is not the release the patch
was written for and the site would silently lose the fix.
"""

from __future__ import annotations

import html
import json
import re
import textwrap
from pathlib import Path

from lite_build.errors import LiteBuildError
from lite_build.resources import browser_script, fill_script
from lite_build.site.paths import JUPYTER_LITE_JSON
from lite_build.site.prestart import KERNEL_APPS, MARKER, PAGE_SCRIPT, prestart_settings

#: coincident (bundled by the kernel) calls .then on Atomics.waitAsync(...).value, which is a
#: plain string when the wait settles synchronously: under cross-origin isolation that makes
#: cells hang at random. Normalise it to always be a promise, before coincident reads it.
WAIT_ASYNC_SHIM = browser_script("wait-async-shim.js")


def dedupe_disabled_extensions(app_dir: Path) -> None:
    """jupyterlite-core merges a rebuild's settings into the previous build's, appending lists:
    ``disabledExtensions`` would grow by one copy per rebuild. Keep each entry once, in order."""
    for path in [app_dir / JUPYTER_LITE_JSON, *sorted(app_dir.glob(f"*/{JUPYTER_LITE_JSON}"))]:
        if not path.is_file():
            continue
        config = json.loads(path.read_text(encoding="utf-8"))
        data = config.get("jupyter-config-data", {})
        disabled = data.get("disabledExtensions")
        if isinstance(disabled, list) and len(set(disabled)) < len(disabled):
            data["disabledExtensions"] = list(dict.fromkeys(disabled))
            path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def patch_wait_async(site: Path) -> list[Path]:
    """Prepend :data:`WAIT_ASYNC_SHIM` to every shipped script that captures Atomics.waitAsync."""
    patched = []
    for script in sorted((site / "extensions").rglob("*.js")):
        text = script.read_text(encoding="utf-8")
        if "waitAsync" in text and "Atomics" in text and not text.startswith(WAIT_ASYNC_SHIM):
            script.write_text(WAIT_ASYNC_SHIM + text, encoding="utf-8")
            patched.append(script)
    return patched


def apply_title(site: Path, title: str) -> list[Path]:
    """Show the site's title in the browser tab while an app loads (each app then sets its own);
    the pages that have a title to set."""
    escaped = html.escape(title)
    titled = []
    for page in sorted(site.glob("*/index.html")):
        text = page.read_text(encoding="utf-8")
        retitled, count = re.subn(
            r"<title>[^<]*</title>", lambda _: f"<title>{escaped}</title>", text, count=1
        )
        if count:
            titled.append(page)
        if retitled != text:
            page.write_text(retitled, encoding="utf-8")
    return titled


def install_prestart(site: Path) -> list[Path]:
    """Put the page script at the top of each kernel app's page; returns the pages changed."""
    body = textwrap.indent(fill_script(PAGE_SCRIPT, SETTINGS=prestart_settings(site)), "      ")
    script = f"<script>\n{body}    </script>\n"
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


#: JupyterLite 0.8 unregisters every service worker on each page load that finds one (it stores
#: the broadcast channel's name where it means its own version, and also unregisters when no
#: version is stored yet). Offline, registering again fails and the next reload finds no worker
#: at all. Fixed: store the version, unregister only when a stored version differs.
_VERSION_MARKER = re.compile(
    r'(console\.info\("All existing service workers have been unregistered\."\)\}'
    r"localStorage\.setItem\(\w+,)(\w+)\)"
)
_APP_VERSION = re.compile(r'(\w+)=\w+\.PageConfig\.getOption\("appVersion"\)')
_UNREGISTER_TEST = re.compile(r"if\((\w+)&&\1!==(\w+)\|\|!\1\)")


def _app_bundles_with(site: Path, name: str) -> list[tuple[Path, str]]:
    """The app's bundles (``build/*.js``) whose code mentions ``name``, with their text."""
    found = []
    for script in sorted((site / "build").glob("*.js")):
        text = script.read_text(encoding="utf-8")
        if name in text:
            found.append((script, text))
    return found


def keep_worker_registered(site: Path) -> list[Path]:
    """Fix JupyterLite's worker version check in the app bundles that carry it; the patched files.

    A bundle whose code does not look as expected (another JupyterLite version) is left alone.
    """
    patched = []
    for script, text in _app_bundles_with(site, "_unregisterOldServiceWorkers"):
        marker = _VERSION_MARKER.findall(text)
        version = _APP_VERSION.findall(text)
        test = _UNREGISTER_TEST.findall(text)
        if len(marker) == 1 and len(version) == 1 and len(test) == 1 and test[0][1] == version[0]:
            fixed = _VERSION_MARKER.sub(rf"\g<1>{version[0]})", text)
            fixed = _UNREGISTER_TEST.sub(lambda m: f"if({m[1]}&&{m[1]}!=={m[2]})", fixed)
            script.write_text(fixed, encoding="utf-8")
            patched.append(script)
    return patched


#: JupyterLite 0.8 cancels every queued execution when an execution fails, even one sent with
#: ``stop_on_error: false`` (JupyterLab sends that for a cell tagged raises-exception), so Run
#: All stops at a cell that fails on purpose. Fixed as the messaging spec says: the kernels
#: service notes the requests that asked not to stop (``_KEEP_QUEUE``) and an error reply to
#: one of them cancels nothing.
_KEEP_QUEUE = "this._liteBuildKeepQueue"
_CANCEL_ON_ERROR = re.compile(
    r'"execute_reply"===(\w+)\.header\.msg_type(&&"error"===\1\.content\.status'
    r'&&"interrupt"!==\1\.metadata\.cause&&\(this\._cancelReason\.set\((\w+),"error"\),'
    r"\3\.cancel\(\)\))"
)
_HANDLE_REQUEST = re.compile(r"(let \w+=async (\w+)=>\{)(try\{await (\w+)\.runExclusive\()")


def _note_keep_queue(handler: re.Match[str]) -> str:
    """The service's request handler, noting each execute request sent without stop_on_error."""
    request = handler[2]
    note = (
        f'"execute_request"==={request}.header.msg_type&&!1==={request}.content.stop_on_error'
        f"&&({_KEEP_QUEUE}||({_KEEP_QUEUE}=new Set)).add({request}.header.msg_id);"
    )
    return handler[1] + note + handler[3]


def _cancel_unless_kept(cancel: re.Match[str]) -> str:
    """The cancel on an error reply, skipped (and the note dropped) for a noted request."""
    reply = cancel[1]
    kept = f"{_KEEP_QUEUE}&&{_KEEP_QUEUE}.delete({reply}.parent_header.msg_id)"
    return f'"execute_reply"==={reply}.header.msg_type&&!({kept}){cancel[2]}'


def keep_queue_unless_stop_on_error(site: Path) -> list[Path]:
    """Make a failed execution cancel the queued ones only when its request had stop_on_error;
    the bundles patched. A bundle whose code does not look as expected is left alone."""
    patched = []
    for script, text in _app_bundles_with(site, "_cancelReason"):
        cancels = _CANCEL_ON_ERROR.findall(text)
        handlers = _HANDLE_REQUEST.findall(text)
        # one cancel and one handler, on the same kernel's queue (its mutex)
        if len(cancels) == 1 and len(handlers) == 1 and cancels[0][2] == handlers[0][3]:
            fixed = _HANDLE_REQUEST.sub(_note_keep_queue, text)
            fixed = _CANCEL_ON_ERROR.sub(_cancel_unless_kept, fixed)
            script.write_text(fixed, encoding="utf-8")
            patched.append(script)
    return patched


def patch_missed(patch: str, finding: str) -> LiteBuildError:
    """The error for a patch of JupyterLite's output that found nothing to change."""
    return LiteBuildError(
        f"{patch} no longer applies to JupyterLite's output ({finding}): the installed "
        "jupyterlite-core or jupyterlite-pyodide-kernel is not a version lite-build supports; "
        "reinstall lite-build with its own requirements (pip install lite-build)"
    )


def apply(site: Path, *, title: str) -> None:
    """The patches of an assembled site's JupyterLite app, each checked to still apply."""
    if not patch_wait_async(site):
        raise patch_missed("the Atomics.waitAsync fix", "no script uses Atomics.waitAsync")
    if not apply_title(site, title):
        raise patch_missed("the site's title", "no app page has a <title>")
    # the kernel's runtime starts while the app boots (see prestart.py)
    if not install_prestart(site):
        raise patch_missed("the early kernel start", "no app page to start a kernel from")
    if not keep_queue_unless_stop_on_error(site):
        raise patch_missed(
            "the fix of Run All over cells tagged raises-exception",
            "no app bundle cancels queued executions on an error the way JupyterLite 0.8 does",
        )


def apply_offline(site: Path) -> None:
    """The patch the offline service worker needs (before precache.install_precache, which
    lists every file's hash)."""
    if not keep_worker_registered(site):
        raise patch_missed(
            "the service worker's version fix",
            "no app bundle unregisters old service workers the way JupyterLite 0.8 does",
        )
