"""Shared helpers of the end-to-end tests of taskorch-server (Python 3 standard library only).

The tests start the REAL binary on 127.0.0.1 with `--listen 127.0.0.1:0` and explicit
`--token`s, learn the port from its first stdout line (`listening on http://HOST:PORT`), talk
HTTP/1.1 to it over loopback and stop it with SIGTERM (exit code 0 expected). A server gets
`--in-memory` unless a test gives it a data directory (always a fresh temporary one, never the
default `taskorch-data` of the working directory).

The binary is taken from the environment variable TASKORCH_SERVER (ctest sets it, see
CMakeLists.txt). When it is unset, the newest build/*/server/taskorch-server of the source
tree is used, so that `python3 -m unittest -v test_api` works from this folder after a build.

Nothing here depends on timing except cut-offs: every wait has a generous limit so that the
tests pass on a loaded 2-core machine and under ASan/TSan builds.
"""

from __future__ import annotations

import glob
import http.client
import json
import os
import queue
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

PROJECT_A = "054ba152d480d55b2f5dc0069e7ddef0"  # the DRS example's project (and the demo's)
PROJECT_B = "6a1f0c8e2b4d4f7e9c3a5b7d9e1f2a3b"  # a neighbour project
TOKEN_A = "e2e-token-a-6d1c93f0b2a84e57"
TOKEN_B = "e2e-token-b-0f7e21c4d9a3b865"
SEED_JOB = "8d0e8e36-a618-490d-8a46-8c61ac9jb502"

PAUSE = "batch-pause-task"
RETRY = "batch-retry-task"
STATUS = "batch-status"
STARTING = "batch-starting"
JOBS = "batch-jobs"  # DELETE
DETAIL = "batch-detail"
REPORT = "batch-report"      # a worker's report (role worker only)
PROGRESS = "batch-progress"  # what the workers last reported (every role)

# The events a worker may report (docs/state-machine.md, origin worker); batch-report also
# takes the word "progress" for figures alone.
WORKER_EVENTS = ["start_succeeded", "start_failed", "full_transfer_done", "incremental_started",
                 "transfer_failed", "stopped"]

PAUSABLE = [
    "FULL_TRANSFER_STARTED",
    "FULL_TRANSFER_COMPLETE",
    "INCRE_TRANSFER_STARTED",
    "FULL_TRANSFER_FAILED",
    "INCRE_TRANSFER_FAILED",
]
# What a resume does, per docs/behaviour.md (None: no change; a code: the item fails).
RESUME_OF = {
    "START_JOB_FAILED": "STARTJOBING",
    "FULL_TRANSFER_FAILED": "FULL_TRANSFER_STARTED",
    "INCRE_TRANSFER_FAILED": "INCRE_TRANSFER_STARTED",
    "FULL_TRANSFER_STARTED": "FULL_TRANSFER_STARTED",
    "FULL_TRANSFER_COMPLETE": "FULL_TRANSFER_COMPLETE",
    "INCRE_TRANSFER_STARTED": "INCRE_TRANSFER_STARTED",
}
RESUME_FROM_PAUSE = {
    "FULL_TRANSFER_STARTED": "FULL_TRANSFER_STARTED",
    "FULL_TRANSFER_COMPLETE": "FULL_TRANSFER_COMPLETE",
    "INCRE_TRANSFER_STARTED": "INCRE_TRANSFER_STARTED",
    "FULL_TRANSFER_FAILED": "FULL_TRANSFER_STARTED",
    "INCRE_TRANSFER_FAILED": "INCRE_TRANSFER_STARTED",
}
ALL_STATUSES = [
    "CONFIGURATION",
    "STARTJOBING",
    "START_JOB_FAILED",
    "FULL_TRANSFER_STARTED",
    "FULL_TRANSFER_COMPLETE",
    "INCRE_TRANSFER_STARTED",
    "FULL_TRANSFER_FAILED",
    "INCRE_TRANSFER_FAILED",
    "PAUSING",
    "RELEASE_RESOURCE_STARTED",
    "RELEASE_RESOURCE_COMPLETE",
    "DELETED",
    "WAITING_FOR_START",
]
# The start time a fleet gives a WAITING_FOR_START task unless told otherwise (ms since the
# epoch, 2030-01-01T00:00:00Z): far enough ahead that it never fires during a test.
FAR_START_MS = 1893456000000

JOB_ID_SHAPE = re.compile(r"^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$")
CJK = re.compile(r"[\u4e00-\u9fff]")

START_TIMEOUT = float(os.environ.get("TASKORCH_E2E_START_TIMEOUT", "60"))
STOP_TIMEOUT = float(os.environ.get("TASKORCH_E2E_STOP_TIMEOUT", "60"))
HTTP_TIMEOUT = float(os.environ.get("TASKORCH_E2E_HTTP_TIMEOUT", "60"))


# --------------------------------------------------------------------------------------------
# The binary


def server_binary() -> str:
    path = os.environ.get("TASKORCH_SERVER")
    if path:
        if not os.access(path, os.X_OK):
            raise RuntimeError(f"TASKORCH_SERVER={path!r} is not an executable file")
        return path
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    found = [p for p in glob.glob(os.path.join(root, "build", "*", "server", "taskorch-server"))
             if os.access(p, os.X_OK)]
    if not found:
        raise RuntimeError("set TASKORCH_SERVER to the taskorch-server binary (none found under build/)")
    return max(found, key=os.path.getmtime)


# --------------------------------------------------------------------------------------------
# Job ids and fleet documents


def job_id(n: int, group: str = "e2e0") -> str:
    """A job id of the DRS shape (not a hex UUID: it ends like DRS ids, `...jb` + 1 char)."""
    assert len(group) == 4
    text = f"{n:08x}-{group}-4c1d-8e2f-{n:09x}jb7"
    assert JOB_ID_SHAPE.match(text), text
    return text


class Fleet:
    """Builds a fleet document (see include/taskorch/http/fleet_file.hpp)."""

    def __init__(self, group: str = "e2e0") -> None:
        self.jobs: list[dict] = []
        self.group = group
        self._next = 0
        self.owner: dict[str, str] = {}   # every id (children included) -> project
        self.initial: dict[str, str] = {}  # id -> DRS status at start (parents: aggregate)

    def new_id(self) -> str:
        self._next += 1
        return job_id(self._next, self.group)

    @staticmethod
    def _state(status: str, pause_mode: str | None, paused_from: str | None,
               start_time: int | None = None) -> dict:
        doc: dict[str, Any] = {"status": status}
        if status == "PAUSING":
            doc["pause_mode"] = pause_mode or "target"
            doc["paused_from"] = paused_from or "INCRE_TRANSFER_STARTED"
        if status == "WAITING_FOR_START":  # the fleet file requires its start time (ms)
            doc["start_time"] = FAR_START_MS if start_time is None else start_time
        return doc

    def task(self, status: str, project: str = PROJECT_A, kind: str = "migration",
             pause_mode: str | None = None, paused_from: str | None = None,
             name: str | None = None, start_time: int | None = None) -> str:
        """A standalone task; `start_time` (ms) only for WAITING_FOR_START (default FAR_START_MS)."""
        i = self.new_id()
        doc = {"id": i, "project_id": project, "name": f"e2e-{len(self.jobs)}" if name is None else name,
               "db_use_type": kind}
        doc.update(self._state(status, pause_mode, paused_from, start_time))
        self.jobs.append(doc)
        self.owner[i] = project
        self.initial[i] = status
        return i

    def family(self, forward: str, backward: str, project: str = PROJECT_A,
               forward_pause: tuple[str, str] | None = None,
               backward_pause: tuple[str, str] | None = None,
               name: str | None = None) -> tuple[str, str, str]:
        """A dual-active DR family; `*_pause` is (pause_mode, paused_from) for a PAUSING child
        (a WAITING_FOR_START child gets FAR_START_MS)."""
        parent, fwd, bwd = self.new_id(), self.new_id(), self.new_id()
        children = []
        for cid, status, pause in ((fwd, forward, forward_pause), (bwd, backward, backward_pause)):
            child = {"id": cid}
            child.update(self._state(status, *(pause or (None, None))))
            children.append(child)
            self.owner[cid] = project
            self.initial[cid] = status
        self.jobs.append({"id": parent, "project_id": project,
                          "name": f"family-{len(self.jobs)}" if name is None else name,
                          "db_use_type": "cloudDataGuard", "multi_write": True,
                          "children": children})
        self.owner[parent] = project
        self.initial[parent] = aggregate_status(forward, backward)
        return parent, fwd, bwd

    def document(self) -> dict:
        return {"jobs": self.jobs}

    def ids(self, project: str | None = None) -> list[str]:
        return [i for i, p in self.owner.items() if project is None or p == project]


def aggregate_status(forward: str, backward: str) -> str:
    """The status of a dual-active parent, per docs/behaviour.md."""
    failed = ("START_JOB_FAILED", "FULL_TRANSFER_FAILED", "INCRE_TRANSFER_FAILED")
    if forward in failed:
        return forward
    if backward in failed:
        return backward
    if forward == "PAUSING" and backward == "PAUSING":
        return "PAUSING"
    return forward


# --------------------------------------------------------------------------------------------
# HTTP


def strict_json(raw: bytes | str) -> Any:
    """Parses JSON, refusing an object that repeats a key."""

    def pairs(items):
        keys = [k for k, _ in items]
        if len(keys) != len(set(keys)):
            raise ValueError(f"repeated key in {keys}")
        return dict(items)

    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    return json.loads(raw, object_pairs_hook=pairs)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    raw: bytes
    _json: Any = field(default=None, repr=False)
    _parsed: bool = field(default=False, repr=False)

    @property
    def json(self) -> Any:
        if not self._parsed:
            self._json = strict_json(self.raw)
            self._parsed = True
        return self._json

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def __str__(self) -> str:  # used in assertion messages
        return f"HTTP {self.status} {self.raw[:600]!r}"


_NO = object()  # "do not send this header"


def encode_body(body: Any) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def http_call(port: int, method: str, path: str, body: Any = None, token: Any = _NO,
              content_type: Any = "application/json", lang: str | None = None,
              headers: dict[str, str] | None = None, timeout: float = HTTP_TIMEOUT) -> Response:
    """One request on a fresh connection. `token`/`content_type` = _NO (or None) sends none."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        send: dict[str, str] = {}
        if token is not _NO and token is not None:
            send["X-Auth-Token"] = token
        data = encode_body(body)
        if content_type is not _NO and content_type is not None and data is not None:
            send["Content-Type"] = content_type
        if lang is not None:
            send["X-Language"] = lang
        send.update(headers or {})
        try:
            conn.request(method, path, body=data, headers=send)
        except (BrokenPipeError, ConnectionResetError):
            # The server may answer (413, 401...) and close without reading the whole body:
            # what it answered is still readable.
            pass
        r = conn.getresponse()
        raw = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, raw)
    finally:
        conn.close()


def api_path(project: str, action: str) -> str:
    return f"/v3/{project}/jobs/{action}"


def read_response(sock: socket.socket, method: str = "POST") -> Response:
    """Reads one HTTP response from a raw socket."""
    r = http.client.HTTPResponse(sock, method=method)
    r.begin()
    raw = r.read()
    return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, raw)


def read_responses(sock: socket.socket, count: int, heads: Iterable[int] = ()) -> list[Response]:
    """Reads `count` pipelined responses (each with a Content-Length) from one socket; the
    responses whose index is in `heads` answer HEAD requests: they have no body."""
    f = sock.makefile("rb")
    out = []
    try:
        for n in range(count):
            line = f.readline()
            m = re.match(rb"HTTP/1\.[01] (\d{3})", line)
            if not m:
                raise AssertionError(f"not a status line: {line!r}")
            headers = {}
            while True:
                h = f.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                name, _, value = h.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = b"" if n in heads else f.read(int(headers.get("content-length", "0")))
            out.append(Response(int(m.group(1)), headers, body))
    finally:
        f.close()
    return out


def parse_responses(raw: bytes) -> list[Response]:
    """Splits the bytes a server sent on one connection into responses (Content-Length bodies)."""
    out = []
    while raw:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        if not sep:
            raise AssertionError(f"an incomplete response: {raw[:300]!r}")
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3}) ", lines[0])
        if not m:
            raise AssertionError(f"not a status line: {lines[0]!r}")
        headers = {}
        for h in lines[1:]:
            name, _, value = h.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        out.append(Response(int(m.group(1)), headers, rest[:length]))
        raw = rest[length:]
    return out


def read_until(sock: socket.socket, marker: bytes, limit: float) -> bytes:
    """Reads until `marker` has arrived, the peer closes or `limit` seconds pass."""
    got = b""
    deadline = time.monotonic() + limit
    while marker not in got:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(min(left, 1.0))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            break
        if not chunk:
            break
        got += chunk
    return got


def headers_only(port: int, method: str, path: str, content_length: int,
                 headers: dict[str, str] | None = None) -> Response:
    """Sends a request head announcing `content_length` bytes, no body; reads the answer."""
    with connect(port) as s:
        s.sendall(request_bytes(method, path, b"", headers, content_length=content_length))
        return read_response(s, method)


def connect(port: int, timeout: float = HTTP_TIMEOUT, host: str = "127.0.0.1") -> socket.socket:
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def wait_closed(sock: socket.socket, limit: float) -> tuple[bool, bytes]:
    """Waits up to `limit` seconds for the peer to close; returns (closed, bytes received)."""
    got = b""
    deadline = time.monotonic() + limit
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False, got
        sock.settimeout(min(left, 1.0))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True, got
        if not chunk:
            return True, got
        got += chunk


def head_of(raw: bytes) -> int | None:
    """The status code of the first response in `raw`, or None."""
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", raw)
    return int(m.group(1)) if m else None


def request_bytes(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
                  content_length: int | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    hdrs = dict(headers or {})
    if content_length is None:
        content_length = len(body)
    hdrs.setdefault("Content-Length", str(content_length))
    lines += [f"{k}: {v}" for k, v in hdrs.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# --------------------------------------------------------------------------------------------
# The server process


class Server:
    """A taskorch-server process on 127.0.0.1 with an ephemeral port."""

    def __init__(self, tokens: Iterable[tuple[str, str]] = ((TOKEN_A, PROJECT_A), (TOKEN_B, PROJECT_B)),
                 fleet: Fleet | dict | str | None = None, data_dir: str | None = None,
                 args: Iterable[str] = (), engine_threads: int = 2,
                 preexec: Callable[[], None] | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="taskorch-e2e-")
        self.dir = self._tmp.name
        self.fleet_path: str | None = None
        if isinstance(fleet, Fleet):
            fleet = fleet.document()
        if isinstance(fleet, dict):
            self.fleet_path = os.path.join(self.dir, "fleet.json")
            with open(self.fleet_path, "w", encoding="utf-8") as f:
                json.dump(fleet, f)
        elif isinstance(fleet, str):
            self.fleet_path = fleet
        self.data_dir = data_dir  # None: --in-memory
        self.tokens = list(tokens)
        self.args = list(args)
        self.engine_threads = engine_threads
        self.preexec = preexec
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.stdout_lines: list[str] = []
        self.stderr_lines: list[str] = []
        self._lines: queue.Queue = queue.Queue()
        self._readers: list[threading.Thread] = []
        self._spawned_at = 0

    # -- process

    def command(self) -> list[str]:
        cmd = [server_binary(), "--listen", "127.0.0.1:0", "--engine-threads", str(self.engine_threads)]
        if self.fleet_path:
            cmd += ["--fleet", self.fleet_path]
        if self.data_dir:
            cmd += ["--data-dir", self.data_dir]
        else:
            cmd += ["--in-memory"]
        for token, project in self.tokens:
            cmd += ["--token", f"{token}:{project}"]
        return cmd + self.args

    def spawn(self) -> subprocess.Popen:
        self._lines = queue.Queue()  # a restarted server reads its own first line
        self._spawned_at = len(self.stdout_lines)  # where this process's stdout begins
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, preexec_fn=self.preexec)

        def pump(stream, sink: list[str], lines: queue.Queue | None):
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\n")
                sink.append(line)
                if lines is not None:
                    lines.put(line)
            if lines is not None:
                lines.put(None)

        self._readers = [
            threading.Thread(target=pump, args=(self.proc.stdout, self.stdout_lines, self._lines), daemon=True),
            threading.Thread(target=pump, args=(self.proc.stderr, self.stderr_lines, None), daemon=True),
        ]
        for t in self._readers:
            t.start()
        return self.proc

    def restart(self) -> "Server":
        """Starts again on the same data directory (without --fleet: the registry is there)."""
        self.fleet_path = None
        return self.start()

    def start(self) -> "Server":
        self.spawn()
        try:
            first = self._lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            self.kill()
            raise AssertionError(f"taskorch-server printed nothing in {START_TIMEOUT} s") from None
        if first is None:
            rc = self.proc.wait(timeout=STOP_TIMEOUT)
            self._join()
            raise AssertionError(f"taskorch-server exited ({rc}) before listening: {self.stderr_lines}")
        m = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)", first)
        if not m:
            self.kill()
            raise AssertionError(f"unexpected first line {first!r}")
        self.port = int(m.group(1))
        return self

    def _join(self) -> None:
        for t in self._readers:
            t.join(timeout=STOP_TIMEOUT)
        if self.proc is not None:
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None and not any(t.is_alive() for t in self._readers):
                    stream.close()

    def stop(self) -> int:
        """SIGTERM, then the exit code (the process is killed if it does not exit in time)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"taskorch-server did not exit within {STOP_TIMEOUT} s of SIGTERM")
        self._join()
        self.proc = None
        return rc

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._join()
        self.proc = None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        self.kill()
        self._tmp.cleanup()

    # -- HTTP

    def call(self, method: str, path: str, body: Any = None, **kw) -> Response:
        return http_call(self.port, method, path, body, **kw)

    def post(self, action: str, body: Any, token: Any = TOKEN_A, project: str = PROJECT_A, **kw) -> Response:
        return http_call(self.port, "POST", api_path(project, action), body, token=token, **kw)

    def pause(self, items: list[tuple[str, str]] | list[dict], **kw) -> Response:
        jobs = [i if isinstance(i, dict) else {"job_id": i[0], "pause_mode": i[1]} for i in items]
        return self.post(PAUSE, {"jobs": jobs}, **kw)

    def retry(self, ids: list[str] | list[dict], **kw) -> Response:
        jobs = [i if isinstance(i, dict) else {"job_id": i} for i in ids]
        return self.post(RETRY, {"jobs": jobs}, **kw)

    def status(self, ids: list[str], page_req: dict | None = None, **kw) -> Response:
        body: dict[str, Any] = {"jobs": ids}
        if page_req is not None:
            body["page_req"] = page_req
        return self.post(STATUS, body, **kw)

    def start_jobs(self, items: list[str] | list[dict], **kw) -> Response:
        """batch-starting; an item is an id (start now) or a whole item object."""
        jobs = [i if isinstance(i, dict) else {"job_id": i} for i in items]
        return self.post(STARTING, {"jobs": jobs}, **kw)

    def delete_jobs(self, items: list[tuple[str, str]] | list[dict], body: Any = None,
                    token: Any = TOKEN_A, project: str = PROJECT_A, **kw) -> Response:
        """DELETE batch-jobs; an item is (id, delete_type) or a whole item object; `body`
        replaces the whole body when given."""
        if body is None:
            body = {"jobs": [i if isinstance(i, dict) else {"job_id": i[0], "delete_type": i[1]}
                             for i in items]}
        return http_call(self.port, "DELETE", api_path(project, JOBS), body, token=token, **kw)

    def detail(self, ids: list[str], page_req: dict | None = None, **kw) -> Response:
        body: dict[str, Any] = {"jobs": ids}
        if page_req is not None:
            body["page_req"] = page_req
        return self.post(DETAIL, body, **kw)

    def report(self, items: list[tuple] | list[dict], token: str, **kw) -> Response:
        """batch-report with a worker's `token`; an item is a whole item object, or a tuple
        (id, event[, progress[, incre_trans_delay]]) whose figures are sent when not None."""
        jobs = []
        for i in items:
            if isinstance(i, dict):
                jobs.append(i)
                continue
            item: dict[str, Any] = {"job_id": i[0], "event": i[1]}
            if len(i) > 2 and i[2] is not None:
                item["progress"] = i[2]
            if len(i) > 3 and i[3] is not None:
                item["incre_trans_delay"] = i[3]
            jobs.append(item)
        return self.post(REPORT, {"jobs": jobs}, token=token, **kw)

    def progress(self, ids: list[str], page_req: dict | None = None, **kw) -> Response:
        """batch-progress (the body of batch-status)."""
        body: dict[str, Any] = {"jobs": ids}
        if page_req is not None:
            body["page_req"] = page_req
        return self.post(PROGRESS, body, **kw)

    def progress_of(self, ids: list[str], token: str = TOKEN_A, project: str = PROJECT_A) -> dict[str, dict]:
        """id -> its batch-progress item without `job_id` (an error item: its error_code and
        error_msg)."""
        r = self.progress(ids, token=token, project=project)
        if r.status != 200:
            raise AssertionError(f"batch-progress failed: {r}")
        out: dict[str, dict] = {}
        for item in r.json["results"]:
            rest = dict(item)
            out[rest.pop("job_id")] = rest
        if list(out) != list(ids):
            raise AssertionError(f"batch-progress answered {list(out)} for {ids}")
        return out

    def versions(self, ids: list[str], token: str = TOKEN_A, project: str = PROJECT_A) -> dict[str, int]:
        """id -> the `version` batch-detail shows (found tasks only)."""
        r = self.detail(ids, token=token, project=project)
        if r.status != 200:
            raise AssertionError(f"batch-detail failed: {r}")
        return {item["id"]: item["version"] for item in r.json["results"] if "version" in item}

    def list_jobs(self, body: Any = None, token: Any = TOKEN_A, project: str = PROJECT_A, **kw) -> Response:
        """POST /v3/{project}/jobs; `body` None sends a body of no bytes."""
        data = b"" if body is None else body
        return http_call(self.port, "POST", f"/v3/{project}/jobs", data, token=token, **kw)

    def statuses(self, ids: list[str], token: str = TOKEN_A, project: str = PROJECT_A) -> dict[str, str]:
        """id -> DRS status, or the item's error code (for ids of another project, unknown...)."""
        out: dict[str, str] = {}
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            r = self.status(chunk, token=token, project=project)
            if r.status != 200:
                raise AssertionError(f"batch-status failed: {r}")
            for item in r.json["results"]:
                out[item["id"]] = item.get("status", item.get("error_code"))
        return out

    def registry_view(self, fleet: Fleet) -> dict[str, str]:
        """The status of every id of `fleet`, each asked with its owner's token."""
        view: dict[str, str] = {}
        for project, token in ((PROJECT_A, TOKEN_A), (PROJECT_B, TOKEN_B)):
            ids = fleet.ids(project)
            if ids:
                view.update(self.statuses(ids, token=token, project=project))
        return view

    def metrics(self) -> Response:
        return http_call(self.port, "GET", "/metrics")

    def metric_values(self) -> dict[str, float]:
        """/metrics as `name{labels}` -> value."""
        r = self.metrics()
        if r.status != 200:
            raise AssertionError(f"/metrics failed: {r}")
        return parse_metrics(r.raw.decode("utf-8"))

    def registry_line(self, limit: float = START_TIMEOUT) -> str:
        """The `registry: ...` line the running process printed after `listening on`."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            for line in self.stdout_lines[self._spawned_at:]:
                if line.startswith("registry: "):
                    return line
            time.sleep(0.02)
        raise AssertionError(f"no registry line on stdout: {self.stdout_lines}")

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text exposition: `name{labels}` -> value."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise AssertionError(f"not a Prometheus sample line: {line!r}")
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


# --------------------------------------------------------------------------------------------
# The server process, seen from /proc


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_bytes(pid: int) -> int:
    """VmRSS of the process."""
    with open(f"/proc/{pid}/status", "r", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def sanitized(pid: int) -> bool:
    """True when the process runs with a sanitizer runtime (its memory is not returned at once)."""
    with open(f"/proc/{pid}/maps", "r", encoding="utf-8", errors="replace") as f:
        maps = f.read()
    if "libasan" in maps or "libtsan" in maps:
        return True
    with open(f"/proc/{pid}/exe", "rb") as f:  # statically linked sanitizer runtimes (clang)
        import mmap
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return m.find(b"__asan_init") >= 0 or m.find(b"__tsan_init") >= 0


def limit_descriptors(n: int) -> Callable[[], None]:
    """A preexec_fn that sets the child's RLIMIT_NOFILE (soft and hard) to `n`."""
    import resource

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))

    return apply


# --------------------------------------------------------------------------------------------
# Test case base


def stop_shared_server(srv: Server) -> None:
    """Stops a server shared by a test class (its tearDownClass): SIGTERM must end it with exit
    code 0; it is closed whatever happens."""
    try:
        rc = srv.stop()
        if rc != 0:
            raise AssertionError(f"exit code {rc} after SIGTERM: {srv.stderr_lines}")
    finally:
        srv.close()


class E2ECase(unittest.TestCase):
    maxDiff = None

    def start_server(self, **kw) -> Server:
        srv = Server(**kw)
        self.addCleanup(srv.close)
        return srv.start()

    def temp_dir(self, prefix: str = "taskorch-e2e-") -> str:
        """A fresh temporary folder, removed after the test."""
        d = tempfile.TemporaryDirectory(prefix=prefix)
        self.addCleanup(d.cleanup)
        return d.name

    def data_dir(self) -> str:
        """A data directory that does not exist yet, in a fresh temporary folder."""
        return os.path.join(self.temp_dir("taskorch-e2e-data-"), "data")

    def stop_ok(self, srv: Server) -> None:
        rc = srv.stop()
        self.assertEqual(rc, 0, f"taskorch-server exit code after SIGTERM; stderr: {srv.stderr_lines}")

    def assertError(self, r: Response, status: int, code: str, message_contains: str | None = None) -> dict:
        self.assertEqual(r.status, status, str(r))
        self.assertTrue((r.header("content-type") or "").startswith("application/json"), str(r.headers))
        body = r.json
        self.assertIsInstance(body, dict, str(r))
        self.assertEqual(set(body), {"error_code", "error_msg"}, str(r))
        self.assertEqual(body["error_code"], code, str(r))
        self.assertIsInstance(body["error_msg"], str)
        self.assertTrue(body["error_msg"], str(r))
        if message_contains is not None:
            self.assertIn(message_contains, body["error_msg"], str(r))
        return body

    def assertBatch(self, r: Response, expected: list[tuple[str, str | None]], status: int = 200) -> list[dict]:
        """`expected`: (id, None for success or the item's error code), in request order;
        `status`: the HTTP status (202 for batch-starting and batch-jobs)."""
        self.assertEqual(r.status, status, str(r))
        body = r.json
        self.assertEqual(set(body), {"results", "count"}, str(r))
        self.assertEqual(body["count"], len(expected), str(r))
        self.assertEqual(len(body["results"]), len(expected), str(r))
        for item, (jid, code) in zip(body["results"], expected):
            self.assertEqual(item["id"], jid, str(r))
            if code is None:
                self.assertEqual(item, {"id": jid, "status": "success"}, str(r))
            else:
                self.assertEqual(set(item), {"id", "status", "error_code", "error_msg"}, str(item))
                self.assertEqual(item["status"], "failed", str(item))
                self.assertEqual(item["error_code"], code, str(item))
                self.assertTrue(item["error_msg"], str(item))
        return body["results"]

    def assertStatuses(self, srv: Server, expected: dict[str, str], token: str = TOKEN_A,
                       project: str = PROJECT_A) -> None:
        self.assertEqual(srv.statuses(list(expected), token=token, project=project), expected)
