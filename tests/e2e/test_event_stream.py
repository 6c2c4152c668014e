"""End-to-end tests of the event stream, `GET /v3/{project_id}/events` (docs/http-api.md,
"Event stream"): Server-Sent Events of the project's task changes, read here by a client
written with the standard library that parses the frames.

Covered: the head (200, text/event-stream, no-cache, X-Accel-Buffering: no) and the first
`retry: 1000`; the changes of pause, resume and start batches and of a worker's report, in
order, ids increasing, each field of each frame checked against what the batch did; only the
token's project's changes; a reader's and a worker's token may stream; resuming with
Last-Event-ID after closing, and with `?since=`, gives exactly the changes after it (no gap, no
duplicate); `?since=0` gives every change kept; without either, only new changes; 400
TASKORCH.0400 for a malformed position (English and Chinese); 410 TASKORCH.0410 with `oldest`
for a position the feed dropped (`--feed-capacity`) or never gave out; 503 over
`--max-event-streams`; keep-alive comments (`--sse-heartbeat-ms 200`); a client that never
reads is disconnected within `--sse-write-timeout-ms` while batches keep completing; SIGTERM
ends open streams at once; with `--data-dir`, the changes seen before a restart are served
after it, and resuming after one of them gives the rest, then the new ones.

Every wait is bounded; every server listens on 127.0.0.1.
"""

from __future__ import annotations

import socket
import statistics
import time
import unittest
from dataclasses import dataclass, field
from typing import Any

from e2e_support import (stop_shared_server, CJK, PROJECT_A, PROJECT_B, TOKEN_A, TOKEN_B, E2ECase, Fleet, Server,
                         strict_json)

READER = "e2e-sse-reader-3f9c1d27"
WORKER = "e2e-sse-worker-8b21e6a4"
TOKENS = [
    (TOKEN_A, PROJECT_A),
    (TOKEN_B, PROJECT_B),
    (READER, f"{PROJECT_A}:reader"),  # e2e_support writes TOKEN:PROJECT; the role rides on it
    (WORKER, f"{PROJECT_A}:worker"),
]

STREAM_LIMIT = 30.0  # seconds any one wait for frames may take

# What a change frame's data holds (docs/http-api.md, "Event stream").
FIELDS = {"sequence", "job_id", "from", "to", "cause", "origin", "time", "awaiting", "version"}
# The command each of these commands leaves awaiting a worker's confirmation (docs/behaviour.md,
# "Commands awaiting a worker"; event_rules' awaits_worker).
AWAITS = {"start": "start", "pause": "pause", "resume": "resume"}

BAD_POSITION = ("TASKORCH.0400",
                "The event position is invalid: Last-Event-ID and since take a whole number, a position in the event stream.")
GONE = ("TASKORCH.0410",
        "The events after this position are no longer kept: list the tasks again, then resume after the position in oldest.")


# --------------------------------------------------------------------------------------------
# A Server-Sent Events client


@dataclass
class Frame:
    event: str = "message"  # the `event` field (SSE's default type when absent)
    id: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return strict_json(self.data)


class EventStream:
    """One GET events request on its own connection. After open(): `status`, `headers`, and
    for an answer other than 200 its JSON `body`; for 200 the frames, read with frame()."""

    def __init__(self, port: int, token: str | None = TOKEN_A, project: str = PROJECT_A, query: str = "",
                 last_event_id: str | None = None, headers: dict[str, str] | None = None,
                 receive_buffer: int | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:  # before connecting, so that the window is small from the start
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(STREAM_LIMIT)
        self.sock.connect(("127.0.0.1", port))
        lines = [f"GET /v3/{project}/events{query} HTTP/1.1", "Host: 127.0.0.1", "Accept: text/event-stream"]
        if token is not None:
            lines.append(f"X-Auth-Token: {token}")
        if last_event_id is not None:
            lines.append(f"Last-Event-ID: {last_event_id}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        self.buf = b""
        self.closed = False
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body: Any = None

    # -- reading

    def _fill(self, deadline: float) -> bool:
        """Receives more bytes before `deadline`; False when the peer closed or time is up."""
        left = deadline - time.monotonic()
        if left <= 0 or self.closed:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            self.closed = True
            return False
        self.buf += chunk
        return True

    def open(self, limit: float = STREAM_LIMIT) -> "EventStream":
        """Reads the head; for 200 also the first frame, which must be `retry: 1000`."""
        deadline = time.monotonic() + limit
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline):
                raise AssertionError(f"no response head within {limit} s: {self.buf[:300]!r}")
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ")[1])
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        if self.status != 200:
            length = int(self.headers.get("content-length", "0"))
            while len(self.buf) < length:
                if not self._fill(deadline):
                    raise AssertionError(f"incomplete body: {self.buf!r}")
            self.body = strict_json(self.buf[:length])
            self.buf = self.buf[length:]
            return self
        first = self.frame(limit)
        if first is None or first.retry != 1000 or first.data is not None:
            raise AssertionError(f"the first frame is not `retry: 1000`: {first}")
        return self

    def frame(self, limit: float = STREAM_LIMIT) -> Frame | None:
        """The next frame; None when the server closed the connection (or time is up:
        then `closed` is False)."""
        deadline = time.monotonic() + limit
        while b"\n\n" not in self.buf:
            if not self._fill(deadline):
                return None
        raw, _, self.buf = self.buf.partition(b"\n\n")
        f = Frame()
        for line in raw.decode("utf-8").split("\n"):
            if line.startswith(":"):
                f.comments.append(line[1:].strip())
                continue
            name, colon, value = line.partition(":")
            if colon and value.startswith(" "):
                value = value[1:]
            if name == "event":
                f.event = value
            elif name == "id":
                f.id = value
            elif name == "data":
                f.data = value if f.data is None else f.data + "\n" + value
            elif name == "retry":
                f.retry = int(value)
            else:
                raise AssertionError(f"unknown field in frame: {line!r}")
        return f

    def changes(self, n: int, limit: float = STREAM_LIMIT) -> list[dict]:
        """The next `n` change frames' data (keep-alives skipped), each checked: its id is its
        sequence; the frame has exactly the documented fields."""
        out: list[dict] = []
        deadline = time.monotonic() + limit
        while len(out) < n:
            f = self.frame(max(0.0, deadline - time.monotonic()))
            if f is None:
                raise AssertionError(f"{len(out)} of {n} changes, then {'the end' if self.closed else 'nothing'}: {out[-3:]}")
            if f.data is None:
                continue  # a keep-alive
            if f.event != "change":
                raise AssertionError(f"not a change: {f}")
            data = f.json
            expected = FIELDS | ({"pause_mode"} if data.get("to") == "PAUSING" else set())
            if set(data) != expected:
                raise AssertionError(f"fields {sorted(data)} instead of {sorted(expected)}: {f}")
            if f.id != str(data["sequence"]):
                raise AssertionError(f"id {f.id} is not the sequence: {f}")
            out.append(data)
        return out

    def quiet(self, seconds: float) -> list[Frame]:
        """Reads for `seconds`; returns the change frames that came (there should be none)."""
        got = []
        deadline = time.monotonic() + seconds
        while True:
            f = self.frame(max(0.0, deadline - time.monotonic()))
            if f is None:
                return got
            if f.data is not None:
                got.append(f)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def ids_of(changes: list[dict]) -> list[int]:
    return [c["sequence"] for c in changes]


# --------------------------------------------------------------------------------------------


class StreamCase(E2ECase):
    srv: Server

    def stream(self, **kw) -> EventStream:
        s = EventStream(self.srv.port, **kw)
        self.addCleanup(s.close)
        return s.open()

    def assertStreamError(self, s: EventStream, status: int, code: str, message: str) -> dict:
        self.assertEqual(s.status, status, str(s.body))
        self.assertTrue(s.headers.get("content-type", "").startswith("application/json"), s.headers)
        self.assertEqual(s.body["error_code"], code, str(s.body))
        self.assertEqual(s.body["error_msg"], message, str(s.body))
        return s.body

    def assertIncreasing(self, changes: list[dict]) -> None:
        ids = ids_of(changes)
        self.assertEqual(ids, sorted(set(ids)), "ids must increase strictly")


class EventStreamTests(StreamCase):
    """One server, `--sse-heartbeat-ms 200`, on a fleet of running and configured tasks in
    both projects."""

    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet("sse0")
        cls.running = [cls.fleet.task("FULL_TRANSFER_STARTED" if i % 2 else "INCRE_TRANSFER_STARTED", PROJECT_A)
                       for i in range(40)]
        cls.configured = [cls.fleet.task("CONFIGURATION", PROJECT_A) for _ in range(10)]
        cls.running_b = [cls.fleet.task("INCRE_TRANSFER_STARTED", PROJECT_B) for _ in range(10)]
        cls.srv = Server(fleet=cls.fleet, tokens=TOKENS, args=["--sse-heartbeat-ms", "200"])
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        stop_shared_server(cls.srv)

    def cycle(self, ids: list[str], token: str = TOKEN_A, project: str = PROJECT_A) -> None:
        """Pauses `ids` (mode target), then resumes them; both batches must succeed whole."""
        r = self.srv.pause([(i, "target") for i in ids], token=token, project=project)
        self.assertBatch(r, [(i, None) for i in ids])
        r = self.srv.retry(ids, token=token, project=project)
        self.assertBatch(r, [(i, None) for i in ids])

    def test_the_head_and_the_first_frame(self):
        s = self.stream()
        self.assertEqual(s.status, 200)
        self.assertEqual(s.headers.get("content-type"), "text/event-stream")
        self.assertEqual(s.headers.get("cache-control"), "no-cache")
        self.assertEqual(s.headers.get("x-accel-buffering"), "no")
        self.assertEqual(s.headers.get("connection"), "close")
        self.assertNotIn("content-length", s.headers)
        self.assertNotIn("transfer-encoding", s.headers)

    def test_pause_resume_and_start_batches_arrive_in_order_with_every_field(self):
        ids = self.running[:12]
        modes = {i: ("all" if n % 3 == 0 else "target") for n, i in enumerate(ids)}
        before = self.srv.versions(ids)
        statuses = self.srv.statuses(ids)
        s = self.stream()
        t0 = int(time.time() * 1000) - 1000
        self.assertBatch(self.srv.pause([(i, modes[i]) for i in ids]), [(i, None) for i in ids])
        self.assertBatch(self.srv.retry(ids), [(i, None) for i in ids])
        started = self.configured[:4]
        self.assertBatch(self.srv.start_jobs(started), [(i, None) for i in started], status=202)
        t1 = int(time.time() * 1000) + 1000
        got = s.changes(2 * len(ids) + len(started))
        self.assertIncreasing(got)
        # A batch applied after another one completed comes after all of its changes.
        self.assertEqual([c["cause"] for c in got],
                         ["pause"] * len(ids) + ["resume"] * len(ids) + ["start"] * len(started))
        self.assertEqual({c["job_id"] for c in got[:len(ids)]}, set(ids))
        self.assertEqual({c["job_id"] for c in got[len(ids):2 * len(ids)]}, set(ids))
        self.assertEqual({c["job_id"] for c in got[2 * len(ids):]}, set(started))
        for c in got:
            with self.subTest(change=c):
                self.assertEqual(c["origin"], "command")
                self.assertEqual(c["awaiting"], AWAITS[c["cause"]])
                self.assertIsInstance(c["time"], int)
                self.assertTrue(t0 <= c["time"] <= t1, (t0, c["time"], t1))
                i = c["job_id"]
                if c["cause"] == "pause":
                    self.assertEqual((c["from"], c["to"], c["pause_mode"]), (statuses[i], "PAUSING", modes[i]))
                    self.assertEqual(c["version"], before[i] + 1)
                elif c["cause"] == "resume":
                    self.assertEqual((c["from"], c["to"]), ("PAUSING", statuses[i]))
                    self.assertEqual(c["version"], before[i] + 2)
                else:
                    self.assertEqual((c["from"], c["to"]), ("CONFIGURATION", "STARTJOBING"))
        self.assertEqual(s.quiet(0.5), [])

    def test_a_workers_report_is_a_change_of_origin_worker(self):
        task = self.configured[5]
        s = self.stream(token=WORKER)  # a worker may stream
        self.assertBatch(self.srv.start_jobs([task]), [(task, None)], status=202)
        r = self.srv.report([(task, "start_succeeded")], token=WORKER)
        self.assertBatch(r, [(task, None)])
        start, report = s.changes(2)
        self.assertEqual((start["cause"], start["origin"], start["to"]), ("start", "command", "STARTJOBING"))
        self.assertEqual((report["cause"], report["origin"], report["from"], report["to"]),
                         ("start_succeeded", "worker", "STARTJOBING", "FULL_TRANSFER_STARTED"))
        self.assertEqual(report["version"], start["version"] + 1)
        self.assertGreater(report["sequence"], start["sequence"])

    def test_only_the_tokens_projects_changes(self):
        a = self.stream()
        b = self.stream(token=TOKEN_B, project=PROJECT_B)
        reader = self.stream(token=READER)  # a reader may stream
        mine, theirs = self.running[12:17], self.running_b[:5]
        self.cycle(theirs, token=TOKEN_B, project=PROJECT_B)
        self.cycle(mine)
        self.cycle(theirs, token=TOKEN_B, project=PROJECT_B)
        got_a = a.changes(10)
        self.assertEqual({c["job_id"] for c in got_a}, set(mine))
        self.assertEqual(reader.changes(10), got_a)
        got_b = b.changes(20)
        self.assertEqual({c["job_id"] for c in got_b}, set(theirs))
        self.assertIncreasing(got_b)
        for s in (a, b, reader):
            self.assertEqual(s.quiet(0.3), [])
        # Another project's stream with this project's token: 403 like any other call.
        other = self.stream(token=TOKEN_A, project=PROJECT_B)
        self.assertStreamError(other, 403, "DRS.M00261", "Invalid project ID.")
        unknown = self.stream(token="no-such-token")
        self.assertEqual(unknown.status, 401)
        self.assertEqual(unknown.body["error_code"], "APIGW.0301")

    def test_resume_after_last_event_id_or_since_gives_exactly_the_rest(self):
        ids = self.running[17:27]
        reference = self.stream()
        first = self.stream()
        self.cycle(ids)
        seen = first.changes(7)
        first.close()  # the client goes after its 7th change
        self.cycle(ids)
        everything = reference.changes(40)
        self.assertIncreasing(everything)
        self.assertEqual(everything[:7], seen)
        last = seen[-1]["sequence"]
        resumed = self.stream(last_event_id=str(last))
        self.assertEqual(resumed.changes(33), everything[7:])
        by_query = self.stream(query=f"?since={last}")
        self.assertEqual(by_query.changes(33), everything[7:])
        both = self.stream(query="?since=1", last_event_id=str(everything[20]["sequence"]))  # the header wins
        self.assertEqual(both.changes(19), everything[21:])
        at_end = self.stream(last_event_id=str(everything[-1]["sequence"]))
        for s in (resumed, by_query, both, at_end):
            self.assertEqual(s.quiet(0.5), [], "no duplicate, nothing more")

    def test_since_zero_gives_every_change_kept_and_no_position_only_new_ones(self):
        ids = self.running[27:30]
        self.cycle(ids)
        everything = self.stream(query="?since=0")
        now = self.stream()
        self.cycle(ids)
        fresh = now.changes(6)
        self.assertEqual({c["job_id"] for c in fresh}, set(ids))
        # Every change of the project the server made, from the first: at least those of this
        # test, which come last.
        total = fresh[-1]["sequence"]
        kept = []
        while not kept or kept[-1]["sequence"] != total:
            kept += everything.changes(1)
        self.assertIncreasing(kept)
        self.assertEqual(kept[-6:], fresh)
        self.assertGreaterEqual(len(kept), 12)
        self.assertEqual(now.quiet(0.3), [])

    def test_a_malformed_position_is_400(self):
        for kw in ({"last_event_id": "abc"}, {"last_event_id": "-1"}, {"last_event_id": ""},
                   {"last_event_id": "18446744073709551616"}, {"query": "?since=x"}, {"query": "?since="},
                   {"query": "?since=1&since=2"}, {"query": "?since=1.5"}):
            with self.subTest(**kw):
                self.assertStreamError(self.stream(**kw), 400, *BAD_POSITION)
        zh = self.stream(query="?since=x", headers={"X-Language": "zh-cn"})
        self.assertEqual(zh.status, 400)
        self.assertEqual(zh.body["error_code"], "TASKORCH.0400")
        self.assertRegex(zh.body["error_msg"], CJK)

    def test_a_position_never_given_out_is_410(self):
        s = self.stream(last_event_id="999999999")
        body = self.assertStreamError(s, 410, *GONE)
        self.assertEqual(set(body), {"error_code", "error_msg", "oldest"})
        self.assertEqual(body["oldest"], 0)  # nothing dropped yet

    def test_keep_alive_comments_when_idle(self):
        s = self.stream(token=TOKEN_B, project=PROJECT_B)
        t0 = time.monotonic()
        comments = []
        while len(comments) < 3:
            f = s.frame(10.0)
            self.assertIsNotNone(f, "the stream ended or went silent")
            self.assertIsNone(f.data, str(f))
            comments += f.comments
        self.assertEqual(comments, ["keep-alive"] * 3)
        self.assertLess(time.monotonic() - t0, 10.0)

    def test_a_keep_alive_moves_a_quiet_streams_id_past_other_projects_events(self):
        # A quiet project's client would otherwise keep an old id, which the feed may drop
        # while other projects change: its reconnection would be refused (410) for nothing.
        busy = self.stream()
        quiet = self.stream(token=TOKEN_B, project=PROJECT_B)
        self.cycle(self.running)
        last = int(busy.changes(2 * len(self.running))[-1]["sequence"])
        deadline = time.monotonic() + 10.0
        moved = None
        while moved is None and time.monotonic() < deadline:
            f = quiet.frame(10.0)
            self.assertIsNotNone(f, "the stream ended or went silent")
            self.assertIsNone(f.data, f"another project's change reached this stream: {f}")
            if f.id is not None:
                moved = f
        self.assertIsNotNone(moved, "no keep-alive carried an id")
        self.assertEqual(moved.comments, ["keep-alive"])
        self.assertEqual(int(moved.id), last)
        # Resuming from it gives nothing old, and the next change of its own project.
        resumed = self.stream(token=TOKEN_B, project=PROJECT_B, last_event_id=moved.id)
        self.cycle(self.running_b[:1], token=TOKEN_B, project=PROJECT_B)
        (first, _) = resumed.changes(2)
        self.assertGreater(int(first["sequence"]), last)
        self.assertEqual(first["job_id"], self.running_b[0])

    def test_metrics_count_open_streams(self):
        with EventStream(self.srv.port).open() as s:
            self.assertEqual(s.status, 200)
            m = self.srv.metric_values()
            self.assertGreaterEqual(m["taskorch_event_streams_open"], 1)
            self.assertGreaterEqual(m['taskorch_http_requests_total{endpoint="events",code="200"}'], 1)
        deadline = time.monotonic() + STREAM_LIMIT
        while self.srv.metric_values()["taskorch_event_streams_open"] != 0:
            self.assertLess(time.monotonic(), deadline, "a closed stream is still counted")
            time.sleep(0.05)


class SmallFeedTests(StreamCase):
    """`--feed-capacity 16 --max-event-streams 2`: positions are dropped soon."""

    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet("sse1")
        cls.ids = [cls.fleet.task("INCRE_TRANSFER_STARTED", PROJECT_A) for _ in range(20)]
        cls.marker = cls.fleet.task("INCRE_TRANSFER_STARTED", PROJECT_A)
        cls.srv = Server(fleet=cls.fleet, tokens=TOKENS, args=["--feed-capacity", "16", "--max-event-streams", "2"])
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        stop_shared_server(cls.srv)

    def test_a_position_the_feed_dropped_is_410_with_the_oldest_to_resume_after(self):
        first = self.stream()
        self.assertBatch(self.srv.pause([(self.marker, "target")]), [(self.marker, None)])
        seen = first.changes(1)[0]["sequence"]  # a client saw this change, then went
        first.close()
        # 40 more changes: the feed keeps the last 16 positions only.
        self.assertBatch(self.srv.pause([(i, "target") for i in self.ids]), [(i, None) for i in self.ids])
        self.assertBatch(self.srv.retry(self.ids), [(i, None) for i in self.ids])
        last = seen + 40
        gone = self.stream(last_event_id=str(seen))
        body = self.assertStreamError(gone, 410, *GONE)
        self.assertEqual(set(body), {"error_code", "error_msg", "oldest"})
        oldest = body["oldest"]
        self.assertEqual(oldest, last - 16)
        zh = self.stream(query=f"?since={seen}", headers={"X-Language": "zh-cn"})
        self.assertEqual(zh.status, 410)
        self.assertEqual(zh.body["error_code"], "TASKORCH.0410")
        self.assertRegex(zh.body["error_msg"], CJK)
        self.assertEqual(zh.body["oldest"], oldest)
        # After relisting, a client resumes after `oldest`: the rest, up to the last change.
        self.assertEqual(set(self.srv.statuses(self.ids).values()), {"INCRE_TRANSFER_STARTED"})
        resumed = self.stream(last_event_id=str(oldest))
        rest = resumed.changes(last - oldest)
        self.assertEqual(ids_of(rest), list(range(oldest + 1, last + 1)))
        self.assertEqual({c["cause"] for c in rest}, {"resume"})
        self.assertEqual(resumed.quiet(0.3), [])
        resumed.close()
        # 0 means every change kept: no 410.
        everything = self.stream(last_event_id="0")
        self.assertEqual(everything.changes(last - oldest), rest)

    def test_more_streams_than_the_cap_are_503(self):
        a = self.stream()
        b = self.stream(token=READER)
        over = self.stream()
        self.assertStreamError(over, 503, "TASKORCH.0503", "Too many event streams are open; try again later.")
        a.close()
        deadline = time.monotonic() + STREAM_LIMIT
        while True:
            again = EventStream(self.srv.port).open()
            self.addCleanup(again.close)
            if again.status == 200:
                break
            self.assertEqual(again.status, 503)
            self.assertLess(time.monotonic(), deadline, "a closed stream's place was not given back")
            time.sleep(0.05)
        b.close()


class SlowConsumerTests(StreamCase):
    """`--sse-write-timeout-ms 500`: a client that does not read is disconnected."""

    TASKS = 4000

    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet("sse2")
        cls.ids = [cls.fleet.task("INCRE_TRANSFER_STARTED", PROJECT_A) for _ in range(cls.TASKS)]
        cls.srv = Server(fleet=cls.fleet, tokens=TOKENS, args=["--sse-write-timeout-ms", "500"])
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        stop_shared_server(cls.srv)

    def cut_offs(self) -> float:
        m = self.srv.metric_values()
        return sum(v for k, v in m.items() if k.startswith("taskorch_event_streams_cut_off_total"))

    def test_a_client_that_does_not_read_is_disconnected_and_batches_go_on(self):
        pause = [(i, "target") for i in self.ids]
        # The batches' latencies without a stalled stream, for the figures printed below.
        alone = []
        for _ in range(3):
            for batch in (lambda: self.srv.pause(pause), lambda: self.srv.retry(self.ids)):
                t = time.monotonic()
                self.assertEqual(batch().status, 200)
                alone.append(time.monotonic() - t)
        slow = EventStream(self.srv.port, receive_buffer=1024)
        self.addCleanup(slow.close)
        # Its head and first frames fit in the buffers: it is open. It never reads again.
        deadline = time.monotonic() + STREAM_LIMIT
        while self.srv.metric_values()["taskorch_event_streams_open"] != 1:
            self.assertLess(time.monotonic(), deadline, "the stream did not open")
            time.sleep(0.02)
        # Enough changes that their frames (300 bytes or more each) cannot all wait in the
        # socket buffers: once they are made, a write is pending that cannot complete.
        try:
            with open("/proc/sys/net/ipv4/tcp_wmem", encoding="ascii") as f:
                send_buffer = int(f.read().split()[2])
        except (OSError, ValueError, IndexError):
            send_buffer = 4 << 20
        enough = (send_buffer + (8 << 20)) // 300
        latencies = []
        sent = 0
        while self.cut_offs() == 0 and sent < enough:
            for batch in (lambda: self.srv.pause(pause), lambda: self.srv.retry(self.ids)):
                t = time.monotonic()
                r = batch()
                latencies.append(time.monotonic() - t)
                self.assertEqual(r.status, 200, str(r))
                self.assertEqual(r.json["count"], self.TASKS)
                sent += self.TASKS
        made = time.monotonic()
        # The write pending since then (at the latest) is cut off within the write timeout, give
        # or take the time /metrics takes to say so on a loaded machine.
        while self.cut_offs() == 0:
            self.assertLess(time.monotonic() - made, 0.5 + 5.0, f"no cut-off after {sent} changes")
            time.sleep(0.02)
        cut_after = time.monotonic() - made
        self.assertLess(max(latencies), 10.0, "a batch waited for the slow client")
        print(f"slow consumer: cut off {cut_after:.2f} s after the last of {sent} changes "
              f"({len(latencies)} batches of {self.TASKS}); batch latency median "
              f"{statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms "
              f"with the stalled stream, median {statistics.median(alone) * 1000:.1f} ms without")
        m = self.srv.metric_values()
        self.assertEqual(m['taskorch_event_streams_cut_off_total{reason="write_timeout"}'], 1)
        deadline = time.monotonic() + STREAM_LIMIT
        while self.srv.metric_values()["taskorch_event_streams_open"] != 0:
            self.assertLess(time.monotonic(), deadline, "the cut-off stream is still counted")
            time.sleep(0.05)
        # The client finds what had been sent, then the end of the connection.
        slow.sock.settimeout(STREAM_LIMIT)
        end = time.monotonic() + STREAM_LIMIT
        while not slow.closed:
            self.assertLess(time.monotonic(), end, "the connection was not closed")
            slow._fill(end)
        self.assertIn(b"event: change", slow.buf)
        # The server goes on: another stream and another batch.
        fresh = self.stream()
        self.assertBatch(self.srv.pause(pause[:3]), [(i, None) for i, _ in pause[:3]])
        self.assertEqual({c["job_id"] for c in fresh.changes(3)}, set(self.ids[:3]))


class LifecycleTests(StreamCase):
    """SIGTERM and restarts, each test on its own server."""

    def test_sigterm_ends_open_streams_at_once(self):
        fleet = Fleet("sse3")
        ids = [fleet.task("INCRE_TRANSFER_STARTED", PROJECT_A) for _ in range(3)]
        self.srv = self.start_server(fleet=fleet, tokens=TOKENS, args=["--sse-heartbeat-ms", "100000"])
        streams = [self.stream(), self.stream(token=READER, query="?since=0")]
        self.assertBatch(self.srv.pause([(i, "all") for i in ids]), [(i, None) for i in ids])
        for s in streams:
            self.assertEqual(len(s.changes(3)), 3)
        t = time.monotonic()
        self.stop_ok(self.srv)
        self.assertLess(time.monotonic() - t, 5.0, "the streams held the shutdown")
        for s in streams:
            self.assertIsNone(s.frame(5.0))
            self.assertTrue(s.closed)

    def test_changes_seen_before_a_restart_are_served_after_it(self):
        fleet = Fleet("sse4")
        ids = [fleet.task("FULL_TRANSFER_STARTED", PROJECT_A) for _ in range(6)]
        self.srv = self.start_server(fleet=fleet, tokens=TOKENS, data_dir=self.data_dir())
        s = self.stream()
        self.assertBatch(self.srv.pause([(i, "target") for i in ids]), [(i, None) for i in ids])
        self.assertBatch(self.srv.retry(ids), [(i, None) for i in ids])
        before = s.changes(12)
        self.assertIncreasing(before)
        s.close()
        self.stop_ok(self.srv)
        self.srv.restart()
        # Resuming after the 5th change gives the 7 after it, as they were.
        resumed = self.stream(last_event_id=str(before[4]["sequence"]))
        self.assertEqual(resumed.changes(7), before[5:])
        self.assertEqual(resumed.quiet(0.3), [])
        everything = self.stream(query="?since=0")
        self.assertEqual(everything.changes(12), before)
        # New changes take new positions: after the last one seen, never one of them again.
        at_end = self.stream(last_event_id=str(before[-1]["sequence"]))
        self.assertBatch(self.srv.pause([(ids[0], "all")]), [(ids[0], None)])
        new = at_end.changes(1)[0]
        self.assertGreater(new["sequence"], before[-1]["sequence"])
        self.assertEqual((new["job_id"], new["cause"], new["pause_mode"]), (ids[0], "pause", "all"))
        self.assertEqual(new["version"], max(c["version"] for c in before if c["job_id"] == ids[0]) + 1)
        self.assertEqual(resumed.changes(1), [new])
        self.assertEqual(at_end.quiet(0.3), [])


if __name__ == "__main__":
    unittest.main()
