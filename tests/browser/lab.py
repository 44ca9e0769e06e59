"""Driving a built site in Chromium the way a student would."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any
from urllib.parse import quote

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

#: a kernel start is ~15 s on a 2-CPU machine; leave room for a loaded CI host
KERNEL_TIMEOUT_MS = 180_000

#: the texts of the outputs that mean a cell failed, but for the errors named in the argument
#: (exception names, as a cell tagged raises-exception expects). JupyterLab renders a cell's
#: error as stderr (data-mime-type application/vnd.jupyter.stderr, as text on stderr is): what
#: tells them apart is IPython's traceback, which names the cell ("Cell In[3], line 1", a
#: syntax error too) or heads its frames "ValueError   Traceback (most recent call last)" (a
#: traceback printed on stderr, by a kernel's start-up code say, ends that line with a colon)
ERRORS = r"""(allowed) => [...document.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
    .map((node) => node.innerText)
    .filter((text) => /Cell In\[\d+\], line \d+|\w\s+Traceback \(most recent call last\)$/m
        .test(text))
    .filter((text) => !allowed.some((name) => new RegExp(`^${name}: `, "m").test(text)))"""


def wait_for_text_or_error(
    page: Any, text: str, *, timeout: int, polling: int = 250, allowed: tuple[str, ...] = ()
) -> None:
    """Wait until an output contains ``text``; fail at once, with the error, if a cell fails
    with an error not named in ``allowed``."""
    page.wait_for_function(
        f"""([text, allowed]) => ({ERRORS})(allowed).length > 0
             || [...document.querySelectorAll('.jp-OutputArea-output')]
                  .some((node) => node.innerText.includes(text))""",
        arg=[text, list(allowed)],
        timeout=timeout,
        polling=polling,
    )
    errors = "\n".join(page.evaluate(ERRORS, list(allowed)))
    assert not errors, f"a cell failed while waiting for {text!r}:\n{errors}"


#: scrolls the current notebook to its top: a notebook reopened scrolled down can leave its first
#: cell's prompt under the notebook's toolbar, which then takes the click
TO_TOP = """() => document
    .querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')
    ?.scrollTo(0, 0)"""


def select_first_cell(page: Any) -> None:
    """Select the current notebook's first cell (command mode), so that key presses and menu
    commands go to that notebook."""
    page.evaluate(TO_TOP)
    notebook = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
    try:
        page.locator(f"{notebook} .jp-Cell .jp-InputArea-prompt").first.click(timeout=15_000)
    except PlaywrightTimeoutError:
        # still covered (a notebook opened beside another is narrow, its toolbar wraps): focus
        # the notebook itself, which puts it in command mode on its active cell; the first of
        # the notebooks shown, as the click aims at
        page.locator(notebook).first.focus()


#: how often a notebook's tab is clicked to make it current, and how long each click may take
TAB_ATTEMPTS = 3
TAB_WAIT_MS = 20_000


def open_notebook(page: Any, base_url: str, path: str) -> None:
    """Open ``path`` in JupyterLab (``?path=``) and make it the current document."""
    url = f"{base_url}lab/index.html?path={quote(path)}"
    page.goto(url)
    name = path.rsplit("/", 1)[-1]
    # the notebook must be the current document before menu commands are aimed at it; on a
    # page that had other notebooks open, JupyterLab's restoring of its layout may make one
    # of those current after ?path= opened this one: its tab is then clicked, as a student would
    tab_label = f'.lm-TabBar-tabLabel:text-is("{name}")'
    label = f".lm-DockPanel {tab_label}"
    page.wait_for_selector(label, timeout=KERNEL_TIMEOUT_MS)
    current = f".lm-DockPanel .lm-TabBar-tab.lm-mod-current {tab_label}"
    for _ in range(TAB_ATTEMPTS):
        if page.locator(current).count():
            break
        if not page.locator(label).count():
            # gone again with the restoring (seen once on a shared page): opened again
            page.goto(url)
            page.wait_for_selector(label, timeout=KERNEL_TIMEOUT_MS)
        # the restoring may take the tab back after the click: then it is clicked again
        with contextlib.suppress(PlaywrightTimeoutError):
            page.locator(label).click(timeout=TAB_WAIT_MS)
            page.wait_for_selector(current, timeout=TAB_WAIT_MS)
    page.wait_for_selector(current, timeout=TAB_WAIT_MS)
    select_first_cell(page)


#: the current notebook's kernel, as its toolbar names it once it has a session
KERNEL_NAMED = """() => [...document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar-kernelName')]
    .some((node) => node.innerText.trim() && !/no kernel/i.test(node.innerText))"""


def run_all_cells(page: Any) -> None:
    """Run All in the current notebook, once it has its kernel: before that, JupyterLab
    drops the cells it is asked to run (a student would click again)."""
    page.wait_for_function(KERNEL_NAMED, timeout=KERNEL_TIMEOUT_MS, polling=100)
    page.click('.lm-MenuBar-itemLabel:text-is("Run")')
    page.click('.lm-Menu-itemLabel:text-is("Run All Cells")')


def console_line(page: Any, lines: list[str], text: str) -> str:
    """The console line of the page holding ``text``: one already recorded in ``lines``, or
    the next the page logs."""
    found = [line for line in lines if text in line]
    if found:
        return found[0]
    message = page.wait_for_event(
        "console", predicate=lambda message: text in message.text, timeout=KERNEL_TIMEOUT_MS
    )
    return str(message.text)


def answer_input(page: Any, answer: str) -> None:
    box = page.wait_for_selector(".jp-Stdin-input", timeout=KERNEL_TIMEOUT_MS)
    box.fill(answer)
    box.press("Enter")


#: starts a look through the origin's caches and says what the previous look found (a predicate
#: for wait_for_function, which takes an async function's pending promise as true at once)
CACHED = """(suffix) => {
    window.liteBuildTestCached = window.liteBuildTestCached || {};
    caches.keys().then(async (names) => {
        for (const name of names) {
            const keys = await (await caches.open(name)).keys();
            if (keys.some((request) => request.url.endsWith(suffix))) {
                window.liteBuildTestCached[suffix] = true;
            }
        }
    });
    return window.liteBuildTestCached[suffix] === true;
}"""


def wait_until_cached(page: Any, suffix: str) -> None:
    """Wait until one of the page's caches holds a URL ending in ``suffix``."""
    page.wait_for_function(CACHED, arg=suffix, timeout=KERNEL_TIMEOUT_MS, polling=250)


def wait_for_output(
    page: Any, text: str, *, timeout: int = KERNEL_TIMEOUT_MS, allowed: tuple[str, ...] = ()
) -> None:
    """Wait until an output contains ``text``; fail at once, with the error, if a cell fails
    (but for the errors named in ``allowed``, exception names such as ``"NameError"``)."""
    wait_for_text_or_error(page, text, timeout=timeout, allowed=allowed)


def outputs_text(page: Any) -> str:
    texts: list[str] = page.eval_on_selector_all(
        ".jp-OutputArea-output", "nodes => nodes.map(node => node.innerText)"
    )
    return "\n".join(texts)


def run_notebook(
    page: Any,
    base_url: str,
    path: str,
    done: str,
    *,
    answer: str | None = None,
    allowed: tuple[str, ...] = (),
    from_file_browser: bool = False,
) -> str:
    """Open ``path`` in JupyterLab, run every cell (Run All), answer input() if asked; return
    the outputs once one contains ``done``. A cell's error fails at once, but for the errors
    named in ``allowed`` (the exception names of the cells tagged raises-exception).

    ``from_file_browser``: when the page shows this site's JupyterLab already, open ``path``
    (in the top folder) from its file browser, as a student opens one lesson after another;
    loading the page again would reopen every notebook open before, each starting its kernel
    again."""
    if from_file_browser and page.url.startswith(f"{base_url}lab/"):
        show_tab(page, path)
    else:
        open_notebook(page, base_url, path)
    run_all_cells(page)
    if answer is not None:
        answer_input(page, answer)
    wait_for_output(page, done, allowed=allowed)
    return outputs_text(page)


def run_in_repl(
    page: Any, base_url: str, code: str, expected: str, *, kernel: str = "python"
) -> str:
    page.goto(f"{base_url}repl/index.html?kernel={quote(kernel)}&code={quote(code)}")
    wait_for_text_or_error(page, expected, timeout=KERNEL_TIMEOUT_MS)
    return outputs_text(page)


def console_json(
    page: Any,
    base_url: str,
    kernel: str,
    code: str,
    marker: str,
    *,
    answer: str | None = None,
    timeout: int = KERNEL_TIMEOUT_MS,
) -> Any:
    """Run ``code`` in a new console on ``kernel`` (answering one ``input()`` if given) and
    return the JSON it prints between ``{marker}-BEGIN`` and ``{marker}-END``; fail with the
    outputs if it prints none (a cell error ends the wait at once)."""
    start_console(page, base_url, kernel, code)
    if answer is not None:
        answer_input(page, answer)
    return console_result(page, kernel, marker, timeout=timeout)


def start_console(page: Any, base_url: str, kernel: str, code: str) -> None:
    """Open a new console on ``kernel`` that runs ``code`` once the kernel has started."""
    page.goto(f"{base_url}repl/index.html?kernel={quote(kernel)}&code={quote(code)}")


def console_result(page: Any, kernel: str, marker: str, *, timeout: int) -> Any:
    """The JSON a console's code prints between ``{marker}-BEGIN`` and ``{marker}-END``, once
    it has (see :func:`console_json`)."""
    wait_for_text_or_error(page, f"{marker}-END", timeout=timeout, polling=500)
    found = re.search(f"{marker}-BEGIN(.*?){marker}-END", outputs_text(page), re.S)
    assert found, f"no result from kernel {kernel!r}:\n{outputs_text(page)[-3000:]}"
    return json.loads(found.group(1))


def show_tab(page: Any, name: str) -> None:
    """Open notebook ``name`` from the file browser of the page as it is (or bring its tab to
    front if it is open already), and make it current."""
    item = page.locator(".jp-DirListing-item").filter(
        has=page.locator(".jp-DirListing-itemText").get_by_text(name, exact=True)
    )
    item.wait_for(timeout=KERNEL_TIMEOUT_MS)
    item.dblclick()
    tab = page.locator(".lm-DockPanel .lm-TabBar-tabLabel").get_by_text(name, exact=True)
    tab.wait_for(timeout=KERNEL_TIMEOUT_MS)
    tab.click()
    select_first_cell(page)


def edit_and_save(page: Any, text: str) -> None:
    """Type ``text`` at the end of the current notebook's first code cell, then save."""
    edit(page, text)
    save(page)


def edit(page: Any, text: str) -> None:
    """Type ``text`` at the end of the current notebook's first code cell."""
    editor = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .cm-content").first
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type(f"  {text}")
    page.keyboard.press("Escape")


def save(page: Any) -> None:
    page.keyboard.press("Control+s")
    page.wait_for_selector(
        ".lm-DockPanel .lm-TabBar-tab.lm-mod-current:not(.jp-mod-dirty)", timeout=30_000
    )


def file_names(page: Any) -> list[str]:
    names: list[str] = page.eval_on_selector_all(
        ".jp-DirListing-itemText", "nodes => nodes.map((node) => node.innerText)"
    )
    return names
