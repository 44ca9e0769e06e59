#!/usr/bin/env bash
# Install what lite-build and its tests need on a Debian/Ubuntu machine:
# Chromium (browser tests) from the distribution, lite-build with its test extras, and the files
# the tests' stand-in registries serve (tests/registry). Everything that needs the network is here.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
        echo "setup: installing Chromium from the distribution (browser tests)"
        $SUDO apt-get update -q
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
    else
        echo "setup: install Chromium yourself for the browser tests (or set LITE_BUILD_CHROMIUM)" >&2
    fi
fi

# the browser side (TypeScript: a JupyterLab extension and the scripts that run on their own)
# ships prebuilt inside the package
if ! command -v npm >/dev/null 2>&1; then
    echo "setup: npm (Node.js >= 20) is needed to build the browser code in extension/" >&2
    exit 1
fi
echo "setup: building the browser code (extension/ -> lite_build/labextension/, lite_build/browser/)"
(cd extension && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)

echo "setup: installing lite-build (editable) with its test dependencies"
python3 -m pip install -q --disable-pip-version-check -e ".[test]"

# the tests never reach PyPI or npm: they get the pinned files (tests/registry/frozen.json) from
# a local store, filled once here (hash-checked; files already there are kept)
echo "setup: fetching the test registry's files"
python3 -m tests.registry fetch

# pyenv only sees new console scripts after a rehash
if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
echo "setup: done"
