"""Three taskorch-server --postgres nodes under concurrent load (docs/scale-out.md), their HTTP
histories checked by the linearizability checker (taskorch-check-history, with the task model of
the engine's own stress tests): clients pause, resume, query and read the details of shared tasks
through every node while an owner is killed (SIGKILL), a fourth node joins and another leaves
(SIGTERM); and clients that lose the answer to a batch and send it again.

Run by ctest (fixture cluster-postgres-up) with TASKORCH_SERVER and TASKORCH_CHECK_HISTORY set.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, HERE)

import e2e_support as e2e  # noqa: E402
from test_servers import PROJECTS, TOKENS, Node, eventually, fresh_schema, owners  # noqa: E402

TOKEN_OF = {project: token for token, project in TOKENS}
CLIENTS = 6
NOT_RUN = "TASKORCH.0503"  # an item the engine did not run (docs/errors.md, not_run)


def checker() -> str:
    path = os.environ.get("TASKORCH_CHECK_HISTORY")
    if not path:
        raise unittest.SkipTest("TASKORCH_CHECK_HISTORY is not set (run through ctest)")
    return path


class Histories:
    """Per-task histories of operations, stamped by one counter: `call` before a request is sent,
    `ret` after its answer is read (None when no answer came)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counter = 0
        self.of: dict[str, list[dict]] = {}

    def stamp(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def add(self, job: str, op: dict) -> None:
        with self._lock:
            self.of.setdefault(job, []).append(op)

    def operations(self) -> list[dict]:
        with self._lock:
            return [op for ops in self.of.values() for op in ops]

    def check(self, histories: dict[str, list[dict]] | None = None) -> subprocess.CompletedProcess:
        """Runs the checker on every history (these, or `histories`)."""
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"histories": [{"label": job, "operations": ops}
                                     for job, ops in (histories or self.of).items()]}, f)
            path = f.name
        try:
            return subprocess.run([checker(), path], capture_output=True, timeout=600, text=True)
        finally:
            os.unlink(path)

    def assert_linearizable(self) -> str:
        """Fails unless every history is linearizable, and unless the checker flags a copy of one
        whose last read shows a version below one an earlier read saw (a change lost)."""
        run = self.check()
        if run.returncode != 0:
            raise AssertionError(f"taskorch-check-history exited {run.returncode}:\n"
                                 f"{(run.stdout + run.stderr)[:20000]}")

        def seen(ops: list[dict]) -> int:
            return max((op["version"] for op in ops[:-1] if op["kind"] == "get" and op.get("result") == "ok"),
                       default=0)
        job, ops = next((j, o) for j, o in self.of.items() if seen(o) > 0)
        stale = dict(ops[-1], version=seen(ops) - 1)
        tampered = self.check({job: ops[:-1] + [stale]})
        if tampered.returncode != 1:
            raise AssertionError(f"a lost change went unnoticed: {tampered.stdout}{tampered.stderr}")
        return run.stdout.strip()


def detail_fields(item: dict) -> dict:
    """What the model reads from one item of batch-detail."""
    fields = {"status": item["status"], "version": item["version"]}
    if "pause_mode" in item:
        fields["pause_mode"] = item["pause_mode"]
        fields["paused_from"] = item["paused_from"]
    if "awaiting_confirmation" in item:
        fields["awaiting"] = item["awaiting_confirmation"]["command"]
    return fields


class Client(threading.Thread):
    """Sends random batches on a project's tasks to random nodes until stopped, recording each
    item as an operation of its task's history."""

    def __init__(self, seed: int, jobs: dict[str, list[str]], targets: "Targets",
                 histories: Histories) -> None:
        super().__init__(daemon=True)
        self.rng = random.Random(seed)
        self.jobs = jobs
        self.targets = targets
        self.histories = histories
        self.stopping = threading.Event()
        self.counts = {"requests": 0, "answered": 0, "acknowledged": 0, "not_run_items": 0,
                       "refused_503": 0, "no_answer_502": 0, "unanswered": 0,
                       "lost_with_killed_node": 0,
                       "refused_connection": 0}
        self.failure: str | None = None

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                self.one_batch()
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.failure = repr(e)

    def one_batch(self) -> None:
        project = self.rng.choice(PROJECTS)
        jobs = self.rng.sample(self.jobs[project], self.rng.randint(1, len(self.jobs[project])))
        kind = self.rng.choices(["pause", "resume", "status", "get"], [35, 35, 15, 15])[0]
        if kind == "pause":
            modes = {job: self.rng.choice(["target", "all"]) for job in jobs}
            action, body = e2e.PAUSE, {"jobs": [{"job_id": j, "pause_mode": modes[j]} for j in jobs]}
        elif kind == "resume":
            action, body = e2e.RETRY, {"jobs": [{"job_id": j, "is_sync_re_edit": False} for j in jobs]}
        elif kind == "status":
            action, body = e2e.STATUS, {"jobs": jobs}
        else:
            action, body = e2e.DETAIL, {"jobs": jobs}
        port = self.targets.pick(self.rng)
        self.counts["requests"] += 1
        call = self.histories.stamp()
        try:
            r = e2e.http_call(port, "POST", e2e.api_path(project, action), body, token=TOKEN_OF[project],
                              timeout=20)
        except ConnectionRefusedError:
            self.counts["refused_connection"] += 1  # a node that is gone: never received it
            return
        except (OSError, http.client.HTTPException):
            r = None
        ret = self.histories.stamp()
        if r is not None and r.status == 503:
            # Nothing was run (no owner now, or its engine stopped before it): no operation.
            self.counts["refused_503"] += 1
            if r.json.get("error_code") != NOT_RUN or r.header("Retry-After") != "1":
                raise AssertionError(f"a 503 without TASKORCH.0503 and Retry-After: {r}")
            time.sleep(0.2)
            return
        if r is None or r.status == 502:
            # The answer was lost (the node died) or the owner gave none: it may have run.
            if r is not None:
                self.counts["no_answer_502"] += 1
            else:
                self.counts["lost_with_killed_node" if self.targets.killed(port) else "unanswered"] += 1
            if kind in ("pause", "resume"):
                for job in jobs:
                    op = {"call": call, "ret": None, "kind": kind, "result": "unknown"}
                    if kind == "pause":
                        op["mode"] = modes[job]
                    self.histories.add(job, op)
            return
        if r.status != 200:
            raise AssertionError(f"unexpected answer: {r}")
        self.counts["answered"] += 1
        results = r.json["results"]
        if [item["id"] for item in results] != jobs:
            raise AssertionError(f"results not in request order: {r}")
        for job, item in zip(jobs, results):
            op = {"call": call, "ret": ret, "kind": kind}
            if kind in ("pause", "resume"):
                code = item.get("error_code")
                op["result"] = "ok" if item["status"] == "success" else ("not_run" if code == NOT_RUN else code)
                if op["result"] == "ok":
                    self.counts["acknowledged"] += 1
                if code == NOT_RUN:
                    self.counts["not_run_items"] += 1
                if kind == "pause":
                    op["mode"] = modes[job]
            elif "error_code" in item:
                op["result"] = item["error_code"]
            elif kind == "status":
                op.update(result="ok", status=item["status"])
            else:
                op.update(result="ok", **detail_fields(item))
            self.histories.add(job, op)


class Targets:
    """The ports clients send to; a node is taken out before it is killed or stopped."""

    def __init__(self, nodes: list[Node]) -> None:
        self._lock = threading.Lock()
        self._ports = [n.port for n in nodes]
        self._killed: set[int] = set()

    def pick(self, rng: random.Random) -> int:
        with self._lock:
            return rng.choice(self._ports)

    def add(self, node: Node) -> None:
        with self._lock:
            self._ports.append(node.port)

    def remove(self, node: Node, killed: bool = False) -> None:
        with self._lock:
            self._ports.remove(node.port)
            if killed:
                self._killed.add(node.port)

    def killed(self, port: int) -> bool:
        with self._lock:
            return port in self._killed


class ThreeNodesUnderLoad(unittest.TestCase):
    """node-a seeds two running tasks in each of four projects (one per partition); node-b and
    node-c join, and the partitions are spread over the three."""

    def setUp(self):
        self.conninfo = fresh_schema()
        self.fleet = e2e.Fleet("lin0")
        for project in PROJECTS:
            self.fleet.task("INCRE_TRANSFER_STARTED", project=project)
            self.fleet.task("FULL_TRANSFER_STARTED", project=project)
        self.nodes = {"node-a": Node(self.conninfo, "node-a", fleet=self.fleet, tokens=TOKENS).start()}
        for name in ("node-b", "node-c"):
            self.nodes[name] = Node(self.conninfo, name, tokens=TOKENS).start()
        spread = eventually(lambda: len(set(self.owners().values())) == 3 and len(self.owners()) == 4)
        self.assertTrue(spread, f"the partitions were not spread over three nodes: {self.owners()}")
        self.assertTrue(eventually(lambda: all(
            n.status_of(project, token, self.fleet.ids(project)[0]).status == 200
            for token, project in TOKENS for n in self.nodes.values())), "not answered by every node")

    def tearDown(self):
        for n in self.nodes.values():
            n.close()

    def owners(self) -> dict[str, str]:
        return owners(self.conninfo)

    def register(self, histories: Histories) -> None:
        """Each history starts with its task as it is before the load."""
        for token, project in TOKENS:
            jobs = self.fleet.ids(project)
            call = histories.stamp()
            r = self.nodes["node-a"].post(e2e.DETAIL, {"jobs": jobs}, token=token, project=project)
            ret = histories.stamp()
            self.assertEqual(r.status, 200, r)
            for job, item in zip(jobs, r.json["results"]):
                histories.add(job, {"call": call, "ret": ret, "kind": "register", **detail_fields(item)})

    def finish(self, histories: Histories, node: Node) -> None:
        """Each history ends with a read of its task, after the load."""
        for token, project in TOKENS:
            jobs = self.fleet.ids(project)
            r = eventually(lambda: (lambda r: r if r.status == 200 else None)(
                node.post(e2e.DETAIL, {"jobs": jobs}, token=token, project=project)))
            self.assertTrue(r, f"{project} not answered after the load")
            call, ret = histories.stamp(), histories.stamp()  # after every client stopped
            for job, item in zip(jobs, r.json["results"]):
                histories.add(job, {"call": call, "ret": ret, "kind": "get", "result": "ok",
                                    **detail_fields(item)})

    def served_by_another(self, project: str, gone: str, since: float) -> float:
        """Seconds from `since` until the node that took `project` over from `gone` answers it."""
        token = TOKEN_OF[project]

        def served() -> bool:
            owner = self.owners().get(project, gone)
            return owner != gone and self.nodes[owner].status_of(
                project, token, self.fleet.ids(project)[0]).status == 200

        self.assertTrue(eventually(served, limit=20, step=0.02), f"{project} not served after {gone} went")
        return time.monotonic() - since

    def test_histories_through_a_kill_a_join_and_a_sigterm_are_linearizable(self):
        histories = Histories()
        self.register(histories)
        targets = Targets(list(self.nodes.values()))
        jobs = {project: self.fleet.ids(project) for project in PROJECTS}
        clients = [Client(seed, jobs, targets, histories) for seed in range(CLIENTS)]
        for c in clients:
            c.start()
        try:
            time.sleep(1.5)
            # The owner of the first project is killed under load.
            victim_name = self.owners()[PROJECTS[0]]
            victim = self.nodes[victim_name]
            targets.remove(victim, killed=True)
            killed = time.monotonic()
            victim.kill()
            takeover_kill = self.served_by_another(PROJECTS[0], victim_name, killed)
            time.sleep(1.0)
            # A fourth node joins: partitions move to it while the batches run.
            joined = time.monotonic()
            self.nodes["node-d"] = Node(self.conninfo, "node-d", tokens=TOKENS).start()
            targets.add(self.nodes["node-d"])
            moved = eventually(lambda: "node-d" in self.owners().values(), limit=20, step=0.05)
            self.assertTrue(moved, f"node-d got no partition: {self.owners()}")
            join_took = time.monotonic() - joined
            time.sleep(1.0)
            # Another node leaves with SIGTERM: its partitions are handed over at once.
            leaving_name = next(name for name in sorted(self.nodes)
                                if name not in (victim_name, "node-d") and self.nodes[name].running())
            leaving = self.nodes[leaving_name]
            held = [p for p, owner in self.owners().items() if owner == leaving_name]
            targets.remove(leaving)
            stopped = time.monotonic()
            self.assertEqual(leaving.stop(), 0)
            takeover_term = max((self.served_by_another(p, leaving_name, stopped) for p in held), default=0.0)
            time.sleep(1.5)
        finally:
            for c in clients:
                c.stopping.set()
            for c in clients:
                c.join(timeout=60)
        for c in clients:
            self.assertIsNone(c.failure, c.failure)
            self.assertFalse(c.is_alive(), "a client is stuck")
        self.finish(histories, self.nodes["node-d"])
        summary = histories.assert_linearizable()
        totals = {k: sum(c.counts[k] for c in clients) for k in clients[0].counts}
        print(f"{summary}\nrequests {totals}; takeover after SIGKILL {takeover_kill:.2f} s, "
              f"node-d holding a partition {join_took:.2f} s after its start, takeover after SIGTERM "
              f"{takeover_term:.2f} s ({len(held)} partition(s))")
        self.assertGreater(totals["acknowledged"], 200, totals)
        self.assertEqual(totals["unanswered"], 0, "a request to a running node got no answer")


class LostAnswers(unittest.TestCase):
    """A client whose answer is lost sends the same batch again: the registry is as after one
    application."""

    def setUp(self):
        self.conninfo = fresh_schema()
        self.fleet = e2e.Fleet("lost")
        for project in PROJECTS:
            self.fleet.task("INCRE_TRANSFER_STARTED", project=project)
            self.fleet.task("CONFIGURATION", project=project)
        self.a = Node(self.conninfo, "node-a", fleet=self.fleet, tokens=TOKENS).start()
        self.b = Node(self.conninfo, "node-b", tokens=TOKENS).start()
        self.assertTrue(eventually(lambda: len(set(self.owners().values())) == 2), self.owners())
        self.assertTrue(eventually(lambda: all(
            n.status_of(project, token, self.fleet.ids(project)[0]).status == 200
            for token, project in TOKENS for n in (self.a, self.b))), "not answered by both nodes")

    def tearDown(self):
        self.a.close()
        self.b.close()

    def owners(self) -> dict[str, str]:
        return owners(self.conninfo)

    def details(self, node: Node, project: str) -> list[dict]:
        r = eventually(lambda: (lambda r: r if r.status == 200 else None)(
            node.post(e2e.DETAIL, {"jobs": self.fleet.ids(project)}, token=TOKEN_OF[project],
                      project=project)), limit=20)
        self.assertTrue(r, f"{project} not answered")
        return [detail_fields(item) for item in r.json["results"]]

    @staticmethod
    def send_and_hang_up(node: Node, project: str, action: str, body: dict) -> None:
        """Sends a request and closes the connection without reading the answer."""
        data = json.dumps(body).encode()
        with socket.create_connection(("127.0.0.1", node.port), timeout=5) as sock:
            sock.sendall(e2e.request_bytes("POST", e2e.api_path(project, action), data, {
                "Content-Type": "application/json", "X-Auth-Token": TOKEN_OF[project]}))

    def batch(self, project: str) -> list[tuple[str, dict]]:
        running, configured = self.fleet.ids(project)
        return [(e2e.PAUSE, {"jobs": [{"job_id": running, "pause_mode": "all"}]}),
                (e2e.STARTING, {"jobs": [{"job_id": configured}]})]

    def test_a_batch_sent_again_after_its_answer_was_lost_is_applied_once(self):
        for project in PROJECTS:
            owner = self.a if self.owners()[project] == "node-a" else self.b
            other = self.b if owner is self.a else self.a
            for action, body in self.batch(project):
                # The first answer is lost (the client hung up), through the node that does not
                # own the project; the client sends it again through the owner.
                self.send_and_hang_up(other, project, action, body)
                again = owner.post(action, body, token=TOKEN_OF[project], project=project)
                self.assertIn(again.status, (200, 202), again)
            after = self.details(owner, project)
            self.assertEqual([(d["status"], d["version"]) for d in after],
                             [("PAUSING", 1), ("STARTJOBING", 1)], after)

    def test_a_batch_whose_owner_died_before_answering_is_applied_once_when_sent_again(self):
        victim = self.b
        survivor = self.a
        theirs = [p for p, owner in self.owners().items() if owner == "node-b"]
        self.assertTrue(theirs)
        for project in theirs:
            for action, body in self.batch(project):
                self.send_and_hang_up(victim, project, action, body)
        victim.kill()  # the answers are lost, and maybe the changes never made: the client cannot tell
        for project in theirs:
            for action, body in self.batch(project):
                again = eventually(lambda: (lambda r: r if r.status in (200, 202) else None)(
                    survivor.post(action, body, token=TOKEN_OF[project], project=project)), limit=20)
                self.assertTrue(again, f"{project}: not taken after the owner died")
            after = self.details(survivor, project)
            self.assertEqual([(d["status"], d["version"]) for d in after],
                             [("PAUSING", 1), ("STARTJOBING", 1)], after)


if __name__ == "__main__":
    unittest.main()
