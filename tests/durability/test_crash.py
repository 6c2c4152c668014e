"""The real taskorch-server killed (SIGKILL) at random moments under concurrent commands.

A fleet of standalone tasks, given by --fleet to a fresh data directory. CLIENTS threads, each
owning a disjoint set of tasks, send batch-pause-task and batch-retry-task batches over
keep-alive connections and log every request with its per-item results. At a random moment
(50 to 600 ms after the clients start) the server is killed with SIGKILL, then started again on
the same data directory, and batch-status of every task is compared with a small model of
pause and resume: since a client sends one request at a time, at most one command per task was
in flight at the kill, so each task must show the state after all ACKNOWLEDGED commands, or that
state with the in-flight command applied. Every kill point continues on the directory the last
one left (recovery after recovery); a third of them run with --durability interval:50 (a
change is written before it is acknowledged, so a process crash loses nothing there either).

TASKORCH_CRASH_SEED fixes the seed (it is printed either way); TASKORCH_CRASH_KILLS the number
of kill points (default 24).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
import unittest

from durability_support import PAUSABLE, PROJECT_A, TOKEN_A, E2ECase, Fleet, Server, TaskModel

TASKS = 64
CLIENTS = 4
KILLS = int(os.environ.get("TASKORCH_CRASH_KILLS", "24"))


class Client(threading.Thread):
    """Sends random pause/resume batches of its own tasks until the connection breaks."""

    def __init__(self, port: int, tasks: list[str], rng: random.Random, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.tasks = tasks
        self.rng = rng
        self.stop = stop
        # (op, ids, per-item success flags): answered requests, in order
        self.acknowledged: list[tuple[str, list[str], list[bool]]] = []
        self.in_flight: tuple[str, list[str]] | None = None
        self.error: str | None = None

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            while not self.stop.is_set():
                op = self.rng.choice(("pause", "resume"))
                ids = self.rng.sample(self.tasks, self.rng.randint(1, min(4, len(self.tasks))))
                if op == "pause":
                    path, body = "batch-pause-task", {"jobs": [{"job_id": i, "pause_mode": self.rng.choice(
                        ("target", "all"))} for i in ids]}
                else:
                    path, body = "batch-retry-task", {"jobs": [{"job_id": i} for i in ids]}
                self.in_flight = (op, ids)
                try:
                    conn.request("POST", f"/v3/{PROJECT_A}/jobs/{path}", body=json.dumps(body),
                                 headers={"X-Auth-Token": TOKEN_A, "Content-Type": "application/json"})
                    r = conn.getresponse()
                    raw = r.read()
                except (OSError, http.client.HTTPException):
                    return  # killed: this request stays in flight
                if r.status != 200:
                    self.error = f"{op} {ids}: HTTP {r.status} {raw[:300]!r}"
                    self.in_flight = None
                    return
                results = json.loads(raw)["results"]
                if [x["id"] for x in results] != ids:
                    self.error = f"{op} {ids}: results for {results}"
                    return
                self.acknowledged.append((op, ids, [x["status"] == "success" for x in results]))
                self.in_flight = None
        finally:
            conn.close()


class CrashTests(E2ECase):

    def test_acknowledged_commands_survive_sigkill(self):
        seed = int(os.environ.get("TASKORCH_CRASH_SEED", str(random.SystemRandom().randrange(1 << 32))))
        print(f"\ntest_crash: seed {seed} (TASKORCH_CRASH_SEED={seed} repeats this run), {KILLS} kill points",
              flush=True)
        rng = random.Random(seed)
        fleet = Fleet("cra0")
        ids = [fleet.task(PAUSABLE[n % len(PAUSABLE)]) for n in range(TASKS)]
        model = {i: TaskModel(fleet.initial[i]) for i in ids}
        owners = [ids[c::CLIENTS] for c in range(CLIENTS)]
        data_dir = self.data_dir()
        checked = lost = in_flight_applied = in_flight_not = 0
        started = time.monotonic()

        expected: dict[str, TaskModel] = {}
        alternative: dict[str, TaskModel] = {}

        def verify(srv: Server, kill: int) -> None:
            """Compares the recovered registry with what kill point `kill` left."""
            nonlocal lost, in_flight_applied, in_flight_not
            seen = srv.statuses(ids)
            for i in ids:
                got = seen[i]
                if got == expected[i].status:
                    model[i] = expected[i]
                    if i in alternative and alternative[i] != expected[i]:
                        in_flight_not += 1
                elif i in alternative and got == alternative[i].status:
                    model[i] = alternative[i]
                    in_flight_applied += 1
                else:
                    lost += 1
                    self.fail(f"kill point {kill} (seed {seed}): {i} is {got}; acknowledged commands leave "
                              f"{expected[i]}" + (f", the one in flight {alternative[i]}" if i in alternative else ""))

        for kill in range(KILLS):
            # The next server on the directory: it checks the last kill point, then takes the
            # clients of this one (so crashes follow crashes without a clean stop between).
            args = ["--durability", "interval:50"] if kill % 3 == 2 else []
            srv = Server(tokens=[(TOKEN_A, PROJECT_A)], fleet=fleet if kill == 0 else None, data_dir=data_dir,
                         args=args)
            self.addCleanup(srv.close)
            srv.start()
            if kill > 0:
                verify(srv, kill - 1)
            stop = threading.Event()
            clients = [Client(srv.port, owners[c], random.Random(rng.randrange(1 << 32)), stop)
                       for c in range(CLIENTS)]
            for c in clients:
                c.start()
            time.sleep(rng.uniform(0.05, 0.6))
            srv.proc.kill()
            srv.proc.wait()
            stop.set()
            for c in clients:
                c.join(timeout=60)
                self.assertFalse(c.is_alive(), "a client hung after the kill")
                self.assertIsNone(c.error, f"kill point {kill}: {c.error}")
            srv.close()

            # What must be there: every acknowledged command, per the model; and for each task
            # of an in-flight command, that command either applied or not.
            expected = {i: m.copy() for i, m in model.items()}
            for c in clients:
                for op, batch, ok in c.acknowledged:
                    for i, success in zip(batch, ok):
                        self.assertTrue(success, f"kill point {kill}: {op} {i} failed from {expected[i]}")
                        expected[i] = expected[i].apply(op)
                        checked += 1
            alternative = {}
            for c in clients:
                if c.in_flight is not None:
                    op, batch = c.in_flight
                    for i in batch:
                        alternative[i] = expected[i].apply(op)

        srv = Server(tokens=[(TOKEN_A, PROJECT_A)], data_dir=data_dir)
        self.addCleanup(srv.close)
        srv.start()
        verify(srv, KILLS - 1)
        self.stop_ok(srv)

        print(f"test_crash: {KILLS} kill points, {checked} acknowledged operations checked, {lost} lost; "
              f"in-flight commands found applied {in_flight_applied}, not applied {in_flight_not}; "
              f"{time.monotonic() - started:.1f} s", flush=True)
        self.assertEqual(lost, 0)
        self.assertGreater(checked, KILLS, "too few acknowledged operations to mean anything")


if __name__ == "__main__":
    unittest.main()
