"""End-to-end tests of taskorch-server as a service.

GET /metrics (Prometheus text, no token, counts only), concurrent clients, the registry of a
data directory across a SIGTERM restart (drain, last checkpoint), malformed fleet files that
stop the start, and the demo token printed without --token.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from e2e_support import (PAUSE, PROJECT_A, PROJECT_B, RETRY, SEED_JOB, STATUS, START_TIMEOUT, TOKEN_A,
                         TOKEN_B, E2ECase, Fleet, Server, api_path, parse_metrics, strict_json)

UNKNOWN_ID = "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')
class MetricsTests(E2ECase):

    def setUp(self):
        f = self.fleet = Fleet("met0")
        self.running = [f.task("INCRE_TRANSFER_STARTED") for _ in range(5)]
        self.deleted = f.task("DELETED")
        self.family = f.family("FULL_TRANSFER_STARTED", "INCRE_TRANSFER_STARTED")
        self.other = f.task("FULL_TRANSFER_STARTED", PROJECT_B)
        self.srv = self.start_server(fleet=self.fleet)

    def scrape(self, **kw) -> tuple[str, dict[str, float]]:
        r = self.srv.call("GET", "/metrics", **kw)
        self.assertEqual(r.status, 200, str(r))
        ctype = r.header("content-type") or ""
        self.assertTrue(ctype.startswith("text/plain"), ctype)
        self.assertIn("version=0.0.4", ctype)
        text = r.raw.decode("utf-8")
        return text, parse_metrics(text)

    def test_metrics_needs_no_token_and_is_prometheus_text(self):
        for kw in ({}, {"token": "not-a-token"}, {"token": TOKEN_A}, {"lang": "zh-cn"}):
            with self.subTest(**kw):
                text, samples = self.scrape(**kw)
                self.assertIn("# TYPE taskorch_http_requests_total counter", text)
                self.assertIn("# TYPE taskorch_tasks gauge", text)
        # Every family has HELP and TYPE before its samples; counters end in _total.
        declared: dict[str, str] = {}
        helped: set[str] = set()
        for line in text.splitlines():
            if line.startswith("# HELP "):
                helped.add(line.split()[2])
            elif line.startswith("# TYPE "):
                _, _, name, kind = line.split()
                declared[name] = kind
                if kind == "counter":
                    self.assertTrue(name.endswith("_total"), name)
            elif line:
                name = SAMPLE.match(line).group(1)
                family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in declared else name
                self.assertIn(family, declared, line)
                self.assertIn(family, helped, line)
        # The task gauge counts the registry (the family parent by its aggregate).
        self.assertGreaterEqual(samples['taskorch_tasks{status="INCRE_TRANSFER_STARTED"}'], 5)
        self.assertEqual(samples['taskorch_tasks{status="DELETED"}'], 1)

    def wait_for(self, predicate, what: str):
        deadline = time.monotonic() + 30
        while True:
            text, samples = self.scrape()
            if predicate(samples):
                return text, samples
            if time.monotonic() > deadline:
                self.fail(f"{what}: metrics never showed it:\n{text}")
            time.sleep(0.05)

    def test_counters_move_after_requests(self):
        _, before = self.scrape()

        def get(samples, key):
            return samples.get(key, 0.0)

        srv = self.srv
        for i in self.running[:3]:
            self.assertEqual(srv.pause([(i, "all")]).status, 200)
        self.assertEqual(srv.pause([(UNKNOWN_ID, "all"), (self.deleted, "all"), (self.family[0], "all")]).status, 200)
        self.assertEqual(srv.retry([self.running[0]]).status, 200)
        self.assertEqual(srv.status([self.running[1]]).status, 200)
        self.assertEqual(srv.post(PAUSE, b"garbage").status, 400)
        self.assertEqual(srv.post(PAUSE, b"garbage", token=None).status, 401)
        self.assertEqual(srv.post(PAUSE, b"garbage", token=TOKEN_B).status, 403)
        self.assertEqual(srv.call("POST", "/nope", b"x").status, 404)
        self.assertEqual(srv.call("GET", api_path(PROJECT_A, PAUSE)).status, 405)
        expected = {
            'taskorch_http_requests_total{endpoint="batch-pause-task",code="200"}': 4,
            'taskorch_http_requests_total{endpoint="batch-pause-task",code="400"}': 1,
            'taskorch_http_requests_total{endpoint="batch-pause-task",code="401"}': 1,
            'taskorch_http_requests_total{endpoint="batch-pause-task",code="403"}': 1,
            'taskorch_http_requests_total{endpoint="batch-pause-task",code="405"}': 1,
            'taskorch_http_requests_total{endpoint="batch-retry-task",code="200"}': 1,
            'taskorch_http_requests_total{endpoint="batch-status",code="200"}': 1,
            'taskorch_http_requests_total{endpoint="other",code="404"}': 1,
            'taskorch_batch_items_total{endpoint="batch-pause-task",outcome="success"}': 3,
            'taskorch_batch_items_total{endpoint="batch-pause-task",outcome="DRS.M05003"}': 1,
            'taskorch_batch_items_total{endpoint="batch-pause-task",outcome="DRS.M05004"}': 1,
            'taskorch_batch_items_total{endpoint="batch-pause-task",outcome="DRS.M00307"}': 1,
            'taskorch_batch_items_total{endpoint="batch-retry-task",outcome="success"}': 1,
        }
        text, after = self.wait_for(
            lambda s: all(get(s, k) - get(before, k) >= v for k, v in expected.items()), "request counters")
        for key, delta in expected.items():
            self.assertEqual(get(after, key) - get(before, key), delta, key)
        self.assertEqual(after['taskorch_tasks{status="PAUSING"}'] - before['taskorch_tasks{status="PAUSING"}'], 2)
        self.assertGreater(after["taskorch_http_request_duration_seconds_count"],
                           before["taskorch_http_request_duration_seconds_count"])

    def test_no_ids_tokens_or_project_ids_in_metrics(self):
        srv = self.srv
        ids = self.fleet.ids() + [UNKNOWN_ID]
        srv.pause([(i, "all") for i in self.fleet.ids(PROJECT_A)] + [(UNKNOWN_ID, "all")])
        srv.status(ids)
        srv.call("POST", f"/v3/{PROJECT_A}/jobs/{self.running[0]}", b"{}", token=TOKEN_A)
        srv.call("POST", f"/v3/{TOKEN_A}/jobs/batch-pause-task", b"{}", token=TOKEN_A)
        srv.call("POST", f"/{TOKEN_B}", b"{}", token=TOKEN_B)
        srv.post(PAUSE, b"{}", token="secret-token-that-must-not-leak")
        srv.call("GET", f"/metrics?token={TOKEN_B}")
        text, _ = self.wait_for(lambda s: s.get('taskorch_http_requests_total{endpoint="other",code="404"}', 0) >= 2,
                                "404 counter")
        for secret in ids + [TOKEN_A, TOKEN_B, PROJECT_A, PROJECT_B, "secret-token-that-must-not-leak"]:
            self.assertNotIn(secret, text)
        self.assertIsNone(re.search(r"[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}", text), "something like a job id")
        self.assertIsNone(re.search(r"[0-9a-f]{32}", text), "something like a project id")

    def test_promtool_check_metrics(self):
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool is missing: scripts/install-deps.sh installs the "
                                       "Debian package `prometheus`, which provides it")
        self.srv.pause([(self.running[0], "all"), (UNKNOWN_ID, "all")])
        self.srv.post(PAUSE, b"x")
        self.wait_for(lambda s: s.get('taskorch_http_requests_total{endpoint="batch-pause-task",code="400"}', 0) >= 1,
                      "400 counter")
        text, _ = self.scrape()
        p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 0, f"promtool check metrics failed:\n{p.stdout.decode()}{p.stderr.decode()}")


class ConcurrencyTests(E2ECase):
    THREADS = 8
    REQUESTS = 50

    def test_concurrent_clients_are_all_answered_correctly(self):
        fleet = Fleet("con0")
        projects = [PROJECT_A if n % 2 == 0 else PROJECT_B for n in range(self.THREADS)]
        tokens = {PROJECT_A: TOKEN_A, PROJECT_B: TOKEN_B}
        own = [fleet.task("INCRE_TRANSFER_STARTED", projects[n]) for n in range(self.THREADS)]
        hot = {PROJECT_A: fleet.task("FULL_TRANSFER_STARTED", PROJECT_A),
               PROJECT_B: fleet.task("FULL_TRANSFER_STARTED", PROJECT_B)}
        srv = self.start_server(fleet=fleet, args=["--threads", "4"])
        errors: list[str] = []
        answered = [0] * self.THREADS

        def client(n: int):
            project, token = projects[n], tokens[projects[n]]
            foreign = own[(n + 1) % self.THREADS]  # the next thread's task, of the other project
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)

            def send(action, body, tok=token, proj=project):
                conn.request("POST", api_path(proj, action), body=json.dumps(body),
                             headers={"X-Auth-Token": tok, "Content-Type": "application/json"})
                r = conn.getresponse()
                return r.status, strict_json(r.read())

            try:
                for k in range(self.REQUESTS):
                    step = k % 5
                    if step == 0:
                        got = send(PAUSE, {"jobs": [{"job_id": own[n], "pause_mode": "all"},
                                                    {"job_id": hot[project], "pause_mode": "target"}]})
                        want = (200, {"results": [{"id": own[n], "status": "success"},
                                                  {"id": hot[project], "status": "success"}], "count": 2})
                    elif step == 1:
                        got = send(STATUS, {"jobs": [own[n], foreign]})
                        got = (got[0], [(x["id"], x.get("status", x.get("error_code"))) for x in got[1]["results"]])
                        want = (200, [(own[n], "PAUSING"), (foreign, "DRS.M05003")])
                    elif step == 2:
                        got = send(RETRY, {"jobs": [{"job_id": own[n], "is_sync_re_edit": k % 2 == 0}]})
                        want = (200, {"results": [{"id": own[n], "status": "success"}], "count": 1})
                    elif step == 3:
                        got = send(STATUS, {"jobs": [own[n]]})
                        want = (200, {"results": [{"id": own[n], "status": "INCRE_TRANSFER_STARTED"}], "count": 1})
                    else:
                        variant = (k // 5) % 4
                        if variant == 0:
                            got = send(PAUSE, {"jobs": [{"job_id": own[n], "pause_mode": "sometimes"}]})
                            got = (got[0], got[1]["error_code"])
                            want = (400, "DRS.M00202")
                        elif variant == 1:
                            got = send(PAUSE, {"jobs": [{"job_id": foreign, "pause_mode": "all"}]})
                            got = (got[0], got[1]["results"][0].get("error_code"))
                            want = (200, "DRS.M05003")
                        elif variant == 2:
                            other = PROJECT_B if project == PROJECT_A else PROJECT_A
                            got = send(STATUS, {"jobs": [own[n]]}, proj=other)
                            got = (got[0], got[1]["error_code"])
                            want = (403, "DRS.M00261")
                        else:
                            got = send(STATUS, {"jobs": [own[n]]}, tok="wrong")
                            got = (got[0], got[1]["error_code"])
                            want = (401, "APIGW.0301")
                    if got != want:
                        errors.append(f"thread {n} request {k}: got {got}, want {want}")
                    answered[n] += 1
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(f"thread {n}: {type(e).__name__}: {e}")
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(self.THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        self.assertFalse(any(t.is_alive() for t in threads), "a client thread hung")
        self.assertEqual(errors, [])
        self.assertEqual(answered, [self.REQUESTS] * self.THREADS)
        expected = {i: "INCRE_TRANSFER_STARTED" for i in own}
        expected.update({hot[PROJECT_A]: "PAUSING", hot[PROJECT_B]: "PAUSING"})
        self.assertEqual(srv.registry_view(fleet), expected)
        self.stop_ok(srv)


class DataDirTests(E2ECase):
    """The registry of a data directory across SIGTERM/SIGINT restarts (the durability label
    has the crash, damage and disk-full tests)."""

    def setUp(self):
        self.dir = self.data_dir()
        f = self.fleet = Fleet("sta1")
        self.a = [f.task(s) for s in ("FULL_TRANSFER_STARTED", "INCRE_TRANSFER_STARTED", "FULL_TRANSFER_FAILED",
                                      "INCRE_TRANSFER_FAILED", "START_JOB_FAILED", "CONFIGURATION", "DELETED")]
        self.paused = f.task("PAUSING", pause_mode="all", paused_from="FULL_TRANSFER_COMPLETE")
        self.family = f.family("INCRE_TRANSFER_STARTED", "FULL_TRANSFER_COMPLETE")
        self.b = f.task("INCRE_TRANSFER_STARTED", PROJECT_B)

    def test_state_survives_a_sigterm_restart(self):
        srv = self.start_server(fleet=self.fleet, data_dir=self.dir)
        self.assertRegex(srv.registry_line(), rf"^registry: initialised {re.escape(self.dir)} from "
                                              rf"{re.escape(srv.fleet_path)} \(durability always\), \d+ tasks$")
        a = self.a
        self.assertBatch(srv.pause([(a[0], "target"), (a[1], "all"), (self.family[1], "all")]),
                         [(a[0], None), (a[1], None), (self.family[1], None)])
        self.assertBatch(srv.retry([a[2], a[4], self.paused]), [(a[2], None), (a[4], None), (self.paused, None)])
        self.assertBatch(srv.pause([(self.b, "all")], token=TOKEN_B, project=PROJECT_B), [(self.b, None)])
        left = srv.registry_view(self.fleet)
        self.assertEqual(left[a[0]], "PAUSING")
        self.assertEqual(left[a[2]], "FULL_TRANSFER_STARTED")
        self.assertEqual(left[self.paused], "FULL_TRANSFER_COMPLETE")
        self.stop_ok(srv)

        # Restart on the same data directory (no --fleet): the registry is as left.
        srv.restart()
        self.assertRegex(srv.registry_line(),
                         rf"^registry: {re.escape(self.dir)} \(durability always\), recovered \d+ tasks "
                         rf"\(\d+ journal records\) in \d+\.\d ms$")
        self.assertEqual(srv.registry_view(self.fleet), left)
        # The origins came back too: a resume returns each paused task to where it left.
        self.assertBatch(srv.retry([a[0], a[1], self.family[1]]), [(a[0], None), (a[1], None), (self.family[1], None)])
        self.assertStatuses(srv, {a[0]: "FULL_TRANSFER_STARTED", a[1]: "INCRE_TRANSFER_STARTED",
                                  self.family[1]: "INCRE_TRANSFER_STARTED"})
        self.stop_ok(srv)

        # A third run sees the resumes of the second.
        srv.restart()
        self.assertStatuses(srv, {a[0]: "FULL_TRANSFER_STARTED", a[1]: "INCRE_TRANSFER_STARTED"})
        self.stop_ok(srv)

    @staticmethod
    def files(folder: str) -> dict[str, bytes]:
        out = {}
        for name in os.listdir(folder):
            with open(os.path.join(folder, name), "rb") as f:
                out[name] = f.read()
        return out

    def test_a_fleet_with_a_registry_is_refused_and_changes_nothing(self):
        srv = self.start_server(fleet=self.fleet, data_dir=self.dir)
        self.assertBatch(srv.pause([(self.a[0], "all")]), [(self.a[0], None)])
        self.stop_ok(srv)
        before = self.files(self.dir)
        again = Server(fleet=self.fleet, data_dir=self.dir)
        self.addCleanup(again.close)
        proc = again.spawn()
        self.assertEqual(proc.wait(timeout=START_TIMEOUT), 2)
        again._join()
        self.assertIn("already holds a registry", "\n".join(again.stderr_lines))
        self.assertEqual(self.files(self.dir), before)

    def test_sigint_also_drains_and_checkpoints(self):
        srv = self.start_server(fleet=self.fleet, data_dir=self.dir)
        self.assertBatch(srv.pause([(self.a[0], "all")]), [(self.a[0], None)])
        checkpoints = srv.metric_values()["taskorch_storage_checkpoints_total"]
        srv.proc.send_signal(signal.SIGINT)
        self.stop_ok(srv)
        srv.restart()
        self.assertStatuses(srv, {self.a[0]: "PAUSING"})
        # The last checkpoint held the pause: nothing was left in the journal to replay.
        self.assertEqual(checkpoints, 1)
        self.assertEqual(srv.metric_values()["taskorch_storage_recovered_records"], 0)
        self.stop_ok(srv)

    def test_the_demo_fleet_in_a_data_directory(self):
        srv = self.start_server(tokens=[(TOKEN_A, PROJECT_A)], data_dir=self.dir)
        self.assertRegex(srv.registry_line(), rf"^registry: initialised {re.escape(self.dir)} from the demo fleet "
                                              rf"\(durability always\), \d+ tasks$")
        self.assertBatch(srv.pause([(SEED_JOB, "target")]), [(SEED_JOB, None)])
        self.stop_ok(srv)
        srv.restart()
        self.assertIn(", recovered ", srv.registry_line())
        self.assertEqual(srv.statuses([SEED_JOB]), {SEED_JOB: "PAUSING"})
        self.stop_ok(srv)

    def test_acknowledged_pauses_survive_a_sigterm_under_load(self):
        fleet = Fleet("drn0")
        ids = [fleet.task("INCRE_TRANSFER_STARTED") for _ in range(400)]
        srv = self.start_server(fleet=fleet, data_dir=self.dir)
        acknowledged: list[str] = []
        asked: list[str] = []
        failures: list[str] = []
        started = threading.Event()

        def client():
            for n, i in enumerate(ids):
                asked.append(i)
                try:
                    r = srv.pause([(i, "all")])
                except (OSError, http.client.HTTPException):
                    return  # the server is gone: expected after SIGTERM
                if r.status != 200 or r.json["results"][0] != {"id": i, "status": "success"}:
                    failures.append(str(r))
                    return
                acknowledged.append(i)
                if n == 20:
                    started.set()

        t = threading.Thread(target=client)
        t.start()
        self.assertTrue(started.wait(timeout=120))
        self.stop_ok(srv)
        t.join(timeout=120)
        self.assertFalse(t.is_alive())
        self.assertEqual(failures, [])
        srv.restart()
        view = srv.statuses(ids)
        for i in acknowledged:
            self.assertEqual(view[i], "PAUSING", f"acknowledged pause of {i} lost")
        for i in ids[len(asked):]:
            self.assertEqual(view[i], "INCRE_TRANSFER_STARTED", f"{i} was never asked to pause")
        self.stop_ok(srv)


class ShutdownTests(E2ECase):

    def test_sigterm_with_idle_connections_exits_without_waiting_for_timeouts(self):
        # Idle and read timeouts of 10 minutes: a SIGTERM must not wait for them.
        srv = self.start_server(args=["--idle-timeout-ms", "600000", "--read-timeout-ms", "600000"],
                                tokens=[(TOKEN_A, PROJECT_A)])
        idle = [socket.create_connection(("127.0.0.1", srv.port), timeout=60) for _ in range(3)]
        keep = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        self.addCleanup(keep.close)
        for s in idle:
            self.addCleanup(s.close)
        keep.request("POST", api_path(PROJECT_A, STATUS), body=json.dumps({"jobs": [SEED_JOB]}),
                     headers={"X-Auth-Token": TOKEN_A, "Content-Type": "application/json"})
        r = keep.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        time.sleep(0.5)  # let the server accept the idle ones (not a timing assertion)
        self.stop_ok(srv)  # fails if the process does not exit within STOP_TIMEOUT (60 s)
        for s in idle + [keep.sock]:
            s.settimeout(60)
            try:
                self.assertEqual(s.recv(100), b"")
            except ConnectionResetError:
                pass


    def test_sigterm_does_not_wait_for_slow_clients(self):
        """A client dripping its request, and one that does not read its (large) response, with
        read and idle timeouts of 10 minutes: SIGTERM cuts the first at once and gives the second
        a short grace, not the read timeout."""
        fleet = Fleet("shu0")
        ids = [fleet.task("INCRE_TRANSFER_STARTED") for _ in range(3000)]
        srv = self.start_server(fleet=fleet, args=["--idle-timeout-ms", "600000", "--read-timeout-ms", "600000"],
                                tokens=[(TOKEN_A, PROJECT_A)])
        body = json.dumps({"jobs": ids}).encode()
        head = (f"POST {api_path(PROJECT_A, STATUS)} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {TOKEN_A}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        dripping = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
        self.addCleanup(dripping.close)
        dripping.sendall(head + body[:10])
        # The non-reader asks for the statuses of 3000 tasks many times over, reading nothing.
        deaf = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
        self.addCleanup(deaf.close)
        deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        deaf.setblocking(False)
        request = head + body
        sent = 0
        deadline = time.monotonic() + 30
        while sent < 200 * len(request) and time.monotonic() < deadline:
            try:
                sent += deaf.send(request[sent % len(request):])
            except BlockingIOError:
                break  # its buffers are full: the server is blocked writing to it
        time.sleep(0.5)
        started = time.monotonic()
        self.stop_ok(srv)  # fails if the process does not exit within STOP_TIMEOUT (60 s)
        self.assertLess(time.monotonic() - started, 30)

    def test_sigterm_while_connections_keep_arriving(self):
        """Connections accepted while the shutdown runs are closed too, not held for the idle
        timeout (10 minutes here)."""
        for round_ in range(4):
            with self.subTest(round=round_):
                srv = self.start_server(args=["--idle-timeout-ms", "600000", "--read-timeout-ms", "600000"],
                                        tokens=[(TOKEN_A, PROJECT_A)])
                stop = threading.Event()
                opened = []

                def hammer():
                    while not stop.is_set():
                        try:
                            opened.append(socket.create_connection(("127.0.0.1", srv.port), timeout=5))
                        except OSError:
                            return

                clients = [threading.Thread(target=hammer) for _ in range(4)]
                for t in clients:
                    t.start()
                time.sleep(0.3)
                try:
                    self.stop_ok(srv)
                finally:
                    stop.set()
                    for t in clients:
                        t.join()
                    for s in opened:
                        s.close()


class FleetFileErrorTests(E2ECase):
    """A malformed fleet file stops the start: non-zero exit, never "listening on"."""

    def refused(self, document, job: str, field_name: str, data_dir: str | None = None):
        d = tempfile.TemporaryDirectory(prefix="taskorch-e2e-fleet-")
        self.addCleanup(d.cleanup)
        path = os.path.join(d.name, "bad.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(document if isinstance(document, str) else json.dumps(document))
        srv = Server(fleet=path, data_dir=data_dir)
        self.addCleanup(srv.close)
        proc = srv.spawn()
        try:
            rc = proc.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            srv.kill()
            self.fail(f"taskorch-server kept running with a malformed file; stdout: {srv.stdout_lines}")
        srv._join()
        self.assertNotEqual(rc, 0)
        self.assertFalse(any("listening on" in line for line in srv.stdout_lines), srv.stdout_lines)
        message = "\n".join(srv.stderr_lines)
        if job:
            self.assertIn(job, message)
        if field_name:
            self.assertIn(f'"{field_name}"', message)
        return message

    def good_job(self, jid, **extra):
        doc = {"id": jid, "project_id": PROJECT_A, "db_use_type": "migration", "status": "INCRE_TRANSFER_STARTED"}
        doc.update(extra)
        return doc

    def test_duplicate_id(self):
        f = Fleet("bad0")
        x, y = f.new_id(), f.new_id()
        self.refused({"jobs": [self.good_job(x), self.good_job(y), self.good_job(x)]}, x, "id")

    def test_duplicate_id_between_a_child_and_a_task(self):
        f = Fleet("bad1")
        x, p, c = f.new_id(), f.new_id(), f.new_id()
        family = {"id": p, "project_id": PROJECT_A, "db_use_type": "cloudDataGuard", "multi_write": True,
                  "children": [{"id": c, "status": "INCRE_TRANSFER_STARTED"},
                               {"id": x, "status": "INCRE_TRANSFER_STARTED"}]}
        self.refused({"jobs": [self.good_job(x), family]}, x, "id")

    def test_child_with_its_parents_id(self):
        f = Fleet("bad7")
        p, c = f.new_id(), f.new_id()
        family = {"id": p, "project_id": PROJECT_A, "db_use_type": "cloudDataGuard", "multi_write": True,
                  "children": [{"id": c, "status": "INCRE_TRANSFER_STARTED"},
                               {"id": p, "status": "INCRE_TRANSFER_STARTED"}]}
        self.refused({"jobs": [family]}, p, "id")

    def test_unknown_status(self):
        f = Fleet("bad2")
        x, y = f.new_id(), f.new_id()
        self.refused({"jobs": [self.good_job(x), self.good_job(y, status="RUNNING")]}, y, "status")
        self.refused({"jobs": [self.good_job(y, status="pausing")]}, y, "status")

    def test_parent_with_its_own_status(self):
        f = Fleet("bad3")
        p, c1, c2 = f.new_id(), f.new_id(), f.new_id()
        family = {"id": p, "project_id": PROJECT_A, "db_use_type": "cloudDataGuard", "multi_write": True,
                  "status": "INCRE_TRANSFER_STARTED",
                  "children": [{"id": c1, "status": "INCRE_TRANSFER_STARTED"},
                               {"id": c2, "status": "INCRE_TRANSFER_STARTED"}]}
        self.refused({"jobs": [family]}, p, "status")

    def test_paused_from_not_pausable(self):
        f = Fleet("bad4")
        x, p, c1, c2 = f.new_id(), f.new_id(), f.new_id(), f.new_id()
        for source in ("CONFIGURATION", "PAUSING", "START_JOB_FAILED", "DELETED", "NOPE"):
            with self.subTest(paused_from=source):
                self.refused({"jobs": [self.good_job(x, status="PAUSING", pause_mode="all", paused_from=source)]},
                             x, "paused_from")
        family = {"id": p, "project_id": PROJECT_A, "db_use_type": "cloudDataGuard", "multi_write": True,
                  "children": [{"id": c1, "status": "INCRE_TRANSFER_STARTED"},
                               {"id": c2, "status": "PAUSING", "pause_mode": "target",
                                "paused_from": "STARTJOBING"}]}
        self.refused({"jobs": [family]}, c2, "paused_from")

    def test_pausing_without_pause_mode(self):
        f = Fleet("bad5")
        x = f.new_id()
        self.refused({"jobs": [self.good_job(x, status="PAUSING", paused_from="INCRE_TRANSFER_STARTED")]},
                     x, "pause_mode")
        self.refused({"jobs": [self.good_job(x, status="PAUSING", pause_mode=None,
                                             paused_from="INCRE_TRANSFER_STARTED")]}, x, "pause_mode")

    def test_a_malformed_fleet_creates_no_data_directory(self):
        f = Fleet("bad6")
        x = f.new_id()
        data = self.data_dir()
        self.refused({"jobs": [self.good_job(x, status="SLEEPING")]}, x, "status", data_dir=data)
        self.assertFalse(os.path.exists(data), "the data directory was created for a refused fleet")

    def test_not_a_fleet_document(self):
        for doc in ("", "{", "[]", '{"jobs":{}}', '{"tasks":[]}'):
            with self.subTest(doc=doc):
                self.refused(doc, "", "")

    def test_a_valid_fleet_with_unknown_fields_starts(self):
        f = Fleet("ok00")
        x = f.new_id()
        d = tempfile.TemporaryDirectory(prefix="taskorch-e2e-fleet-")
        self.addCleanup(d.cleanup)
        path = os.path.join(d.name, "fleet.json")
        with open(path, "w", encoding="utf-8") as out:
            json.dump({"jobs": [self.good_job(x, colour="blue", extra={"a": 1})], "generator": "e2e"}, out)
        srv = self.start_server(fleet=path)
        self.assertEqual(srv.statuses([x]), {x: "INCRE_TRANSFER_STARTED"})
        self.stop_ok(srv)


class DemoTokenTests(E2ECase):

    def test_without_token_a_demo_token_and_curl_line_are_printed(self):
        srv = self.start_server(tokens=[])
        lines = []
        deadline = time.monotonic() + START_TIMEOUT
        while not any("curl" in line for line in lines) and time.monotonic() < deadline:
            lines = list(srv.stdout_lines)
            time.sleep(0.05)
        curl = next((line for line in lines if line.startswith("curl")), None)
        self.assertIsNotNone(curl, lines)
        token = re.search(r"X-Auth-Token: ([^'\s]+)'", curl).group(1)
        url = re.search(r"http://127\.0\.0\.1:(\d+)(/v3/\S+)", curl)
        self.assertEqual(int(url.group(1)), srv.port)
        self.assertEqual(url.group(2), api_path(PROJECT_A, PAUSE))
        body = re.search(r"-d '([^']*)'", curl).group(1)
        r = srv.call("POST", url.group(2), body.encode(), token=token)
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json, {"results": [{"id": SEED_JOB, "status": "success"}], "count": 1})
        # The demo token belongs to the demo project only.
        self.assertEqual(srv.status([SEED_JOB], token=token, project=PROJECT_B).status, 403)
        self.stop_ok(srv)
        self.assertFalse(any(token in line for line in srv.stderr_lines), "the token was logged on stderr")


if __name__ == "__main__":
    unittest.main()
