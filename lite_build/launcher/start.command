#!/bin/sh
# Start the course site: serves it on this computer and opens the browser.
cd "$(dirname "$0")" || exit 1
if command -v python3 >/dev/null 2>&1; then
    exec python3 start.py "$@"
fi
exec python start.py "$@"
