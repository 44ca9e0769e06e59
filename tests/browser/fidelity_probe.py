"""What a learner's code sees of Python, run inside a kernel of a built site.

``tests/browser/test_fidelity.py`` sends this file to a kernel's console, followed by
``await fidelity_probe()``; the probe asks for one line of input (``input()``), then prints one
JSON object between markers. Values that differ between any two runs by nature (durations,
randomness, addresses) are reduced to what must hold of them, so that a kernel restored from
its snapshot and a freshly started one must print the same object.
"""

from __future__ import annotations

import json
from typing import Any

BEGIN = "FIDELITY-" + "BEGIN"
END = "FIDELITY-" + "END"


def _digits_to_n(text: str) -> str:
    """``text`` with its durations and numbers replaced: they differ from run to run."""
    import re

    durations = re.sub(r"\d[\d.]*(e[+-]?\d+)?\s*(ns|us|µs|ms|s|min)\b", "T", text)
    return re.sub(r"\d+(\.\d+)?", "N", durations)


def _outcome(function: Any) -> Any:
    """The value of ``function()``, or the name and message of what it raised."""
    try:
        return function()
    except Exception as error:
        return f"raised {type(error).__name__}: {error}"


def _host() -> dict[str, Any]:
    import locale
    import os
    import platform
    import sys

    return {
        "executable": sys.executable,
        "argv": sys.argv,
        "orig_argv": sys.orig_argv,
        "prefixes": [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix],
        "path": sys.path,
        "flags": repr(sys.flags),
        "platform": [sys.platform, platform.platform(), platform.machine(), platform.system()],
        "emscripten_info": repr(sys._emscripten_info),  # type: ignore[attr-defined]
        "implementation": [sys.implementation.name, sys.version],
        "encodings": [
            sys.getfilesystemencoding(),
            sys.getdefaultencoding(),
            locale.getencoding(),
            sys.stdout.encoding,
        ],
        "locale": [locale.setlocale(locale.LC_ALL), locale.getlocale()],
        "environ": dict(sorted(os.environ.items())),
        "cwd": os.getcwd(),
        "uname": list(os.uname()),
        "pid": os.getpid(),
        "recursion_limit": sys.getrecursionlimit(),
    }


def _clocks() -> dict[str, Any]:
    import datetime
    import time
    import zoneinfo

    now = time.time()
    return {
        "tzname": time.tzname,
        "timezone": [time.timezone, time.altzone, time.daylight],
        "epoch_zone": time.strftime("%Z %z", time.localtime(0)),
        "summer_2020": datetime.datetime(2020, 7, 1, 12).astimezone().isoformat(),
        "mktime_2020": time.mktime((2020, 1, 1, 0, 0, 0, 0, 0, -1)),
        "now_is_now": abs(datetime.datetime.now().timestamp() - now) < 5,
        "utcnow_offset": datetime.datetime.now(datetime.UTC).utcoffset().total_seconds(),
        "zoneinfo": _outcome(lambda: str(zoneinfo.ZoneInfo("Europe/Paris"))),
        "monotonic_moves": time.monotonic() <= time.monotonic(),
    }


def _sleeps() -> dict[str, Any]:
    import time

    from pyodide.ffi import can_run_sync, run_sync

    started = time.monotonic()
    slept = _outcome(lambda: time.sleep(0.3))
    elapsed = time.monotonic() - started

    async def answer() -> str:
        return "ran"

    return {
        "time_sleep": slept,
        "time_sleep_waited": elapsed >= 0.29,
        "can_run_sync": can_run_sync(),
        "run_sync": _outcome(lambda: run_sync(answer())),
    }


def _files() -> dict[str, Any]:
    import csv
    import gzip
    import io
    import json as json_module
    import os
    import tarfile
    import tempfile
    import zipfile
    from pathlib import Path

    # relative paths resolve against the notebook's (here: the console's) folder
    Path("fidelity-note.txt").write_text("héllo\n", encoding="utf-8")
    read_back = Path("fidelity-note.txt").read_text(encoding="utf-8")
    listed = "fidelity-note.txt" in os.listdir(".")
    os.remove("fidelity-note.txt")
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        with zipfile.ZipFile(base / "a.zip", "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("inside.txt", "zipped")
        with zipfile.ZipFile(base / "a.zip") as archive:
            zipped = archive.read("inside.txt").decode()
        (base / "b.gz").write_bytes(gzip.compress(b"gzipped"))
        gunzipped = gzip.decompress((base / "b.gz").read_bytes()).decode()
        with tarfile.open(base / "c.tar.gz", "w:gz") as archive:
            archive.add(base / "b.gz", arcname="b.gz")
        with tarfile.open(base / "c.tar.gz") as archive:
            tarred = archive.getnames()
        buffer = io.StringIO()
        csv.writer(buffer).writerows([["a", "b"], [1, 2]])
        rows = list(csv.reader(io.StringIO(buffer.getvalue())))
        left_open = list(Path(folder).iterdir())
    return {
        "relative_file": [read_back, listed],
        "zip_gzip_tar": [zipped, gunzipped, tarred],
        "csv": rows,
        "json": json_module.loads(json_module.dumps({"é": [1.5, None, True]})),
        "tempdir_had": sorted(path.name for path in left_open),
        "content_data": sorted(os.listdir("data")) if os.path.isdir("data") else None,
    }


def _descriptors() -> dict[str, Any]:
    """No file object refers to a descriptor that is not open (a build-time leftover), and
    dropping the import caches reports no error (its zip file closes cleanly)."""
    import gc
    import importlib
    import io
    import os
    import sys

    dangling = []
    for candidate in gc.get_objects():
        if isinstance(candidate, io.FileIO) and not candidate.closed:
            try:
                os.fstat(candidate.fileno())
            except OSError:
                dangling.append(candidate.name)
    unraisable: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda info: unraisable.append(f"{info.exc_type.__name__}")
    try:
        importlib.invalidate_caches()
        gc.collect()
    finally:
        sys.unraisablehook = previous
    return {"dangling_descriptors": dangling, "errors_when_caches_drop": unraisable}


def _numbers_and_text() -> dict[str, Any]:
    import decimal
    import fractions
    import math
    import random
    import re
    import statistics

    generator = random.Random(42)
    return {
        "decimal": str(decimal.Decimal(1) / decimal.Decimal(7)),
        "decimal_context": repr(decimal.getcontext()),
        "fractions": str(fractions.Fraction(3, 12) + fractions.Fraction(1, 3)),
        "math": [math.pi, math.factorial(20), math.isqrt(10**20)],
        "re": re.findall(r"(\w+)@(\w+)\.org", "a@b.org, c@d.org"),
        "seeded_random": [generator.random(), generator.randint(1, 100)],
        "statistics": statistics.median([3, 1, 2]),
        "float_repr": [repr(0.1 + 0.2), f"{1e100:.3g}", str(2**100)],
        "str_methods": ["Straße".upper(), "ǅ".casefold(), "İ".lower()],
    }


def _testing() -> dict[str, Any]:
    import doctest
    import io
    import unittest

    class Arithmetic(unittest.TestCase):
        def test_adds(self) -> None:
            self.assertEqual(1 + 1, 2)

        def test_fails(self) -> None:
            self.assertEqual(1 + 1, 3)

        @unittest.skip("on purpose")
        def test_skipped(self) -> None:
            pass

    stream = io.StringIO()
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Arithmetic)
    result = unittest.TextTestRunner(stream=stream, verbosity=0).run(suite)

    def square(number: int) -> int:
        """
        >>> square(3)
        9
        >>> square(4)
        15
        """
        return number * number

    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(verbose=False)
    output = io.StringIO()
    for test in finder.find(square, "square", globs={"square": square}):
        runner.run(test, out=output.write)
    return {
        "unittest": [result.testsRun, len(result.failures), len(result.skipped)],
        "unittest_output": _digits_to_n(stream.getvalue()),
        "doctest": [runner.failures, runner.tries],
        "doctest_output": output.getvalue(),
    }


def _warnings_and_tracebacks() -> dict[str, Any]:
    import os
    import sys
    import tempfile
    import traceback
    import warnings
    from pathlib import Path

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(2):
            warnings.warn("shown once per place", UserWarning, stacklevel=1)
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "fidelity_module.py").write_text(
            "def divide(a, b):\n    return a / b  # the line a traceback shows\n"
        )
        sys.path.insert(0, folder)
        try:
            import fidelity_module

            try:
                fidelity_module.divide(1, 0)
            except ZeroDivisionError:
                shown = traceback.format_exc().replace(folder, "FOLDER")
        finally:
            sys.path.remove(folder)
            sys.modules.pop("fidelity_module", None)
    return {
        "warnings": [str(warning.message) for warning in caught],
        "warning_filters": [repr(entry) for entry in warnings.filters],
        "traceback": shown,
        "python_warnings": os.environ.get("PYTHONWARNINGS"),
    }


def _ipython() -> dict[str, Any]:
    import contextlib
    import io

    from IPython import get_ipython
    from IPython.display import HTML, Markdown

    shell = get_ipython()
    timed = io.StringIO()
    with contextlib.redirect_stdout(timed):
        shell.run_line_magic("time", "sum(range(1000))")
        shell.run_line_magic("timeit", "-n1 -r1 sum(range(10))")
    helped = io.StringIO()
    with contextlib.redirect_stdout(helped):
        help(len)
    formatter = shell.display_formatter
    return {
        "magics_output": _digits_to_n(timed.getvalue()),
        "help": helped.getvalue(),
        "rich_display": [
            sorted(formatter.format(HTML("<b>bold</b>"))[0]),
            sorted(formatter.format(Markdown("*it*"))[0]),
            formatter.format(HTML("<b>bold</b>"))[0]["text/html"],
        ],
        "user_names": sorted(name for name in shell.user_ns if not name.startswith("_")),
        "autoawait": shell.autoawait,
    }


async def _web() -> dict[str, Any]:
    import asyncio

    import js
    from pyodide.http import open_url, pyfetch

    # the kernel's worker lives under extensions/; the site's root is above it
    root = str(js.location.href).split("/extensions/")[0] + "/"
    response = await pyfetch(root + "jupyter-lite.json")
    fetched = await response.json()
    opened = json.loads(open_url(root + "jupyter-lite.json").read())
    started = asyncio.get_running_loop().time()
    await asyncio.sleep(0.2)
    waited = asyncio.get_running_loop().time() - started
    return {
        "pyfetch": [response.status, "jupyter-config-data" in fetched],
        "open_url": "jupyter-config-data" in opened,
        "asyncio_sleep_waited": waited >= 0.19,
        "event_loop": type(asyncio.get_running_loop()).__name__,
        "js": [type(js).__name__, callable(js.setTimeout), str(js.navigator.language)],
        "user_agent_is_the_browsers": str(js.navigator.userAgent)
        in repr(__import__("sys")._emscripten_info),
    }


def _packages() -> dict[str, Any]:
    import sys

    import micropip

    names = sorted(micropip.list())
    compiled = None
    if "msgpack" in names:
        import msgpack

        compiled = msgpack.unpackb(msgpack.packb({"a": [1, 2]}))
    return {
        "micropip_list": names,
        "msgpack_round_trip": compiled,
        "stdlib_in_zip": sys.path[1].endswith(".zip"),
    }


def _deep_recursion() -> int:
    def down(depth: int) -> int:
        try:
            return down(depth + 1)
        except RecursionError:
            return depth

    return down(0)


def _randomness() -> str:
    """The kernel's first random number, to compare between kernels (never equal)."""
    import random

    return repr(random.random())


async def fidelity_probe() -> None:
    answer = input("your name? ")
    results: dict[str, Any] = {
        "input": answer,
        "host": _host(),
        "clocks": _clocks(),
        "sleeps": _sleeps(),
        "files": _files(),
        "descriptors": _descriptors(),
        "numbers_and_text": _numbers_and_text(),
        "testing": _testing(),
        "warnings_and_tracebacks": _warnings_and_tracebacks(),
        "ipython": _ipython(),
        "web": await _web(),
        "packages": _packages(),
        "deep_recursion": _deep_recursion(),
        "random": _randomness(),
    }
    print(BEGIN + json.dumps(results, sort_keys=True, default=repr) + END)
