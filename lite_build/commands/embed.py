"""Paste-ready HTML that puts a REPL or a notebook of the site into a course page.

The snippets need no script: by default the iframe first shows a light placeholder written
inline (``srcdoc``) whose "Run"/"Open" link navigates that same iframe to the site, so a page
with ten embeds boots no kernel until a learner asks for one. Learning platforms that strip
``<script>`` and ``on*`` attributes keep them working.
"""

from __future__ import annotations

import difflib
import html
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from lite_build.config import SiteConfig
from lite_build.errors import LiteBuildError
from lite_build.files import as_site_path
from lite_build.resources import browser_script, fill_script
from lite_build.site.content import collect_content

#: JupyterLab theme names by the short names the CLI accepts
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
#: what the REPL app reads from its URL (JupyterLite 0.8's repl-extension)
REPL_PARAMETERS = (
    "kernel",
    "code",
    "execute",
    "toolbar",
    "theme",
    "showBanner",
    "hideCodeInput",
    "promptCellPosition",
    "clearCellsOnExecute",
    "clearCodeContentOnExecute",
)
DEFAULT_HEIGHT = "420px"


@dataclass(frozen=True)
class ReplOptions:
    code: str = ""
    kernel: str | None = None
    execute: bool = True
    theme: str | None = None
    toolbar: bool = False
    banner: bool = True


def normalise_site_url(url: str) -> str:
    """An http(s) folder address ending with "/", or a clear error."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LiteBuildError(
            f"--url: {url!r} is not a web address; give the address the site is served at, "
            "such as https://example.org/course/"
        )
    return url if url.endswith("/") else url + "/"


def theme_name(theme: str | None) -> str | None:
    if theme is None:
        return None
    return THEMES.get(theme.lower(), theme)


def repl_url(site_url: str, options: ReplOptions) -> str:
    """The REPL app's address with its settings in the query string."""
    query: list[tuple[str, str]] = []
    if options.kernel:
        query.append(("kernel", options.kernel))
    if options.toolbar:
        query.append(("toolbar", "1"))
    theme = theme_name(options.theme)
    if theme:
        query.append(("theme", theme))
    if not options.banner:
        query.append(("showBanner", "0"))
    if options.code:
        query.append(("code", options.code))
        if not options.execute:
            query.append(("execute", "0"))
    suffix = f"?{urlencode(query, quote_via=quote)}" if query else ""
    return f"{site_url}repl/index.html{suffix}"


def notebook_url(site_url: str, path: str) -> str:
    """A notebook of the content, alone in Jupyter Notebook's single-document view."""
    return f"{site_url}notebooks/index.html?{urlencode({'path': path}, quote_via=quote)}"


def _placeholder(target: str, label: str, title: str, preview: str) -> str:
    """The inline document shown until the learner clicks (no script: a link to ``target``)."""
    preview_block = (
        f'<pre style="margin:0;padding:12px 14px;background:#fff;border:1px solid #d0d7de;'
        f"border-radius:6px;max-height:60%;overflow:auto;font:13px/1.45 ui-monospace,monospace;"
        f'color:#1f2328;white-space:pre-wrap">{html.escape(preview)}</pre>'
        if preview
        else ""
    )
    return (
        '<!doctype html><meta charset="utf-8">'
        '<body style="margin:0;height:100vh;display:flex;flex-direction:column;gap:12px;'
        "justify-content:center;align-items:center;padding:16px;box-sizing:border-box;"
        'background:#f6f8fa;font:15px system-ui,sans-serif;color:#1f2328">'
        f'<div style="font-weight:600">{html.escape(title)}</div>'
        f"{preview_block}"
        f'<a href="{html.escape(target)}" target="_self" '
        'style="display:inline-block;padding:9px 22px;border-radius:6px;background:#1f6feb;'
        'color:#fff;text-decoration:none;font-weight:600">'
        f"{html.escape(label)}</a>"
        '<div style="font-size:12px;color:#57606a">Python runs in your browser; '
        "nothing to install.</div></body>"
    )


def iframe(
    target: str,
    *,
    title: str,
    label: str,
    preview: str = "",
    height: str = DEFAULT_HEIGHT,
    eager: bool = False,
) -> str:
    """One self-contained ``<iframe>``: a click-to-start placeholder unless ``eager``."""
    parts = urlsplit(target)
    origin = f"{parts.scheme}://{parts.netloc}"
    # the placeholder is inline (no origin of its own), so permissions name the site's origin
    allow = f"clipboard-read {origin}; clipboard-write {origin}; fullscreen {origin}"
    attributes = [
        f'title="{html.escape(title)}"',
        f'allow="{html.escape(allow)}"',
        "allowfullscreen",
        f'style="width:100%;height:{html.escape(height)};border:1px solid #d0d7de;'
        'border-radius:6px"',
    ]
    if eager:
        attributes.insert(0, f'src="{html.escape(target)}"')
        attributes.append('loading="lazy"')
    else:
        attributes.insert(0, f'srcdoc="{html.escape(_placeholder(target, label, title, preview))}"')
    return f"<iframe {' '.join(attributes)}></iframe>"


def repl_snippet(
    site_url: str, options: ReplOptions, *, height: str = DEFAULT_HEIGHT, eager: bool = False
) -> str:
    target = repl_url(site_url, options)
    label = "▶ Run" if options.code and options.execute else "▶ Start Python"
    snippet = iframe(
        target,
        title="Python console",
        label=label,
        preview=options.code,
        height=height,
        eager=eager,
    )
    return f"<!-- lite-build: a Python console -->\n{snippet}\n"


def notebook_snippet(
    site_url: str, path: str, *, height: str = "640px", eager: bool = False
) -> str:
    target = notebook_url(site_url, path)
    name = path.rsplit("/", 1)[-1]
    snippet = iframe(
        target, title=f"Notebook {name}", label="Open the notebook", height=height, eager=eager
    )
    return f"<!-- lite-build: the notebook {html.escape(path)} -->\n{snippet}\n"


#: stands for the site's address in ``embed.html``; the page swaps in its real address
SITE_TOKEN = "https://lite-build-site.invalid/"
#: ``embed.html``'s script, which does the swap (extension/src/standalone/embed-page.ts)
EMBED_SCRIPT = browser_script("embed-page.js")


def embed_page(title: str, notebooks: list[str], kernel: str | None) -> str:
    """``embed.html``: a sample course page showing each embed style with the site's content.

    The snippets are written for :data:`SITE_TOKEN`; a few lines of script replace it with the
    page's own address, so the shown HTML is paste-ready wherever the site is hosted.
    """
    examples: list[tuple[str, str, str]] = [
        (
            "A console that runs code on click",
            "lite-build embed --repl --code \"print('Hello from Python', 6 * 7)\"",
            repl_snippet(
                SITE_TOKEN, ReplOptions(code="print('Hello from Python', 6 * 7)", kernel=kernel)
            ),
        ),
        (
            "An empty console with a toolbar, dark theme",
            "lite-build embed --repl --toolbar --theme dark",
            repl_snippet(SITE_TOKEN, ReplOptions(kernel=kernel, toolbar=True, theme="dark")),
        ),
    ]
    if notebooks:
        examples.append(
            (
                f"The notebook {notebooks[0]}",
                f"lite-build embed {notebooks[0]}",
                notebook_snippet(SITE_TOKEN, notebooks[0]),
            )
        )
    sections = "\n".join(
        f"<section><h2>{html.escape(heading)}</h2>"
        f"<p>Made with <code>{html.escape(command)}</code>:</p>"
        f'<template class="embed">{snippet}</template>'
        f'<div class="live"></div>'
        f"<details><summary>HTML to paste</summary><pre><code>{html.escape(snippet)}</code></pre>"
        "</details></section>"
        for heading, command, snippet in examples
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}: embedding examples</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem;
       color: #1f2328; }}
section {{ margin: 2.5rem 0; }}
pre {{ background: #f6f8fa; padding: 1rem; overflow: auto; font-size: 12px; }}
</style>
</head>
<body>
<h1>{html.escape(title)}: embedding examples</h1>
<p>Each example below is a snippet you can paste into a course page, a textbook chapter or a
learning platform: plain HTML, no script. It shows a light placeholder until a learner clicks,
so a page with many examples stays fast. Generate your own with <code>lite-build embed</code>;
<code>--eager</code> loads at once instead.</p>
{sections}
<p>Console address parameters: <code>kernel</code>, <code>code</code>, <code>execute=0</code>,
<code>toolbar=1</code>, <code>theme</code>, <code>showBanner=0</code>,
<code>hideCodeInput=1</code>, <code>promptCellPosition</code>. Example:
<a href="repl/index.html?code=print(6*7)&amp;execute=0"
>repl/index.html?code=print(6*7)&amp;execute=0</a>.
</p>
<script>
{fill_script(EMBED_SCRIPT, SITE_TOKEN=SITE_TOKEN)}</script>
</body>
</html>
"""


def embed_command(
    config: SiteConfig,
    *,
    notebook: str | None,
    repl: bool,
    code: str = "",
    kernel: str | None = None,
    execute: bool = True,
    url: str | None = None,
    height: str | None = None,
    theme: str | None = None,
    toolbar: bool = False,
    banner: bool = True,
    eager: bool = False,
) -> str:
    """The HTML ``lite-build embed`` prints, after checking the request against the config."""
    if repl == (notebook is not None):
        raise LiteBuildError(
            "say what to embed: --repl for the console, or a notebook of the content "
            "(e.g. lite-build embed lessons/intro.ipynb)"
        )
    site_url = url or config.url
    if not site_url:
        raise LiteBuildError(
            "the site's public address is unknown: pass --url https://... or set url in the "
            "configuration"
        )
    site_url = normalise_site_url(site_url)
    names = [environment.name for environment in config.environments]
    if kernel is not None and names and kernel not in names:
        raise LiteBuildError(
            f"--kernel: {kernel!r} is not an environment of this site; "
            f"choose one of: {', '.join(names)}"
        )
    # without a kernel the console would ask the learner to pick one
    kernel = kernel or default_kernel(config)
    if notebook is not None:
        return notebook_snippet(
            site_url, _content_notebook(config, notebook), height=height or "640px", eager=eager
        )
    options = ReplOptions(
        code=code, kernel=kernel, execute=execute, theme=theme, toolbar=toolbar, banner=banner
    )
    return repl_snippet(site_url, options, height=height or DEFAULT_HEIGHT, eager=eager)


def default_kernel(config: SiteConfig) -> str | None:
    """The kernel new consoles use: the site's first environment."""
    return config.environments[0].name if config.environments else None


def content_notebooks(config: SiteConfig) -> list[str]:
    return [
        item.site_path
        for item in collect_content(config.content)
        if item.site_path.endswith(".ipynb")
    ]


def _content_notebook(config: SiteConfig, notebook: str) -> str:
    """The site path of ``notebook`` (as shown in the file browser), or a helpful error."""
    wanted = as_site_path(notebook)
    available = content_notebooks(config)
    if wanted in available:
        return wanted
    suggestions = difflib.get_close_matches(wanted, available, n=3)
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    listing = ", ".join(available[:10]) or "none"
    raise LiteBuildError(
        f"{notebook}: not a notebook of this site's content{hint} "
        f"(notebooks, as paths in the site's file browser: {listing})"
    )
