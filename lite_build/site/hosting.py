"""Files static hosts read: ``.nojekyll`` (GitHub Pages), ``_headers`` (Netlify, Cloudflare)."""

from __future__ import annotations

from pathlib import Path

from lite_build.commands.serve import ISOLATION_HEADERS

HEADERS_FILE = "_headers"


def headers_file(*, isolated: bool) -> str:
    """The ``_headers`` text: revalidate everything (a rebuild shows on the next visit; the
    service worker keeps the site fast and offline), and cross-origin isolation if asked for."""
    lines = [
        "# Read by Netlify and Cloudflare Pages; other hosts ignore it. Written by lite-build.",
        "/*",
        "  Cache-Control: no-cache",
        "  X-Content-Type-Options: nosniff",
    ]
    if isolated:
        lines += [f"  {name}: {value}" for name, value in ISOLATION_HEADERS.items()]
    return "\n".join(lines) + "\n"


def write_hosting_files(site: Path, *, isolated: bool) -> None:
    (site / ".nojekyll").write_text("", encoding="utf-8")
    (site / HEADERS_FILE).write_text(headers_file(isolated=isolated), encoding="utf-8")
