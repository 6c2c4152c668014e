"""taskorch-server --postgres as real processes against the real PostgreSQL (docs/scale-out.md):
the command line's refusals, a database seeded once, a node killed with SIGKILL and started
again, and two nodes sharing the partitions, each answering its own projects and 503 with
Retry-After for the others, until one stops with SIGTERM and the other takes everything over
with every acknowledged change.

Run by ctest (fixture cluster-postgres-up: TASKORCH_TEST_POSTGRES_STATE) or by hand with
tests/support/postgres_cluster.py run -- python3 -m unittest -v test_servers (TASKORCH_SERVER set).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "support"))

import e2e_support as e2e  # noqa: E402
import postgres_cluster  # noqa: E402
from test_event_stream import EventStream  # noqa: E402

PARTITIONS = 4
LEASE_MS = 1500
RENEW_MS = 250
_schemas = itertools.count()


def base_conninfo() -> str:
    given = os.environ.get("TASKORCH_TEST_POSTGRES")
    if given:
        return given
    state = os.environ.get("TASKORCH_TEST_POSTGRES_STATE")
    if not state:
        raise unittest.SkipTest("no test cluster (run through ctest, or postgres_cluster.py run)")
    with open(state, encoding="utf-8") as f:
        return json.load(f)["conninfo"]


def psql(conninfo: str, sql: str) -> list[list[str]]:
    """The rows `sql` returns, each a list of its columns' text."""
    run = subprocess.run([postgres_cluster.find_program("psql"), conninfo, "-v", "ON_ERROR_STOP=1",
                          "-At", "-F", "\t", "-c", sql], check=True, timeout=30, capture_output=True)
    return [line.split("\t") for line in run.stdout.decode().splitlines() if line]


def fresh_schema() -> str:
    """A conninfo whose search_path is a new, empty schema of this test's own."""
    base = base_conninfo()
    name = f"srv{os.getpid()}_{next(_schemas)}"
    psql(base, f"CREATE SCHEMA {name}")
    return base + ("&" if "?" in base else "?") + "options=-c%20search_path%3D" + name


class Node(e2e.Server):
    """taskorch-server --postgres on 127.0.0.1 with an ephemeral port."""

    def __init__(self, conninfo: str, name: str, lease_ms: int = LEASE_MS, renew_ms: int = RENEW_MS,
                 **kw) -> None:
        super().__init__(**kw)
        self.conninfo = conninfo
        self.name = name
        self.lease_ms = lease_ms
        self.renew_ms = renew_ms

    def command(self) -> list[str]:
        cmd = [e2e.server_binary(), "--listen", "127.0.0.1:0", "--engine-threads", "1",
               "--postgres", self.conninfo, "--node-name", self.name,
               "--partitions", str(PARTITIONS), "--lease-ms", str(self.lease_ms),
               "--renew-ms", str(self.renew_ms)]
        if self.fleet_path:
            cmd += ["--fleet", self.fleet_path]
        for token, project in self.tokens:
            cmd += ["--token", f"{token}:{project}"]
        return cmd + self.args

    def status_of(self, project: str, token: str, job: str) -> e2e.Response:
        return self.post(e2e.STATUS, {"jobs": [job]}, token=token, project=project)


def eventually(check, limit: float = 15.0, step: float = 0.1):
    """Calls check() until it returns something true, for `limit` seconds; returns the last."""
    until = time.monotonic() + limit
    while True:
        got = check()
        if got or time.monotonic() > until:
            return got
        time.sleep(step)


def partition_of(project: str, partitions: int) -> int:
    """The stored format's partition of a project (docs/scale-out.md): FNV-1a 64 of its text."""
    h = 0xcbf29ce484222325
    for c in project.encode():
        h = ((h ^ c) * 0x100000001b3) % (1 << 64)
    return h % partitions


def project_per_partition() -> list[str]:
    """One project id for each partition, in partition order."""
    found: dict[int, str] = {}
    for n in itertools.count():
        project = f"{0xc1c0000 + n:032x}"
        found.setdefault(partition_of(project, PARTITIONS), project)
        if len(found) == PARTITIONS:
            return [found[p] for p in range(PARTITIONS)]
    raise AssertionError("unreachable")


PROJECTS = project_per_partition()
TOKENS = [(f"token-{p}", project) for p, project in enumerate(PROJECTS)]


def owners(conninfo: str) -> dict[str, str]:
    """Each project of PROJECTS that has an owner now, with it, as the database says (the
    owner's lease running)."""
    held = {int(p): owner for p, owner in psql(
        conninfo, "SELECT id, owner FROM taskorch_partitions WHERE lease_until > now()")}
    return {project: held[p] for p, project in enumerate(PROJECTS) if p in held}


def fleet_of(projects: list[str]) -> e2e.Fleet:
    fleet = e2e.Fleet("clu0")
    for project in projects:
        fleet.task("INCRE_TRANSFER_STARTED", project=project)
        fleet.task("FULL_TRANSFER_STARTED", project=project)
    return fleet


class CommandLine(unittest.TestCase):
    def refused(self, *args: str) -> str:
        run = subprocess.run([e2e.server_binary(), *args], capture_output=True, timeout=60,
                             stdin=subprocess.DEVNULL)
        self.assertEqual(run.returncode, 2, run)
        self.assertEqual(run.stdout, b"")
        return run.stderr.decode()

    def test_flags_that_do_not_go_together_are_refused(self):
        self.assertIn("--postgres and --data-dir exclude each other",
                      self.refused("--postgres", "host=x", "--data-dir", "d"))
        self.assertIn("--postgres and --in-memory exclude each other",
                      self.refused("--postgres", "host=x", "--in-memory"))
        self.assertIn("--node-name needs --postgres", self.refused("--node-name", "a"))
        self.assertIn("--renew-ms 600 must be at most a third of --lease-ms 1500",
                      self.refused("--postgres", "host=x", "--lease-ms", "1500", "--renew-ms", "600"))
        self.assertIn("--partitions needs a whole number from 1 to 4096",
                      self.refused("--postgres", "host=x", "--partitions", "0"))
        self.assertIn("--advertise needs a port other than 0",
                      self.refused("--postgres", "host=x", "--advertise", "127.0.0.1:0"))

    def test_a_database_that_cannot_be_reached_stops_the_start(self):
        port = postgres_cluster.free_port()
        message = self.refused("--listen", "127.0.0.1:0", "--postgres",
                               f"postgresql://nobody@127.0.0.1:{port}/none?connect_timeout=2")
        self.assertTrue(message.startswith("taskorch-server: --postgres: "), message)


class OneNode(unittest.TestCase):
    def setUp(self):
        self.conninfo = fresh_schema()
        self.fleet = fleet_of([e2e.PROJECT_A, e2e.PROJECT_B])
        self.nodes: list[Node] = []

    def tearDown(self):
        for n in self.nodes:
            n.close()

    def node(self, name: str, **kw) -> Node:
        n = Node(self.conninfo, name, **kw)
        self.nodes.append(n)
        return n.start()

    def test_a_killed_node_started_again_serves_what_it_acknowledged(self):
        a = self.node("node-a", fleet=self.fleet)
        registry = a.stdout_lines[1]
        self.assertRegex(registry, r"^registry: PostgreSQL, node node-a at 127\.0\.0\.1:\d+, 4 partitions, "
                                   r"holding 0, 1, 2, 3; seeded 4 of 4 tasks into partition")
        job = self.fleet.ids(e2e.PROJECT_A)[0]
        r = a.pause([(job, "target")])
        self.assertEqual((r.status, r.json["results"][0]["status"]), (200, "success"), r)
        a.kill()  # SIGKILL: its leases stay in the database until they run out
        a.fleet_path = None
        a.start()
        # Its own leases are not taken again before they run out: 503 meanwhile, then served.
        first = a.status_of(e2e.PROJECT_A, e2e.TOKEN_A, job)
        if first.status == 503:
            self.assertEqual(first.header("Retry-After"), "1", first)
            self.assertEqual(first.json["error_code"], "TASKORCH.0503", first)
        served = eventually(lambda: (lambda r: r if r.status == 200 else None)(
            a.status_of(e2e.PROJECT_A, e2e.TOKEN_A, job)), limit=10)
        self.assertTrue(served, "not served again within 10 s")
        self.assertEqual(served.json["results"][0]["status"], "PAUSING")

    def test_a_fleet_is_refused_by_a_database_that_holds_its_projects(self):
        a = self.node("node-a", fleet=self.fleet)
        self.assertEqual(a.stop(), 0)
        again = Node(self.conninfo, "node-b", fleet=self.fleet)
        self.nodes.append(again)
        again.spawn()
        rc = again.proc.wait(timeout=60)
        again._join()
        self.assertEqual(rc, 2)
        self.assertIn("--fleet: the database already holds tasks of partition(s)",
                      "\n".join(again.stderr_lines))


class TwoNodes(unittest.TestCase):
    """node-a seeds one project per partition and takes them all; node-b joins and gets half."""

    def setUp(self):
        self.conninfo = fresh_schema()
        self.fleet = fleet_of(PROJECTS)
        self.a = Node(self.conninfo, "node-a", fleet=self.fleet, tokens=TOKENS).start()
        self.b = Node(self.conninfo, "node-b", tokens=TOKENS).start()
        shared = eventually(lambda: (lambda o: o if sorted(o.values()) == ["node-a"] * 2 + ["node-b"] * 2
                                     else None)(self.owners()))
        self.assertTrue(shared, f"the partitions were not shared half and half: {self.owners()}")
        self.owner = {project: (self.a if name == "node-a" else self.b) for project, name in shared.items()}
        self.other = {project: (self.b if n is self.a else self.a) for project, n in self.owner.items()}
        # Each node learns who holds what in its next round (until then it answers 503).
        self.assertTrue(eventually(lambda: all(
            n.status_of(project, token, self.fleet.ids(project)[0]).status == 200
            for token, project in TOKENS for n in (self.a, self.b))), "not answered by both nodes")

    def tearDown(self):
        self.a.close()
        self.b.close()

    def owners(self) -> dict[str, str]:
        return owners(self.conninfo)

    def test_any_node_answers_any_project_as_its_owner_would(self):
        for token, project in TOKENS:
            jobs = self.fleet.ids(project)
            by_owner = self.owner[project].status_of(project, token, jobs[0])
            by_other = self.other[project].status_of(project, token, jobs[0])
            self.assertEqual((by_other.status, by_other.raw), (by_owner.status, by_owner.raw))
            # A command sent to the other node is applied once, by the owner.
            r = self.other[project].pause([(jobs[0], "all")], token=token, project=project)
            self.assertEqual(r.json["results"][0]["status"], "success", r)
            detail = self.owner[project].post("batch-detail", {"jobs": [jobs[0]]}, token=token,
                                              project=project)
            self.assertEqual(detail.json["results"][0]["status"], "PAUSING", detail)
            # Refusals come back as the owner gave them (a job of another project: M05003).
            wrong = self.other[project].pause([(self.fleet.ids(PROJECTS[0] if project != PROJECTS[0]
                                                               else PROJECTS[1])[0], "all")],
                                              token=token, project=project)
            self.assertEqual(wrong.json["results"][0]["error_code"], "DRS.M05003", wrong)

    def test_a_request_forwarded_once_is_not_forwarded_again(self):
        token, project = TOKENS[0]
        r = self.other[project].post(e2e.STATUS, {"jobs": [self.fleet.ids(project)[0]]}, token=token,
                                     project=project, headers={"X-Taskorch-Forwarded": "1"})
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.header("Retry-After"), "1", r)

    def test_an_event_stream_is_redirected_to_the_owner(self):
        token, project = TOKENS[1]
        r = self.other[project].call("GET", f"/v3/{project}/events", token=token)
        self.assertEqual(r.status, 307, r)
        self.assertEqual(r.header("Location"), f"http://127.0.0.1:{self.owner[project].port}/v3/{project}/events")

    def test_a_stopped_node_hands_its_partitions_over_at_once(self):
        for token, project in TOKENS:
            r = self.a.pause([(self.fleet.ids(project)[0], "all")], token=token, project=project)
            self.assertEqual(r.json["results"][0]["status"], "success", r)
        started = time.monotonic()
        self.assertEqual(self.b.stop(), 0)  # SIGTERM: released at once
        for token, project in TOKENS:
            job = self.fleet.ids(project)[0]
            served = eventually(lambda: (lambda r: r if r.status == 200 else None)(
                self.a.status_of(project, token, job)), limit=10)
            self.assertTrue(served, f"{project} not served by node-a after node-b stopped")
            self.assertEqual(served.json["results"][0]["status"], "PAUSING", served)
        took = time.monotonic() - started
        print(f"takeover after SIGTERM: {took:.2f} s (lease {LEASE_MS} ms, renew {RENEW_MS} ms)")
        self.assertLess(took, LEASE_MS / 1000, "taken over only when the leases ran out")

    def test_a_killed_owners_partitions_are_served_again_after_its_lease(self):
        theirs = [(token, project) for token, project in TOKENS if self.owner[project] is self.b]
        for token, project in theirs:
            r = self.a.pause([(self.fleet.ids(project)[0], "all")], token=token, project=project)
            self.assertEqual(r.json["results"][0]["status"], "success", r)
        killed = time.monotonic()
        self.b.kill()  # SIGKILL: its leases run out in the database
        token, project = theirs[0]
        job = self.fleet.ids(project)[0]
        gap = self.a.status_of(project, token, job)
        self.assertIn(gap.status, (200, 503), gap)  # 503 while nobody holds the partition
        if gap.status == 503:
            self.assertEqual(gap.header("Retry-After"), "1", gap)
        for token, project in theirs:
            job = self.fleet.ids(project)[0]
            served = eventually(lambda: (lambda r: r if r.status == 200 else None)(
                self.a.status_of(project, token, job)), limit=15)
            self.assertTrue(served, f"{project} not served after node-b was killed")
            self.assertEqual(served.json["results"][0]["status"], "PAUSING", served)
        took = time.monotonic() - killed
        print(f"takeover after SIGKILL: {took:.2f} s (lease {LEASE_MS} ms, renew {RENEW_MS} ms)")

    def test_a_frozen_owner_is_replaced_and_never_answers_from_what_it_held(self):
        token, project = next((t, p) for t, p in TOKENS if self.owner[p] is self.b)
        job = self.fleet.ids(project)[0]
        r = self.a.pause([(job, "target")], token=token, project=project)  # applied by node-b
        self.assertEqual(r.json["results"][0]["status"], "success", r)
        self.b.proc.send_signal(signal.SIGSTOP)  # frozen past its lease
        try:
            frozen = time.monotonic()
            served = eventually(lambda: self.owners().get(project) == "node-a" and (
                lambda r: r if r.status == 200 else None)(self.a.status_of(project, token, job)))
            self.assertTrue(served, "node-a did not take the frozen node's partition over")
            print(f"takeover after SIGSTOP: {time.monotonic() - frozen:.2f} s")
            self.assertEqual(served.json["results"][0]["status"], "PAUSING", served)
            # A change made by the new owner while the old one is frozen.
            r = self.a.pause([(job, "all")], token=token, project=project)
            self.assertEqual(r.json["results"][0]["status"], "success", r)
        finally:
            self.b.proc.send_signal(signal.SIGCONT)
        # Woken, node-b is past its deadline: it never answers from what it held. It refuses
        # (503) until its next round shows the new owner, then sends requests there.
        answers = []
        def settled():
            r = self.b.status_of(project, token, job)
            answers.append(r.status)
            return r if r.status == 200 else None
        served = eventually(settled)
        self.assertTrue(served, f"node-b never forwarded to the new owner: {answers}")
        self.assertTrue(set(answers) <= {200, 503}, answers)
        detail = self.b.post("batch-detail", {"jobs": [job]}, token=token, project=project)
        job_detail = detail.json["results"][0]
        self.assertEqual(job_detail["status"], "PAUSING", detail)
        # Two acknowledged changes, each applied once: versions 1 and 2, none lost or doubled.
        self.assertEqual(job_detail.get("version"), 2, detail)


class Rebalance(unittest.TestCase):
    """node-a seeds one project per partition and holds them all; node-b joins, and node-a lets
    its highest partitions go (3, then 2) for it."""

    def setUp(self):
        self.conninfo = fresh_schema()
        self.fleet = fleet_of(PROJECTS)
        self.a = Node(self.conninfo, "node-a", fleet=self.fleet, tokens=TOKENS).start()
        self.b = Node(self.conninfo, "node-b", tokens=TOKENS)

    def tearDown(self):
        self.a.close()
        self.b.close()

    def test_a_stream_whose_partition_moves_is_cut_off_and_resumes_at_the_new_owner(self):
        token, project = TOKENS[3]
        job = self.fleet.ids(project)[0]
        with EventStream(self.a.port, token=token, project=project, query="?since=0").open() as s:
            self.assertEqual(self.a.pause([(job, "target")], token=token, project=project).status, 200)
            first = s.changes(1)[0]
            self.b.start()
            cut = None
            while (frame := s.frame(limit=15)) is not None:
                if frame.event == "cut_off":
                    cut = frame
                    break
            self.assertIsNotNone(cut, "the stream was not cut off when its partition moved")
            self.assertEqual(cut.json, {"resume_after": first["sequence"],
                                        "reason": "moved"})
            resume = str(cut.json["resume_after"])
        # Where the client reconnects, it is sent to the new owner (after 503s with Retry-After
        # while node-b claims the partition), and resumes there.
        def redirected():
            answer = self.a.call("GET", f"/v3/{project}/events", token=token,
                                 headers={"Last-Event-ID": resume})
            self.assertIn(answer.status, (307, 503), answer)
            return answer if answer.status == 307 else None
        moved = eventually(redirected)
        self.assertTrue(moved, "never redirected to the new owner")
        self.assertEqual(moved.header("Location"), f"http://127.0.0.1:{self.b.port}/v3/{project}/events")
        # node-a may learn the new owner before node-b has loaded the partition: node-b answers
        # 503 with Retry-After until then, and the client tries again.
        self.assertTrue(eventually(lambda: self.b.status_of(project, token, job).status == 200),
                        "node-b never served the partition it took")
        with EventStream(self.b.port, token=token, project=project, last_event_id=resume).open() as s:
            r = self.b.pause([(job, "all")], token=token, project=project)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["results"][0]["status"], "success", r)
            change = s.changes(1)[0]
            self.assertEqual((change["job_id"], change["cause"], change["version"]), (job, "pause", 2))
            self.assertGreater(change["sequence"], int(resume))


class DatabaseDown(unittest.TestCase):
    """A node whose PostgreSQL stops: changes refused at once, queries answered until the
    lease's deadline, everything back when the database is."""

    def setUp(self):
        self.pg = postgres_cluster.PostgresCluster().start()
        self.fleet = fleet_of([e2e.PROJECT_A])
        self.node = Node(self.pg.conninfo, "node-a", fleet=self.fleet, lease_ms=6000, renew_ms=500)
        self.node.start()

    def tearDown(self):
        self.node.close()
        self.pg.close()

    def test_changes_are_refused_queries_answered_and_service_comes_back(self):
        first, second = self.fleet.ids(e2e.PROJECT_A)
        self.assertEqual(self.node.pause([(first, "target")]).json["results"][0]["status"], "success")
        self.pg.stop()
        stopped = time.monotonic()
        refused = self.node.pause([(second, "target")])
        self.assertEqual(refused.status, 503, refused)
        self.assertEqual(refused.json["error_code"], "TASKORCH.0507", refused)
        answered = self.node.status([first, second])
        within = time.monotonic() - stopped
        self.assertLess(within, 6000 * 0.8 / 1000, "the check came too late to mean anything")
        self.assertEqual(answered.status, 200, answered)
        self.assertEqual([r["status"] for r in answered.json["results"]],
                         ["PAUSING", "FULL_TRANSFER_STARTED"], answered)
        self.pg.start()
        back = eventually(lambda: (lambda r: r if r.status == 200 else None)(
            self.node.pause([(second, "target")])), limit=20)
        self.assertTrue(back, "changes were not taken again after the database came back")
        self.assertEqual(back.json["results"][0]["status"], "success", back)
        detail = self.node.post("batch-detail", {"jobs": [first, second]})
        self.assertEqual([(r["status"], r.get("version")) for r in detail.json["results"]],
                         [("PAUSING", 1), ("PAUSING", 1)], detail)


if __name__ == "__main__":
    unittest.main()
