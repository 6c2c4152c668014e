"""End-to-end test of the worker of docs/workers.md (examples/worker.py, run as a subprocess)
against a real taskorch-server, while this test, as the operator, pauses and resumes batches
of tasks, starts and terminates some, and breaks the worker's event stream on purpose.

The worker reaches the server through a small TCP proxy of this test (loopback), which can cut
the worker's event-stream connections (its GET requests) while leaving its reports alone; the
worker must resume after the last event it handled (Last-Event-ID). The first worker process
also stops by itself after a number of events (--max-events), and a second one is started
with the position the first printed (--last-event-id), as a supervisor would.

Between rounds the operator waits until no command awaits a worker, so that a task never has
two commands of the same name outstanding at once (a confirmation names a command, not a
version: see docs/workers.md, "Confirming"); within a round it sometimes resumes before the
worker confirmed the pause, so that some confirmations are superseded.

Checked at the end, from the worker's own log lines and from the server:
- every change of every task reached the worker exactly once: per task the versions the worker
  saw are exactly those from its first version + 1 to its last one (no gap, no duplicate),
  across the cuts and the restart;
- every command the operator issued successfully appears as one event awaiting it;
- each such event was carried out exactly once: one report per event, accepted unless the
  next change of the task was another command (superseded), in which case DRS.M00304; no
  event handled twice;
- at least one resumption with Last-Event-ID happened in the worker, and the restart resumed
  too;
- nothing awaits (/metrics and batch-detail), and every task ends where the commands lead.
"""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import unittest
from collections import Counter, defaultdict

from e2e_support import PROJECT_A, TOKEN_A, E2ECase, Fleet

WORKER = "e2e-follow-worker-61c2f9ab"
TOKENS = [(TOKEN_A, PROJECT_A), (WORKER, f"{PROJECT_A}:worker")]

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples", "worker.py")

ROUNDS = 10
BATCH = 50
TIME_LIMIT = 55.0          # the whole scenario, seconds
FIRST_WORKER_EVENTS = 450  # the first worker process stops after this many events

EVENT = re.compile(r"^event pos=(\d+) job=(\S+) (\S+)->(\S+) cause=(\S+) awaiting=(\S+) version=(\d+)$")
DONE = re.compile(r"^done pos=(\S+) job=(\S+) command=(\S+) via=(\S+) result=(\S+)$")
STREAM = re.compile(r"^stream after=(\S+)$")
EXIT = re.compile(r"^exit pos=(\S+) events=(\d+)$")
COMMAND_CAUSES = {"start", "start_due", "pause", "resume", "stop", "force_stop"}


class CuttingProxy:
    """Forwards 127.0.0.1:port to the server; cut() closes the event-stream connections open
    now (those whose request starts with GET), in both directions."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.streams: list[tuple[socket.socket, socket.socket]] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            first = b""
            while len(first) < 4:
                chunk = client.recv(65536)
                if not chunk:
                    break
                first += chunk
        except OSError:
            client.close()
            if upstream is not None:
                upstream.close()
            return
        pair = (client, upstream)
        if first.startswith(b"GET "):
            with self.lock:
                self.streams.append(pair)
        try:
            upstream.sendall(first)
        except OSError:
            pass
        back = threading.Thread(target=self._pump, args=(upstream, client, pair), daemon=True)
        back.start()
        self._pump(client, upstream, pair)
        back.join()
        with self.lock:
            if pair in self.streams:
                self.streams.remove(pair)
        for s in pair:
            s.close()

    def _pump(self, src: socket.socket, dst: socket.socket, pair) -> None:
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                dst.sendall(chunk)
        except OSError:
            pass
        self._shut(pair)

    @staticmethod
    def _shut(pair) -> None:
        for s in pair:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> int:
        with self.lock:
            pairs, self.streams = self.streams, []
        for pair in pairs:
            self._shut(pair)
        return len(pairs)

    def close(self) -> None:
        self.listener.close()
        self.cut()


class WorkerProcess:
    """examples/worker.py as a subprocess; its stdout lines are collected (all processes in
    one list, in order) and offered on a queue."""

    def __init__(self, url: str, lines: list[str], extra: list[str]) -> None:
        cmd = [sys.executable, WORKER_SCRIPT, "--url", url, "--project", PROJECT_A, "--token", WORKER,
               "--idle-timeout", "5", "--stop-after-seconds", str(TIME_LIMIT + 30)] + extra
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = lines
        self.own: list[str] = []
        self.stderr: list[str] = []
        self.queue: queue.Queue = queue.Queue()
        self.readers = [threading.Thread(target=self._read, daemon=True),
                        threading.Thread(target=self._read_err, daemon=True)]
        for t in self.readers:
            t.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            self.own.append(line)
            self.queue.put(line)
        self.queue.put(None)

    def _read_err(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip("\n"))

    def wait_line(self, pattern: re.Pattern, limit: float) -> re.Match:
        deadline = time.monotonic() + limit
        while True:
            try:
                line = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the worker printed no {pattern.pattern!r} in {limit} s: "
                                     f"{self.own[-5:]} {self.stderr[-5:]}") from None
            if line is None:
                raise AssertionError(f"the worker ended: {self.own[-5:]} {self.stderr[-10:]}")
            m = pattern.match(line)
            if m:
                return m

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        for t in self.readers:
            t.join(timeout=10)
        return rc


class WorkerFollowsStreamTest(E2ECase):

    def test_the_worker_carries_out_every_command_once(self):
        started_at = time.monotonic()
        fleet = Fleet("wfol")
        running = [fleet.task("INCRE_TRANSFER_STARTED" if i % 3 else "FULL_TRANSFER_STARTED") for i in range(BATCH)]
        configured = [fleet.task("CONFIGURATION") for _ in range(10)]
        srv = self.start_server(fleet=fleet, tokens=TOKENS, args=["--sse-heartbeat-ms", "200"])
        proxy = CuttingProxy(srv.port)
        self.addCleanup(proxy.close)
        url = f"http://127.0.0.1:{proxy.port}"
        lines: list[str] = []
        workers: list[WorkerProcess] = []

        def start_worker(extra: list[str]) -> WorkerProcess:
            w = WorkerProcess(url, lines, extra)
            workers.append(w)
            self.addCleanup(w.stop)
            return w

        first = start_worker(["--max-events", str(FIRST_WORKER_EVENTS)])
        self.assertEqual(first.wait_line(STREAM, 30).group(1), "now")
        first.wait_line(re.compile(r"^listed tasks=\d+ awaiting=0$"), 30)

        # A supervisor: when the first worker stops (its --max-events), start the next one
        # after the position it printed.
        restarts: list[str] = []

        def supervise() -> None:
            m = first.wait_line(EXIT, TIME_LIMIT)
            first.proc.wait(timeout=20)
            restarts.append(m.group(1))
            start_worker(["--last-event-id", m.group(1)])

        supervisor = threading.Thread(target=supervise, daemon=True)
        supervisor.start()

        issued: Counter = Counter()  # job -> commands that changed it (successful items)
        deadline = started_at + TIME_LIMIT

        def awaiting() -> float:
            return srv.metric_values()["taskorch_commands_awaiting_worker"]

        def settle(what: str) -> None:
            while awaiting() != 0:
                self.assertLess(time.monotonic(), deadline,
                                f"{what}: commands still await a worker; worker: {lines[-5:]}")
                time.sleep(0.02)

        def ok(r, ids: list[str], status: int = 200) -> None:
            self.assertBatch(r, [(j, None) for j in ids], status=status)
            issued.update(ids)

        cuts = 0
        for n in range(ROUNDS):
            mode = "target" if n % 2 == 0 else "all"
            ok(srv.pause([(j, mode) for j in running]), running)
            if n in (2, 6):
                time.sleep(0.01)
                cuts += proxy.cut()  # while the pauses' events are on their way
            if n % 3 == 1:
                ok(srv.retry(running), running)  # before the worker confirmed: some superseded
            else:
                settle(f"round {n} pause")
                ok(srv.retry(running), running)
            if n == 4:
                ok(srv.start_jobs(configured), configured, status=202)
            if n == 8:
                time.sleep(0.05)
                cuts += proxy.cut()
            settle(f"round {n} resume")
        ok(srv.delete_jobs([(j, "terminate") for j in configured]), configured, status=202)
        settle("terminate")
        supervisor.join(timeout=max(0.0, deadline - time.monotonic()))
        self.assertEqual(len(restarts), 1, f"the first worker did not stop after {FIRST_WORKER_EVENTS} events")

        # Every change has reached the worker: wait until it saw every task's last version.
        ids = running + configured
        final = srv.versions(ids)
        while True:
            seen = defaultdict(set)
            for line in list(lines):
                m = EVENT.match(line)
                if m:
                    seen[m.group(2)].add(int(m.group(7)))
            if all(final[j] in seen[j] for j in ids):
                break
            self.assertLess(time.monotonic(), deadline + 5, "the worker did not see every change")
            time.sleep(0.05)
        for w in workers:
            self.assertEqual(w.stop(), 0, w.stderr[-10:])
        elapsed = time.monotonic() - started_at

        # -- the worker's log
        events: dict[int, tuple] = {}  # position -> (job, from, to, cause, awaiting, version)
        by_job: dict[str, dict[int, tuple]] = defaultdict(dict)
        duplicates = []
        for line in lines:
            m = EVENT.match(line)
            if not m:
                continue
            pos = int(m.group(1))
            job, frm, to, cause, waiting, version = m.group(2), m.group(3), m.group(4), m.group(5), m.group(6), int(m.group(7))
            if pos in events or version in by_job[job]:
                duplicates.append(line)
            events[pos] = (job, frm, to, cause, waiting, version)
            by_job[job][version] = (pos, cause, waiting)
        self.assertEqual(duplicates, [], "events the worker saw twice")
        positions = [int(EVENT.match(l).group(1)) for l in lines if EVENT.match(l)]
        self.assertEqual(positions, sorted(positions), "positions must increase across reconnections")

        # No gap: per task, every version from the first to the last.
        for job in ids:
            with self.subTest(job=job):
                self.assertEqual(sorted(by_job[job]), list(range(1, final[job] + 1)),
                                 f"versions seen for {job}")

        # Every successful command is one event awaiting it.
        awaited = {pos: e for pos, e in events.items() if e[4] != "None"}
        self.assertEqual(Counter(e[0] for e in awaited.values()), issued)
        for pos, (job, _, _, cause, waiting, _) in awaited.items():
            self.assertIn(cause, COMMAND_CAUSES, events[pos])
            self.assertEqual(cause, waiting, events[pos])

        # Each awaited event carried out once: accepted, or refused because superseded.
        done = defaultdict(list)
        for line in lines:
            m = DONE.match(line)
            if m:
                self.assertNotEqual(m.group(1), "None", f"a command carried out from the list: {line}")
                done[int(m.group(1))].append(m.group(5))
        self.assertEqual([l for l in lines if l.startswith("skip ")], [])
        self.assertEqual(set(done), set(awaited), "every awaited event has its report, and only those")
        twice = {pos: r for pos, r in done.items() if len(r) != 1}
        self.assertEqual(twice, {}, "events carried out more than once")
        accepted = superseded = 0
        for pos, (job, _, _, _, _, version) in sorted(awaited.items()):
            (result,) = done[pos]
            following = by_job[job].get(version + 1)
            self.assertIsNotNone(following, f"nothing followed the command at {pos}: it still awaits")
            next_is_command = following[1] in COMMAND_CAUSES
            if result == "ok":
                accepted += 1
                self.assertFalse(next_is_command, f"{pos}: accepted, yet a command came next: {following}")
            else:
                superseded += 1
                self.assertEqual(result, "DRS.M00304", f"{pos}: {result}")
                self.assertTrue(next_is_command, f"{pos}: refused, yet not superseded: {following}")

        # Resumptions with Last-Event-ID: within a process after a cut, and the restart.
        resumed = [s for s in (STREAM.match(l) for l in lines) if s and s.group(1) != "now"]
        in_process = sum(1 for w in workers for l in w.own[1:] if STREAM.match(l) and STREAM.match(l).group(1) != "now")
        self.assertGreaterEqual(cuts, 1)
        self.assertGreaterEqual(in_process, 1, "no resumption with Last-Event-ID after a cut")
        self.assertGreaterEqual(len(resumed), 2, "no resumption with Last-Event-ID")
        self.assertTrue(workers[1].own and STREAM.match(workers[1].own[0]), workers[1].own[:3])
        self.assertEqual(workers[1].own[0], f"stream after={restarts[0]}")

        # The server: nothing awaits; every task where its commands lead.
        self.assertEqual(awaiting(), 0)
        for item in srv.detail(ids).json["results"]:
            self.assertNotIn("awaiting_confirmation", item)
            self.assertEqual(item["job_action"]["current_action"], "")
        expected = {j: fleet.initial[j] for j in running}
        expected.update({j: "RELEASE_RESOURCE_COMPLETE" for j in configured})
        self.assertStatuses(srv, expected)

        print(f"\nworker-follows-stream: {len(events)} events seen, {len(awaited)} commands awaited "
              f"({sum(issued.values())} issued), {accepted} carried out and accepted, {superseded} "
              f"superseded (DRS.M00304), {len(resumed)} resumptions with Last-Event-ID "
              f"({in_process} after {cuts} cut connections, 1 after a worker restart), "
              f"{elapsed:.1f} s", flush=True)
        self.stop_ok(srv)

    def test_the_docs_show_this_worker(self):
        # docs/workers.md shows the whole of examples/worker.py: they must not drift apart.
        with open(WORKER_SCRIPT, encoding="utf-8") as f:
            source = f.read()
        with open(os.path.join(os.path.dirname(os.path.dirname(HERE)), "docs", "workers.md"), encoding="utf-8") as f:
            doc = f.read()
        blocks = re.findall(r"^```python\n(.*?)^```$", doc, re.S | re.M)
        self.assertIn(source, blocks, "docs/workers.md does not show examples/worker.py as it is")


if __name__ == "__main__":
    unittest.main()
