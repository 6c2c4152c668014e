"""Hostile requests against taskorch-server.

Truncated bodies, garbage bytes, deep and huge JSON, a 100k-item batch, slow-drip headers and
bodies, idle connections over the connection cap, oversized headers. Each one is answered 4xx or
cut off by a timeout; the server keeps serving afterwards; and the registry is unchanged: after
every test a batch-status of every known id is compared with the start, and at the end the state
file written at SIGTERM is compared with the one of an identical server that got no traffic.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import tempfile
import threading
import time
import unittest

from e2e_support import (PAUSE, PROJECT_A, PROJECT_B, RETRY, STATUS, TOKEN_A, TOKEN_B, E2ECase, Fleet, Server,
                         api_path, connect, head_of, headers_only, parse_responses, read_response,
                         read_responses, read_until, request_bytes, wait_closed)

READ_TIMEOUT_MS = 1000
IDLE_TIMEOUT_MS = 3000
MAX_BODY = 6_000_000
SLACK = 30.0  # seconds of slack on every cut-off (loaded machine, sanitizers)

HOSTILE_ARGS = ["--read-timeout-ms", str(READ_TIMEOUT_MS), "--idle-timeout-ms", str(IDLE_TIMEOUT_MS),
                "--max-body", str(MAX_BODY), "--max-connections", "256", "--threads", "2"]


def hostile_fleet() -> Fleet:
    f = Fleet("hos0")
    for status in ("FULL_TRANSFER_STARTED", "FULL_TRANSFER_COMPLETE", "INCRE_TRANSFER_STARTED",
                   "FULL_TRANSFER_FAILED", "INCRE_TRANSFER_FAILED", "START_JOB_FAILED", "CONFIGURATION",
                   "STARTJOBING", "RELEASE_RESOURCE_STARTED", "RELEASE_RESOURCE_COMPLETE", "DELETED"):
        for project in (PROJECT_A, PROJECT_B):
            f.task(status, project)
    f.task("PAUSING", PROJECT_A, pause_mode="target", paused_from="INCRE_TRANSFER_STARTED")
    f.task("PAUSING", PROJECT_B, pause_mode="all", paused_from="FULL_TRANSFER_FAILED")
    f.family("INCRE_TRANSFER_STARTED", "FULL_TRANSFER_STARTED")
    f.family("PAUSING", "INCRE_TRANSFER_FAILED", PROJECT_B, forward_pause=("all", "INCRE_TRANSFER_STARTED"))
    return f


def pause_body(ids, mode="all") -> bytes:
    return json.dumps({"jobs": [{"job_id": i, "pause_mode": mode} for i in ids]}).encode()


def exchange(port: int, data: bytes, limit: float, shut_write: bool = False) -> tuple[bool, bytes]:
    """Sends raw bytes, then waits up to `limit` s for the server to close; (closed, received)."""
    try:
        s = connect(port)
    except ConnectionRefusedError:
        return True, b""
    with s:
        try:
            s.sendall(data)
            if shut_write:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return wait_closed(s, limit)


class HostileCase(E2ECase):
    """Shared hostile server; subclasses check it still serves and its registry is unchanged."""

    srv: Server
    fleet: Fleet
    baseline: dict

    def assertServingUnchanged(self):
        self.assertTrue(self.srv.running(), "the server died")
        self.assertEqual(self.srv.registry_view(self.fleet), self.baseline)

    def assertAnsweredOrCut(self, closed: bool, got: bytes, what: str):
        """4xx, or cut off without an answer; never 2xx/5xx, never left hanging."""
        self.assertTrue(closed, f"{what}: the connection was not closed in time (received {got[:200]!r})")
        if got:
            status = head_of(got)
            self.assertIsNotNone(status, f"{what}: not an HTTP response: {got[:200]!r}")
            self.assertTrue(400 <= status < 500, f"{what}: answered {got[:300]!r}")


class HostileRequestTests(HostileCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="taskorch-e2e-hostile-")
        cls.fleet = hostile_fleet()
        cls.srv = Server(fleet=cls.fleet, data_dir=os.path.join(cls.tmp.name, "hostile"), args=HOSTILE_ARGS)
        cls.srv.start()
        cls.baseline = cls.srv.registry_view(cls.fleet)
        assert cls.baseline == cls.fleet.initial, cls.baseline
        cls.pausable_a = [i for i, s in cls.fleet.initial.items()
                          if cls.fleet.owner[i] == PROJECT_A and s in ("INCRE_TRANSFER_STARTED", "FULL_TRANSFER_FAILED")]

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()
        cls.tmp.cleanup()

    def tearDown(self):
        self.assertServingUnchanged()

    # -- truncated and garbage

    def test_truncated_bodies(self):
        body = pause_body(self.pausable_a)  # a complete, valid pause... but shorter than announced
        heads = {"X-Auth-Token": TOKEN_A, "Content-Type": "application/json"}
        for action in (PAUSE, RETRY, STATUS):
            for shut in (True, False):
                with self.subTest(action=action, close_after=shut):
                    closed, got = exchange(self.srv.port, request_bytes("POST", api_path(PROJECT_A, action), body,
                                                                        heads, content_length=len(body) + 40),
                                           READ_TIMEOUT_MS / 1000 + SLACK, shut_write=shut)
                    self.assertAnsweredOrCut(closed, got, "truncated body")
                    self.assertEqual(got, b"", "a truncated request must not be answered as if complete")
        # Truncated head, and a chunked body that stops mid-way.
        for data in (b"POST " + api_path(PROJECT_A, PAUSE).encode() + b" HTTP/1.1\r\nHost: x\r\nX-Auth-To",
                     b"POST " + api_path(PROJECT_A, PAUSE).encode() + b" HTTP/1.1\r\nHost: x\r\nX-Auth-Token: "
                     + TOKEN_A.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" + body[:20]):
            for shut in (True, False):
                with self.subTest(data=data[:40], close_after=shut):
                    closed, got = exchange(self.srv.port, data, READ_TIMEOUT_MS / 1000 + SLACK, shut_write=shut)
                    self.assertAnsweredOrCut(closed, got, "truncated request")

    def test_garbage_instead_of_http(self):
        rnd = random.Random(20261129)
        payloads = [
            b"\x00" * 64,
            bytes(rnd.getrandbits(8) for _ in range(3000)),
            bytes(rnd.getrandbits(8) for _ in range(20)) + b"\r\n\r\n",
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(rnd.getrandbits(8) for _ in range(160)),
            b"HELLO WORLD\r\n\r\n",
            b"GET\r\n\r\n",
            b"\r\n\r\n\r\n\r\n",
            b"POST /v3/x/jobs/batch-status HTTP/9.9\r\nHost: x\r\n\r\n",
            b"POST /v3/x/jobs/batch-status SPDY/1.1\r\nHost: x\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"POST " + api_path(PROJECT_A, STATUS).encode() + b" HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST " + api_path(PROJECT_A, STATUS).encode() + b" HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
            b"POST " + api_path(PROJECT_A, STATUS).encode() + b" HTTP/1.1\r\nContent-Length: 2\r\n"
            b"Content-Length: 3\r\n\r\n{}",
            b"POST " + api_path(PROJECT_A, STATUS).encode() + b" HTTP/1.1\r\nContent-Length: 99999999999999999999999"
            b"\r\n\r\n",
            b"POST " + api_path(PROJECT_A, STATUS).encode() + b" HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Length: 5\r\n\r\n0\r\n\r\n",
            b"POST " + api_path(PROJECT_A, STATUS).encode() + b" HTTP/1.1\r\nX-Auth-Token: " + TOKEN_A.encode()
            + b"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            b"POST " + api_path(PROJECT_A, STATUS).encode() + b" HTTP/1.1\r\nNoColonHere\r\n\r\n",
            b"POST " + api_path(PROJECT_A, STATUS).encode() + b" HTTP/1.1\r\nX-Auth-Token : " + TOKEN_A.encode()
            + b"\r\n\r\n",
            b"POST " + api_path(PROJECT_A, STATUS).encode() + b" HTTP/1.1\r\nX-A: a\r\n folded\r\n\r\n",
            b"POST " + api_path(PROJECT_A, STATUS).encode() + b" HTTP/1.1\r\nX-Auth-Token: a\x00b\r\n\r\n",
            b"POST /v3/\x00/jobs/batch-status HTTP/1.1\r\n\r\n",
            b"POST  " + api_path(PROJECT_A, STATUS).encode() + b"  HTTP/1.1\r\n\r\n",
            b"\xff\xfe\xfd HTTP/1.1\r\n\r\n",
            b"GET /" + b"\xc3\x28" * 10 + b" HTTP/1.1\r\n\r\n",
            b"POST " + api_path(PROJECT_A, PAUSE).encode() + b" HTTP/1.1\n"
            + b"X-Auth-Token: " + TOKEN_A.encode() + b"\nContent-Length: 2\n\n{}",
        ]
        results: list = [None] * len(payloads)

        def run(n: int, data: bytes):
            results[n] = exchange(self.srv.port, data, READ_TIMEOUT_MS / 1000 + SLACK)

        threads = [threading.Thread(target=run, args=(n, p)) for n, p in enumerate(payloads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=READ_TIMEOUT_MS / 1000 + 2 * SLACK)
        for data, result in zip(payloads, results):
            with self.subTest(data=data[:60]):
                self.assertIsNotNone(result, "the client thread hung")
                self.assertAnsweredOrCut(*result, repr(data[:60]))

    # -- request smuggling and other framing (issue 8, defect 10)

    def test_transfer_encoding_that_is_not_just_chunked_is_400_and_closes(self):
        """RFC 9112 §6.3: a request whose Transfer-Encoding does not end in chunked has no
        knowable length. Its body here is a whole pause request: it must not run as the next
        request (the registry check of tearDown proves it was not applied)."""
        target = self.pausable_a[0]
        hidden = request_bytes("POST", api_path(PROJECT_A, PAUSE), pause_body([target]),
                               {"X-Auth-Token": TOKEN_A, "Content-Type": "application/json"})
        for codings in (["identity"], ["xchunked"], ["chunked, identity"], ["gzip, chunked"],
                        ["chunked, chunked"], ["gzip", "chunked"], ["chunked", "identity"]):
            with self.subTest(codings=codings):
                head = (f"POST {api_path(PROJECT_A, STATUS)} HTTP/1.1\r\nHost: x\r\n"
                        f"X-Auth-Token: {TOKEN_A}\r\nContent-Type: application/json\r\n"
                        + "".join(f"Transfer-Encoding: {c}\r\n" for c in codings) + "\r\n").encode()
                closed, got = exchange(self.srv.port, head + hidden, SLACK)
                self.assertTrue(closed, "the connection stayed open")
                answers = parse_responses(got)
                self.assertEqual(len(answers), 1, got[:600])
                self.assertError(answers[0], 400, "TASKORCH.0400")
                self.assertEqual(self.srv.statuses([target]), {target: self.baseline[target]})

    def test_malformed_chunked_body_is_400(self):
        head = (f"POST {api_path(PROJECT_A, STATUS)} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {TOKEN_A}\r\n"
                f"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
        for chunks in (b"zz\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n", b"-1\r\n{}\r\n0\r\n\r\n",
                       b"2;\x01\r\n{}\r\n0\r\n\r\n", b"fffffffffffffffffff\r\n{}\r\n0\r\n\r\n"):
            with self.subTest(chunks=chunks):
                closed, got = exchange(self.srv.port, head + chunks, SLACK)
                self.assertTrue(closed)
                answers = parse_responses(got)
                self.assertEqual(len(answers), 1, got[:600])
                self.assertError(answers[0], 400, "TASKORCH.0400")

    def test_expect_100_continue(self):
        a = self.pausable_a[0]
        body = json.dumps({"jobs": [a]}).encode()
        heads = {"X-Auth-Token": TOKEN_A, "Content-Type": "application/json", "Expect": "100-continue"}
        with connect(self.srv.port) as s:
            s.sendall(request_bytes("POST", api_path(PROJECT_A, STATUS), b"", heads, content_length=len(body)))
            interim = read_until(s, b"\r\n\r\n", SLACK)
            self.assertTrue(interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim)
            s.sendall(body)
            r = read_response(s)
        self.assertEqual(r.json, {"results": [{"id": a, "status": self.baseline[a]}], "count": 1})
        # Refused at the head (401; 413 by Content-Length): the final answer at once, without
        # 100 Continue, and the connection closes (the client then never sends the body).
        for token, length, status in (("wrong-token", len(body), 401), (TOKEN_A, MAX_BODY + 1, 413)):
            with self.subTest(status=status), connect(self.srv.port) as s:
                s.sendall(request_bytes("POST", api_path(PROJECT_A, STATUS), b"",
                                        {**heads, "X-Auth-Token": token}, content_length=length))
                closed, got = wait_closed(s, SLACK)
                self.assertTrue(closed)
                self.assertTrue(got.startswith(f"HTTP/1.1 {status} ".encode()), got[:300])
                self.assertNotIn(b"100 Continue", got)

    def test_401_and_413_survive_an_unread_body(self):
        """The server answers before the body has arrived. A client that sends its whole request
        before reading (as curl and most clients do) must be able to finish sending and then read
        the answer: closing with the body unread would reset the connection under the client's
        send, and the answer would never be read."""
        body = ('{"jobs":["%s"],"pad":"%s"}' % (self.pausable_a[0], "p" * 4_000_000)).encode()
        bigger = ('{"jobs":["%s"],"pad":"%s"}' % (self.pausable_a[0], "p" * (MAX_BODY + 2_000_000))).encode()
        for attempt in range(3):
            for token, data, status, code in (("wrong-token", body, 401, "APIGW.0301"),
                                              (TOKEN_A, bigger, 413, "DRS.M00202")):
                with self.subTest(attempt=attempt, status=status), connect(self.srv.port) as s:
                    request = request_bytes("POST", api_path(PROJECT_A, STATUS), data,
                                            {"X-Auth-Token": token, "Content-Type": "application/json"})
                    try:
                        s.sendall(request)
                    except (BrokenPipeError, ConnectionResetError) as e:
                        self.fail(f"the server reset the connection while the request was sent: {e!r}")
                    self.assertError(read_response(s), status, code)

    def test_head_has_no_body_and_metrics_accepts_it(self):
        with connect(self.srv.port) as s:
            s.sendall(b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"HEAD " + api_path(PROJECT_A, PAUSE).encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"HEAD /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n")
            metrics, pause, unknown, last = read_responses(s, 4, heads={0, 1, 2})
        self.assertEqual(metrics.status, 200, str(metrics))
        self.assertTrue(metrics.header("content-type").startswith("text/plain"))
        self.assertGreater(int(metrics.header("content-length")), 0)
        self.assertEqual(pause.status, 405)
        self.assertEqual(pause.header("allow"), "POST")
        self.assertEqual(unknown.status, 404)
        # The fourth answer comes right after the three heads: they carried no body.
        self.assertError(last, 404, "TASKORCH.0404")
        r = self.srv.call("POST", "/metrics", b"{}")
        self.assertError(r, 405, "TASKORCH.0405")
        self.assertEqual(r.header("allow"), "GET, HEAD")

    def test_header_limit_is_exactly_8_kib(self):
        """The request line and the header fields, each with its CRLF, and the empty line."""
        body = json.dumps({"jobs": [self.pausable_a[0]]}).encode()

        def request_with_head_of(size: int) -> bytes:
            bare = request_bytes("POST", api_path(PROJECT_A, STATUS), b"",
                                 {"X-Auth-Token": TOKEN_A, "Content-Type": "application/json", "X-Pad": ""},
                                 content_length=len(body))
            pad = size - len(bare)
            self.assertGreater(pad, 0)
            data = request_bytes("POST", api_path(PROJECT_A, STATUS), body,
                                 {"X-Auth-Token": TOKEN_A, "Content-Type": "application/json", "X-Pad": "p" * pad})
            self.assertEqual(data.index(b"\r\n\r\n") + 4, size)
            return data

        for size, status in ((8192, 200), (8193, 431)):
            with self.subTest(size=size), connect(self.srv.port) as s:
                s.sendall(request_with_head_of(size))
                self.assertEqual(read_response(s).status, status)

    def test_two_auth_token_headers_are_refused(self):
        body = json.dumps({"jobs": [self.pausable_a[0]]}).encode()
        for first, second in ((TOKEN_A, TOKEN_A), (TOKEN_A, "wrong-token"), ("wrong-token", TOKEN_A)):
            with self.subTest(first=first, second=second), connect(self.srv.port) as s:
                s.sendall((f"POST {api_path(PROJECT_A, STATUS)} HTTP/1.1\r\nHost: x\r\n"
                           f"X-Auth-Token: {first}\r\nX-Auth-Token: {second}\r\n"
                           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body)
                self.assertError(read_response(s), 401, "APIGW.0301", "more than once")

    # -- valid JSON is not "not JSON" (issue 8, defect 10)

    def test_numbers_beyond_64_bits_are_not_malformed_json(self):
        a = self.pausable_a[0]
        for extra in ('"x":123456789012345678901234567890', '"x":-98765432109876543210987',
                      '"x":[18446744073709551616,1e999,-1e999,1e-999]', '"x":{"y":%s}' % ("9" * 5000)):
            with self.subTest(extra=extra[:40]):
                r = self.srv.post(STATUS, ('{"jobs":["%s"],%s}' % (a, extra)).encode())
                self.assertEqual(r.status, 200, str(r))
        for field, value in (("cur_page", str(2 ** 70)), ("per_page", str(2 ** 70)), ("cur_page", "-" + str(2 ** 70)),
                             ("cur_page", "1e999")):
            with self.subTest(field=field, value=value):
                r = self.srv.post(STATUS, ('{"jobs":["%s"],"page_req":{"%s":%s}}' % (a, field, value)).encode())
                self.assertError(r, 400, "DRS.M00202", field)
        r = self.srv.post(PAUSE, ('{"jobs":[{"job_id":"%s","pause_mode":%s}]}' % (a, "1" * 30)).encode())
        self.assertError(r, 400, "DRS.M00202", "pause_mode")

    def test_nesting_deeper_than_the_limit_names_the_field(self):
        a = self.pausable_a[0]
        r = self.srv.post(STATUS, ('{"jobs":["%s"],"x":%s1%s}' % (a, "[" * 7, "]" * 7)).encode())
        self.assertEqual(r.status, 200, str(r))  # 8 levels: the limit itself
        for body, field in (('{"jobs":["%s"],"x":%s1%s}' % (a, "[" * 8, "]" * 8), "x"),
                            ('{"jobs":["%s"],"page_req":{"cur_page":%s1%s}}' % (a, "[" * 7, "]" * 7), "page_req")):
            with self.subTest(field=field):
                self.assertError(self.srv.post(STATUS, body.encode()), 400, "DRS.M00202",
                                 f"parameter {field} is invalid: nested deeper than 8 levels")

    # -- JSON bombs

    def test_deeply_nested_json(self):
        """Nesting is measured while the body is read, before its syntax is checked: an object
        nested deeper than 8 levels is refused M00202 naming its top-level field, whatever
        follows; a document that is not an object is M00200."""
        a = self.pausable_a[0]
        bodies = [
            ('{"jobs":' + "[" * 1000 + "]" * 1000 + "}", "jobs"),
            ('{"jobs":[' + '{"a":' * 1000 + "1" + "}" * 1000 + "]}", "jobs"),
            ("[" * 1000 + "]" * 1000, None),
            ('{"a":' * 1000 + "1" + "}" * 1000, "a"),
            ('{"jobs":[{"job_id":"%s","pause_mode":"all","x":%s%s}]}' % (a, "[" * 1000, "]" * 1000), "jobs"),
            ('{"jobs":["%s"],"page_req":%s1%s}' % (a, '{"x":' * 1000, "}" * 1000), "page_req"),
            ('{"jobs":' + "[" * 1000, "jobs"),
            ("[" * 100000 + "]" * 100000, None),
            ('{"x":' * 100000, "x"),
        ]
        for action in (PAUSE, RETRY, STATUS):
            for body, field in bodies:
                with self.subTest(action=action, body=body[:50]):
                    r = self.srv.post(action, body.encode())
                    if field is None:
                        self.assertError(r, 400, "DRS.M00200")
                    else:
                        self.assertError(r, 400, "DRS.M00202", f"parameter {field} is invalid: nested deeper")

    def test_huge_but_valid_json_is_handled(self):
        a = self.pausable_a[0]
        pad = "x" * (MAX_BODY - 200)
        r = self.srv.post(STATUS, {"jobs": [a], "pad": pad})
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["results"], [{"id": a, "status": self.baseline[a]}])
        r = self.srv.post(STATUS, '{"jobs":["%s"],"zeros":[%s]}' % (a, ",".join(["0"] * 1_000_000)))
        self.assertEqual(r.status, 200, str(r))
        keys = ",".join(f'"k{n}":{n}' for n in range(100_000))
        r = self.srv.post(STATUS, '{"jobs":["%s"],"many":{%s}}' % (a, keys))
        self.assertEqual(r.status, 200, str(r))
        # The same key 100000 times: malformed.
        r = self.srv.post(STATUS, '{"jobs":["%s"],"many":{%s}}' % (a, ",".join(['"k":1'] * 100_000)))
        self.assertError(r, 400, "DRS.M00200")
        # Numbers and strings the parser may not like: 400 either way.
        for body in ('{"jobs":[%s]}' % ("9" * 100_000), '{"jobs":[1e999999]}', '{"jobs":[-0.0e-99999]}',
                     '{"jobs":["\\ud800"]}', '{"jobs":["%s"]}' % ("\\u0000" * 10_000),
                     '{"jobs":[{"job_id":"%s","pause_mode":"\\u0000all"}]}' % a):
            with self.subTest(body=body[:40]):
                r = self.srv.post(PAUSE if "pause_mode" in body else STATUS, body.encode())
                self.assertEqual(r.status, 400, str(r))
                self.assertIn(r.json["error_code"], ("DRS.M00200", "DRS.M00202"), str(r))

    def test_100k_item_batches(self):
        ids = [f"{n:08x}-0000-0000-0000-{n:012x}" for n in range(100_000)]
        ids[0] = self.pausable_a[0]
        status_body = json.dumps({"jobs": ids}).encode()
        self.assertLess(len(status_body), MAX_BODY)
        msg = self.assertError(self.srv.post(STATUS, status_body), 400, "DRS.M00202")["error_msg"]
        self.assertIn("10000", msg)
        retry_body = json.dumps({"jobs": [{"job_id": i} for i in ids]}, separators=(",", ":")).encode()
        self.assertLess(len(retry_body), MAX_BODY)
        msg = self.assertError(self.srv.post(RETRY, retry_body), 400, "DRS.M00202")["error_msg"]
        self.assertIn("10000", msg)
        # 100k pause items are over --max-body: 413, answered from the head...
        body = pause_body(ids)
        self.assertGreater(len(body), MAX_BODY)
        r = headers_only(self.srv.port, "POST", api_path(PROJECT_A, PAUSE), len(body),
                         {"X-Auth-Token": TOKEN_A, "Content-Type": "application/json"})
        self.assertError(r, 413, "DRS.M00202")
        # ...and with the body sent (the server may close without reading it all).
        try:
            r = self.srv.post(PAUSE, body)
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
            r = None
        if r is not None:
            self.assertError(r, 413, "DRS.M00202")
        # The item limit is enforced while the body is read: what follows the item past it
        # (here, not even JSON) is never looked at.
        r = self.srv.post(STATUS, (json.dumps({"jobs": ids[:10_001]})[:-2] + ', garbage ' * 1000).encode())
        self.assertIn("10000", self.assertError(r, 400, "DRS.M00202")["error_msg"])
        # The limit itself: 10000 items are fine.
        r = self.srv.post(STATUS, json.dumps({"jobs": ids[:10_000]}).encode())
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["count"], 10_000)

    # -- slow and oversized

    def slow_drip(self, head: bytes, drip: bytes, interval: float = 0.2) -> tuple[bool, float, bytes]:
        """Sends `head` at once, then `drip` one byte per `interval` s until the server cuts off."""
        s = connect(self.srv.port)
        got = b""
        with s:
            s.sendall(head)
            start = time.monotonic()
            for byte in drip:
                try:
                    s.sendall(bytes([byte]))
                except (BrokenPipeError, ConnectionResetError):
                    return True, time.monotonic() - start, got
                closed, chunk = wait_closed(s, interval)
                got += chunk
                if closed:
                    return True, time.monotonic() - start, got
                if time.monotonic() - start > READ_TIMEOUT_MS / 1000 + SLACK:
                    return False, time.monotonic() - start, got
            closed, chunk = wait_closed(s, READ_TIMEOUT_MS / 1000 + SLACK)
            return closed, time.monotonic() - start, got + chunk

    def test_slow_drip_headers_are_cut_off(self):
        request = request_bytes("POST", api_path(PROJECT_A, STATUS), json.dumps({"jobs": [self.pausable_a[0]]}).encode(),
                                {"X-Auth-Token": TOKEN_A, "Content-Type": "application/json",
                                 "X-Padding": "p" * 200})
        closed, elapsed, got = self.slow_drip(b"", request)
        self.assertTrue(closed, f"not cut off after {elapsed:.1f} s")
        self.assertLess(elapsed, READ_TIMEOUT_MS / 1000 + SLACK)
        # It was cut off well before the whole request could be sent (about 0.2 s a byte).
        self.assertLess(elapsed, len(request) * 0.2)
        self.assertAnsweredOrCut(closed, got, "slow headers")

    def test_slow_drip_body_is_cut_off(self):
        body = pause_body(self.pausable_a)
        head = request_bytes("POST", api_path(PROJECT_A, PAUSE), b"",
                             {"X-Auth-Token": TOKEN_A, "Content-Type": "application/json"}, content_length=len(body))
        closed, elapsed, got = self.slow_drip(head, body)
        self.assertTrue(closed, f"not cut off after {elapsed:.1f} s")
        self.assertLess(elapsed, len(body) * 0.2)
        self.assertAnsweredOrCut(closed, got, "slow body")

    def test_header_over_8_kib_is_431(self):
        heads = {"X-Auth-Token": TOKEN_A, "Content-Type": "application/json"}
        body = json.dumps({"jobs": [self.pausable_a[0]]})
        for name, extra, path in (
            ("one big header", {"X-Pad": "a" * 9000}, api_path(PROJECT_A, STATUS)),
            ("many headers", {f"X-Pad-{n}": "b" * 40 for n in range(250)}, api_path(PROJECT_A, STATUS)),
            ("long target", {}, api_path(PROJECT_A, STATUS) + "?q=" + "c" * 9000),
            ("huge header", {"X-Pad": "d" * 200_000}, api_path(PROJECT_A, STATUS)),
        ):
            with self.subTest(name):
                with connect(self.srv.port) as s:
                    try:
                        s.sendall(request_bytes("POST", path, body.encode(), {**heads, **extra}))
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    try:
                        r = read_response(s)
                    except (ConnectionResetError, http.client.RemoteDisconnected) as e:
                        self.fail(f"{name}: no 431, the connection was {e}")
                self.assertError(r, 431, "TASKORCH.0431")
        # Just under the limit is fine.
        r = self.srv.post(STATUS, body, headers={"X-Pad": "e" * 7000})
        self.assertEqual(r.status, 200, str(r))

    # -- other abuse

    def test_pipelined_requests_are_answered_in_order(self):
        heads = {"X-Auth-Token": TOKEN_A, "Content-Type": "application/json"}
        a = self.pausable_a[0]
        data = (request_bytes("POST", api_path(PROJECT_A, STATUS), json.dumps({"jobs": [a]}).encode(), heads)
                + request_bytes("POST", api_path(PROJECT_A, STATUS), b"garbage", heads)
                + request_bytes("POST", "/nope", b"", heads)
                + request_bytes("POST", api_path(PROJECT_A, STATUS), json.dumps({"jobs": [a, a]}).encode(), heads))
        with connect(self.srv.port) as s:
            s.sendall(data)
            answers = read_responses(s, 4)
        self.assertEqual(answers[0].json, {"results": [{"id": a, "status": self.baseline[a]}], "count": 1})
        self.assertError(answers[1], 400, "DRS.M00200")
        self.assertError(answers[2], 404, "TASKORCH.0404")
        self.assertError(answers[3], 400, "DRS.M00301")

    def test_http_1_0_request(self):
        a = self.pausable_a[0]
        body = json.dumps({"jobs": [a]}).encode()
        data = (f"POST {api_path(PROJECT_A, STATUS)} HTTP/1.0\r\nX-Auth-Token: {TOKEN_A}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        closed, got = exchange(self.srv.port, data, SLACK)
        self.assertTrue(closed, "an HTTP/1.0 connection without keep-alive stays open")
        self.assertTrue(got.startswith(b"HTTP/1.0 200 "), got[:200])
        self.assertTrue(got.endswith(json.dumps({"results": [{"id": a, "status": self.baseline[a]}], "count": 1},
                                                separators=(",", ":")).encode()), got)

    def test_connections_opened_and_dropped(self):
        import struct
        for n in range(200):
            s = connect(self.srv.port)
            if n % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
            if n % 3 == 0:
                try:
                    s.sendall(request_bytes("POST", api_path(PROJECT_A, PAUSE), pause_body(self.pausable_a),
                                            {"X-Auth-Token": TOKEN_A})[: 50 + n])
                except OSError:
                    pass
            s.close()

    def test_requests_after_a_reset_mid_response(self):
        import struct
        a = self.pausable_a[0]
        for _ in range(50):
            s = connect(self.srv.port)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.sendall(request_bytes("POST", api_path(PROJECT_A, STATUS), json.dumps({"jobs": [a]}).encode(),
                                    {"X-Auth-Token": TOKEN_A}))
            s.close()

    def test_zz_registry_unchanged_after_all_hostile_traffic(self):
        """Last (by name): the hostile server journaled no change at all (as many records as an
        untouched identical server: its registrations), and its data directory, recovered after
        SIGTERM, holds the registry it started with."""
        self.assertServingUnchanged()
        hostile = self.srv.metric_values()["taskorch_storage_journal_records_total"]
        rc = self.srv.stop()
        self.assertEqual(rc, 0, self.srv.stderr_lines)
        ref = self.start_server(fleet=self.fleet, data_dir=os.path.join(self.tmp.name, "reference"),
                                args=HOSTILE_ARGS)
        reference = ref.metric_values()["taskorch_storage_journal_records_total"]
        self.stop_ok(ref)
        self.assertEqual(hostile, reference, "hostile traffic changed the registry")
        # Restart on the hostile data directory for tearDown's final look.
        self.srv.restart()
        self.assertIn("recovered", self.srv.registry_line())


class ConnectionLimitTests(HostileCase):
    """--max-connections 4 and --idle-timeout-ms 4000."""

    MAX = 4
    IDLE_MS = 4000

    @classmethod
    def setUpClass(cls):
        cls.fleet = hostile_fleet()
        cls.srv = Server(fleet=cls.fleet, args=["--max-connections", str(cls.MAX), "--idle-timeout-ms",
                                                str(cls.IDLE_MS), "--read-timeout-ms", "5000"])
        cls.srv.start()
        cls.baseline = cls.srv.registry_view(cls.fleet)

    @classmethod
    def tearDownClass(cls):
        try:
            rc = cls.srv.stop()
            assert rc == 0, (rc, cls.srv.stderr_lines)
        finally:
            cls.srv.close()

    def serving_again(self):
        """The server answers again (once the closed connections are counted out)."""
        deadline = time.monotonic() + SLACK
        while True:
            try:
                r = self.srv.status(list(self.baseline)[:3])
                if r.status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.fail("the server did not serve again after idle connections were closed")
            time.sleep(0.1)

    def tearDown(self):
        self.serving_again()
        self.assertServingUnchanged()

    def test_idle_connections_over_the_cap_and_idle_timeout(self):
        idle = [connect(self.srv.port) for _ in range(self.MAX)]
        try:
            time.sleep(0.5)  # let the server accept them (not a timing assertion)
            request = request_bytes("POST", api_path(PROJECT_A, PAUSE), pause_body(
                [i for i, s in self.baseline.items() if self.fleet.owner[i] == PROJECT_A]),
                {"X-Auth-Token": TOKEN_A, "Content-Type": "application/json"})
            outcomes = []
            for _ in range(6):
                # Over the cap: 503 (or refused/closed), never served.
                closed, got = exchange(self.srv.port, request, SLACK)
                self.assertTrue(closed, "an extra connection was kept open")
                outcomes.append(head_of(got) if got else None)
                if got:
                    self.assertEqual(head_of(got), 503, got[:300])
                    self.assertIn(b'"error_code":"TASKORCH.0503"', got)
            self.assertIn(503, outcomes, "no connection over the cap was answered 503")
            # The idle ones are closed by the idle timeout, without an answer (or, on a machine so
            # slow that the server counted the extra ones before starting them, with a 503).
            for s in idle:
                closed, got = wait_closed(s, self.IDLE_MS / 1000 + SLACK)
                self.assertTrue(closed, "an idle connection outlived the idle timeout")
                if got:
                    self.assertEqual(head_of(got), 503, got[:300])
        finally:
            for s in idle:
                s.close()

    def test_keep_alive_connection_is_closed_after_the_idle_timeout(self):
        self.serving_again()
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=60)
        try:
            conn.request("POST", api_path(PROJECT_A, STATUS), body=json.dumps({"jobs": list(self.baseline)[:2]}),
                         headers={"X-Auth-Token": TOKEN_A, "Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
            self.assertNotEqual((r.getheader("connection") or "").lower(), "close")
            closed, got = wait_closed(conn.sock, self.IDLE_MS / 1000 + SLACK)
            self.assertTrue(closed)
            self.assertEqual(got, b"")
        finally:
            conn.close()

    def test_closed_connections_do_not_count_against_the_cap(self):
        """Connections refused with 503 and connections their clients closed give their slot back:
        once the clients of a full house have gone, a full house can be served again."""
        self.serving_again()
        for round_ in range(3):
            with self.subTest(round=round_):
                held = [connect(self.srv.port) for _ in range(self.MAX)]
                for s in held:  # one answered request each: all of them are being served
                    s.sendall(request_bytes("POST", api_path(PROJECT_A, STATUS),
                                            json.dumps({"jobs": list(self.baseline)[:1]}).encode(),
                                            {"X-Auth-Token": TOKEN_A}))
                    self.assertEqual(read_response(s).status, 200)
                for _ in range(5):  # over the cap while they are held
                    closed, got = exchange(self.srv.port, b"", SLACK, shut_write=True)
                    self.assertEqual(head_of(got), 503, got[:300])
                for s in held:
                    s.close()
                self.serving_again()

    def test_many_connections_at_once(self):
        self.serving_again()
        results = []

        def client():
            try:
                s = connect(self.srv.port)
            except OSError as e:
                results.append(("refused", str(e)))
                return
            with s:
                try:
                    s.sendall(request_bytes("POST", api_path(PROJECT_B, STATUS),
                                            json.dumps({"jobs": list(self.baseline)[:1]}).encode(),
                                            {"X-Auth-Token": TOKEN_B, "Connection": "close"}))
                except OSError:
                    pass
                closed, got = wait_closed(s, SLACK)
                results.append((closed, head_of(got) if got else None))

        threads = [threading.Thread(target=client) for _ in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=2 * SLACK)
        self.assertEqual(len(results), 40)
        for closed, status in results:
            if closed == "refused":
                continue
            self.assertTrue(closed)
            self.assertIn(status, (200, 503, None))


class TimeoutTests(HostileCase):
    """--read-timeout-ms 1000 with --idle-timeout-ms 600000, and --idle-timeout-ms 0."""

    @classmethod
    def setUpClass(cls):
        cls.fleet = hostile_fleet()
        cls.srv = Server(fleet=cls.fleet, args=["--read-timeout-ms", str(READ_TIMEOUT_MS), "--idle-timeout-ms", "600000"])
        cls.srv.start()
        cls.baseline = cls.srv.registry_view(cls.fleet)

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def test_a_connection_that_never_sends_a_byte_gets_the_read_timeout(self):
        """Not the idle timeout (10 minutes here): the first request is read under the read timeout."""
        with connect(self.srv.port) as s:
            closed, got = wait_closed(s, READ_TIMEOUT_MS / 1000 + SLACK)
        self.assertTrue(closed, "a silent connection was held beyond the read timeout")
        self.assertEqual(got, b"")

    def test_idle_timeout_zero_means_one_request_per_connection(self):
        srv = self.start_server(fleet=self.fleet, args=["--idle-timeout-ms", "0"])
        a = self.pausable_ids()[0]
        for _ in range(3):
            with connect(srv.port) as s:
                s.sendall(request_bytes("POST", api_path(PROJECT_A, STATUS), json.dumps({"jobs": [a]}).encode(),
                                        {"X-Auth-Token": TOKEN_A, "Content-Type": "application/json"}))
                closed, got = wait_closed(s, SLACK)
            self.assertTrue(closed, "the connection was kept open with --idle-timeout-ms 0")
            answers = parse_responses(got)
            self.assertEqual([r.status for r in answers], [200], got[:300])
            self.assertEqual(answers[0].header("connection"), "close")
        self.stop_ok(srv)

    def pausable_ids(self):
        return [i for i, st in self.baseline.items() if self.fleet.owner[i] == PROJECT_A and st == "INCRE_TRANSFER_STARTED"]


if __name__ == "__main__":
    unittest.main()
