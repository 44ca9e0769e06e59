# Run by lite-build inside Pyodide (see compile-wheels.mjs): adds to each wheel the bytecode of
# its modules, compiled by the very Python that will import them. The .pyc files are
# "unchecked hash" pycs (PEP 552): a wheel's files get new modification times when installed,
# so timestamp pycs would be thrown away; the sources stay for tracebacks and completion.
# No `from __future__` import here: compile() below must not inherit one.
import importlib.util
import json
import os
import sys
import zipfile
from importlib._bootstrap_external import _code_to_hash_pyc  # type: ignore[attr-defined]

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def pyc_name(name: str) -> str:
    folder, _, module = name.rpartition("/")
    cached = f"__pycache__/{module[:-3]}.{sys.implementation.cache_tag}.pyc"
    return f"{folder}/{cached}" if folder else cached


def compile_wheel(source: str, target: str, site_packages: str) -> int:
    added: list[tuple[str, bytes]] = []
    with zipfile.ZipFile(source) as wheel:
        infos = wheel.infolist()
        names = {info.filename for info in infos}
        record: tuple[zipfile.ZipInfo, bytes] | None = None
        temporary = target + ".part"
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as out:
            for info in infos:
                data = wheel.read(info)
                if info.filename.endswith(".dist-info/RECORD"):
                    record = (info, data)
                    continue
                out.writestr(info, data)
                name = info.filename
                # files under NAME.data/ are not installed into site-packages as they are
                if not name.endswith(".py") or ".data/" in name or pyc_name(name) in names:
                    continue
                try:
                    code = compile(data, f"{site_packages}/{name}", "exec", dont_inherit=True)
                except (SyntaxError, ValueError):
                    continue  # never importable as is (say, a template); Python reports it
                pyc = _code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False)
                added.append((pyc_name(name), bytes(pyc)))
            for name, data in added:
                info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                out.writestr(info, data)
            if record is not None:
                info, data = record
                lines = [f"{name},," for name, _ in added]
                text = data.decode().rstrip("\n") + "\n" + "".join(f"{line}\n" for line in lines)
                out.writestr(info, text.encode())
    os.replace(temporary, target)
    return len(added)


def main(jobs_file: str, site_packages: str) -> str:
    with open(jobs_file) as file:
        jobs = json.load(file)
    done = {}
    for source, target in jobs:
        done[target] = compile_wheel(source, target, site_packages)
    return json.dumps(done)
