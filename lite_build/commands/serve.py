"""``lite-build serve``: a small static file server for a built site (classrooms, development).

Browsers refuse to run a JupyterLite site from ``file://``, so even an offline copy needs a
loopback HTTP server. The requests are answered by the bundle launcher's handler
(lite_build/launcher/start.py, standard library only: media types, ``.gz`` siblings, ETags,
revalidation), so ``lite-build serve`` and a USB stick's ``start.py`` serve a site alike; this
module adds what the command needs: any host and port, cross-origin isolation on request,
request logging with ``-v``, and errors written for the user.
"""

from __future__ import annotations

import errno
import logging
import socket
from pathlib import Path
from typing import Any

from lite_build.errors import LiteBuildError
from lite_build.launcher.start import LimitedServer, handler_for
from lite_build.ui import NullReporter, Reporter

log = logging.getLogger("lite_build")

DEFAULT_PORT = 8000
#: what ``isolated=True`` adds: a cross-origin isolated page gets SharedArrayBuffer
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}
#: browsers allow service workers (which input() needs) only on these hosts over plain HTTP
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class SiteServer(LimitedServer):
    """Serves one built site folder with the launcher's handler; see :func:`make_server`."""

    def __init__(self, address: tuple[str, int], site: Path, isolated: bool, verbose: bool) -> None:
        self.site = site
        self.host = address[0]
        headers = list(ISOLATION_HEADERS.items()) if isolated else []
        super().__init__(address, handler_for(site, headers, log.info if verbose else None))

    @property
    def url(self) -> str:
        """The address to open in a browser."""
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.server_port}/"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # mostly a browser closing a connection mid-transfer: expected, not worth a traceback
        log.debug("error while answering %s", client_address, exc_info=True)


class _SiteServerIPv6(SiteServer):
    address_family = socket.AF_INET6


def make_server(
    site: Path,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    isolated: bool = False,
    verbose: bool = False,
) -> SiteServer:
    """A server for the built ``site``, bound but not yet serving. ``port=0`` picks a free port.

    ``isolated`` adds the cross-origin isolation headers (COOP, COEP, CORP) to every response;
    ``verbose`` logs each request to the ``lite_build`` logger.
    """
    site = Path(site).resolve()
    if not site.is_dir():
        raise LiteBuildError(
            f"the site folder {site} does not exist; build the site first with `lite-build build`"
        )
    server_class = _SiteServerIPv6 if ":" in host else SiteServer
    try:
        return server_class((host, port), site, isolated, verbose)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise LiteBuildError(
                f"port {port} on {host} is in use; choose another with --port"
            ) from error
        if error.errno == errno.EACCES:
            raise LiteBuildError(
                f"port {port} on {host} needs administrator rights; choose a port above 1023 "
                "with --port"
            ) from error
        raise LiteBuildError(
            f"cannot serve on {host} port {port}: {error.strerror or error}; "
            "check --host (127.0.0.1 serves only this computer, 0.0.0.0 every network)"
        ) from error


def serve_forever(server: SiteServer, reporter: Reporter | None = None) -> None:
    """Serve until Ctrl+C, then release the port."""
    info = (reporter or NullReporter()).info
    info(f"Serving {server.site} at {server.url} (press Ctrl+C to stop)")
    if server.host not in LOOPBACK_HOSTS:
        info(
            "Other computers reach this server over plain HTTP, where browsers disable "
            "service workers: notebooks run, but input() and other features that need a "
            "service worker do not work there."
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        info("Stopped.")
    finally:
        server.server_close()
