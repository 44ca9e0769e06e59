"""lite-build.lock: why it no longer describes the configuration, and what a damaged one says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lite_build.errors import LiteBuildError
from lite_build.packages.lockfile import LockedEnvironment, LockFile, read_lock, stale_reasons

LOCK = LockFile(
    pyodide="314.0.6",
    sources=("wheels: ./wheels",),
    environments=(LockedEnvironment("python", ("attrs", "msgpack"), ()),),
)


def test_a_lock_that_describes_the_configuration_has_no_reason_to_be_stale() -> None:
    assert (
        stale_reasons(LOCK, "314.0.6", ["wheels: ./wheels"], "python", ["attrs", "msgpack"]) == []
    )


@pytest.mark.parametrize(
    ("requirements", "reason"),
    [
        (
            ["attrs", "msgpack", "six"],
            'the packages of environment "python" changed (added six)',
        ),
        (["attrs"], 'the packages of environment "python" changed (removed msgpack)'),
        (
            ["attrs", "six", "tqdm"],
            'the packages of environment "python" changed (added six, tqdm; removed msgpack)',
        ),
        (["msgpack", "attrs"], 'the packages of environment "python" changed (reordered)'),
        (
            ["attrs", "msgpack>=1.1"],
            'the packages of environment "python" changed (added msgpack>=1.1; removed msgpack)',
        ),
    ],
)
def test_changed_requirements_name_what_was_added_and_removed(
    requirements: list[str], reason: str
) -> None:
    assert stale_reasons(LOCK, "314.0.6", ["wheels: ./wheels"], "python", requirements) == [reason]


def test_a_new_environment_is_not_in_the_lock() -> None:
    assert stale_reasons(LOCK, "314.0.6", ["wheels: ./wheels"], "extra", ["attrs"]) == [
        'it has no environment "extra"'
    ]


def test_every_reason_at_once_in_a_fixed_order() -> None:
    reasons = stale_reasons(
        LOCK,
        "314.1.0",
        ["wheels: ./wheels", "distribution: ../pyodide-314.0.6"],
        "python",
        ["attrs"],
    )
    assert reasons == [
        "it was written for Pyodide 314.0.6, the site uses 314.1.0",
        "the package sources (wheels, [pyodide] distribution) changed",
        'the packages of environment "python" changed (removed msgpack)',
    ]


def test_sources_in_another_order_are_a_change() -> None:
    lock = LockFile("314.0.6", ("wheels: ./a", "wheels: ./b"), LOCK.environments)
    assert stale_reasons(lock, "314.0.6", ["wheels: ./b", "wheels: ./a"], "python", []) == [
        "the package sources (wheels, [pyodide] distribution) changed",
        'the packages of environment "python" changed (removed attrs, msgpack)',
    ]


# -- a lock lite-build cannot read ---------------------------------------------------------------


def test_a_lock_of_another_format_version_says_how_to_rewrite_it(tmp_path: Path) -> None:
    path = tmp_path / "lite-build.lock"
    path.write_text('lock-version = 2\npyodide = "314.0.6"\n')
    with pytest.raises(LiteBuildError) as caught:
        read_lock(path)
    assert str(caught.value) == (
        f"{path} has lock-version 2; this lite-build reads version 1; run "
        "`lite-build lock --upgrade`"
    )


def test_a_lock_missing_a_field_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "lite-build.lock"
    path.write_text(
        'lock-version = 1\npyodide = "314.0.6"\n\n[[environments]]\nname = "python"\n\n'
        '[[environments.packages]]\nname = "attrs"\nversion = "25.1.0"\n'
    )
    with pytest.raises(LiteBuildError) as caught:
        read_lock(path)
    assert str(caught.value) == (
        f"{path} is damaged (missing or wrong 'source'); run `lite-build lock --upgrade` to "
        "write it afresh"
    )


def test_a_lock_that_is_not_toml_says_to_restore_or_rewrite_it(tmp_path: Path) -> None:
    path = tmp_path / "lite-build.lock"
    path.write_text("<<<<<<< HEAD\n")  # a merge conflict left in it
    with pytest.raises(LiteBuildError) as caught:
        read_lock(path)
    message = str(caught.value)
    assert message.startswith(f"{path} is not valid TOML (")
    assert message.endswith(
        "); restore it from version control or run `lite-build lock --upgrade` to write it afresh"
    )


def locked_attrs(path: Path, **fields: str) -> Path:
    """A lock of one package, ``fields`` changed from a sound entry."""
    entry = {
        "name": "attrs",
        "version": "25.1.0",
        "source": "pypi",
        "file": "attrs-25.1.0-py3-none-any.whl",
        "url": "https://files.example.org/attrs-25.1.0-py3-none-any.whl",
        "sha256": "ab" * 32,
        **fields,
    }
    lines = [f"{key} = {json.dumps(value)}" for key, value in entry.items()]
    path.write_text(
        'lock-version = 1\npyodide = "314.0.6"\n\n[[environments]]\nname = "python"\n\n'
        "[[environments.packages]]\n" + "\n".join(lines) + "\nsize = 1\n"
    )
    return path


def test_a_sound_lock_entry_is_read(tmp_path: Path) -> None:
    (env,) = read_lock(locked_attrs(tmp_path / "lite-build.lock")).environments
    assert [package.file for package in env.packages] == ["attrs-25.1.0-py3-none-any.whl"]


PLAIN_HTTP = "http://files.example.org/attrs-25.1.0-py3-none-any.whl"
NOT_PLAIN = (
    "is not a plain file name; lite-build refuses it, as it would write outside its folder. "
    "The source is damaged or hostile: fix it or use another"
)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        (
            "file",
            "/home/someone/.bashrc",
            NOT_PLAIN,
        ),
        (
            "file",
            "../../../.bashrc",
            NOT_PLAIN,
        ),
        (
            "sha256",
            "../x",
            "is not a sha256 (64 hex digits); the source is damaged or hostile: "
            "fix it or use another",
        ),
        (
            "url",
            PLAIN_HTTP,
            "is not an https URL; lite-build downloads only over https (plain "
            "http only from this machine: 127.0.0.1, localhost, ::1). Use the https address",
        ),
    ],
)
def test_a_lock_entry_with_a_bad_name_hash_or_url_is_refused(
    tmp_path: Path, field: str, value: str, problem: str
) -> None:
    path = locked_attrs(tmp_path / "lite-build.lock", **{field: value})
    with pytest.raises(LiteBuildError) as caught:
        read_lock(path)
    shown = value if field == "url" else repr(value)
    assert str(caught.value) == f"{path}: package 'attrs': {shown} {problem}"


def test_a_lock_nested_too_deeply_says_to_restore_or_rewrite_it(tmp_path: Path) -> None:
    path = tmp_path / "lite-build.lock"
    path.write_text("pyodide = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(LiteBuildError) as caught:
        read_lock(path)
    assert str(caught.value) == (
        f"{path} is not valid TOML (nested too deeply (arrays or tables inside each other)); "
        "restore it from version control or run `lite-build lock --upgrade` to write it afresh"
    )
