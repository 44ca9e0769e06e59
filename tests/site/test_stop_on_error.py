"""The patch of JupyterLite's kernels service that honours stop_on_error, on made-up bundles
(tests/site/test_patches.py runs it on JupyterLite's real output)."""

from __future__ import annotations

from pathlib import Path

from lite_build.site.patches import keep_queue_unless_stop_on_error

#: the shape of JupyterLite 0.8's kernels service: the handler of a client's requests, run one
#: at a time on the kernel's mutex, and the send that cancels the queue on an error reply
SERVICE = (
    "this._cancelReason=new WeakMap;"
    "let a=async s=>{try{await {mutex}.runExclusive(async()=>{await r.handleMessage(s)})}"
    "catch(n){throw n}};"
    'let d=e=>{"execute_reply"===e.header.msg_type&&"error"===e.content.status'
    '&&"interrupt"!==e.metadata.cause&&(this._cancelReason.set(i,"error"),i.cancel()),s.send(e)}'
)


def bundle(tmp_path: Path, mutex: str) -> Path:
    (tmp_path / "build").mkdir()
    path = tmp_path / "build" / "4191.js"
    path.write_text(SERVICE.replace("{mutex}", mutex))
    return path


def test_an_error_reply_cancels_the_queue_unless_its_request_said_not_to_stop(
    tmp_path: Path,
) -> None:
    path = bundle(tmp_path, "i")

    assert keep_queue_unless_stop_on_error(tmp_path) == [path]
    fixed = path.read_text()
    assert fixed.startswith(
        "this._cancelReason=new WeakMap;let a=async s=>{"
        '"execute_request"===s.header.msg_type&&!1===s.content.stop_on_error'
        "&&(this._liteBuildKeepQueue||(this._liteBuildKeepQueue=new Set)).add(s.header.msg_id);"
        "try{await i.runExclusive("
    )
    assert (
        '"execute_reply"===e.header.msg_type&&!(this._liteBuildKeepQueue'
        "&&this._liteBuildKeepQueue.delete(e.parent_header.msg_id))"
        '&&"error"===e.content.status&&"interrupt"!==e.metadata.cause'
        '&&(this._cancelReason.set(i,"error"),i.cancel())'
    ) in fixed
    # already patched: left alone
    assert keep_queue_unless_stop_on_error(tmp_path) == []


def test_a_service_whose_queue_is_not_the_one_it_cancels_is_left_alone(tmp_path: Path) -> None:
    path = bundle(tmp_path, "other")

    assert keep_queue_unless_stop_on_error(tmp_path) == []
    assert path.read_text() == SERVICE.replace("{mutex}", "other")
