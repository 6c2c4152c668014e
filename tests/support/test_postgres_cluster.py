"""Tests of postgres_cluster.py against a real PostgreSQL (ctest: postgres-cluster, label cluster).

    cd tests/support && python3 -m unittest -v test_postgres_cluster

Each test starts its own throwaway cluster(s) on a loopback port and checks, at the end, that
no postmaster it started is left running. Skipped when PostgreSQL is not installed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import postgres_cluster as pc
from postgres_cluster import PostgresCluster, PostgresError, PostgresNotInstalled

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "postgres_cluster.py")

try:
    PSQL = pc.find_program("psql")
    pc.find_program("initdb")
except PostgresNotInstalled as e:
    raise unittest.SkipTest(str(e))


def wait_for(predicate, limit: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {limit} s")
        time.sleep(step)


def client_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(extra)
    return env


def psql_uri(conninfo: str, sql: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([PSQL, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo,
                           "-c", sql], capture_output=True, text=True, timeout=timeout,
                          env=client_env())


def tool(*args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True,
                          timeout=timeout, env=client_env(PYTHONDONTWRITEBYTECODE="1"), **kw)


class SharedCluster(unittest.TestCase):
    """Queries, clients, errors and terminate_backends on one cluster."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.pg = PostgresCluster().start()

    @classmethod
    def tearDownClass(cls) -> None:
        base, pid = cls.pg.base_dir, cls.pg.pid
        cls.pg.close()
        assert not os.path.exists(base), base
        assert not pc._alive(pid), pid

    def test_psql_runs_a_query(self) -> None:
        self.assertEqual(self.pg.psql("select 1 + 1"), "2")
        self.assertEqual(self.pg.psql("select current_user, current_database()"),
                         "taskorch|taskorch")
        self.assertEqual(self.pg.psql("select rolsuper from pg_roles where rolname = current_user"),
                         "f")
        self.assertEqual(self.pg.psql("show fsync"), "off")

    def test_conninfo_works_for_any_client(self) -> None:
        uri = self.pg.conninfo
        self.assertEqual(uri, f"postgresql://taskorch@127.0.0.1:{self.pg.port}/taskorch"
                              "?connect_timeout=5")
        r = psql_uri(uri, "select current_user, current_database(), inet_server_addr(), "
                          "inet_server_port()")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), f"taskorch|taskorch|127.0.0.1|{self.pg.port}")
        # taskorch owns its database: it can create its schema there.
        r = psql_uri(uri, "create table conninfo_check (x int); drop table conninfo_check")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_runs_as_the_owner_on_its_own_socket_directory(self) -> None:
        expected = os.environ.get("TASKORCH_PG_USER", "postgres") if os.geteuid() == 0 \
            else pc.pwd.getpwuid(os.geteuid()).pw_name
        self.assertEqual(self.pg.owner, expected)
        with open(f"/proc/{self.pg.pid}/status") as f:
            status = f.read()
        uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
        self.assertEqual(int(uid), pc.pwd.getpwnam(expected).pw_uid)
        self.assertNotEqual(int(uid), 0)
        self.assertEqual(self.pg.psql("show unix_socket_directories", user="postgres"),
                         self.pg.socket_dir)
        self.assertEqual(self.pg.psql("show listen_addresses", user="postgres"), "127.0.0.1")

    def test_psql_raises_on_error(self) -> None:
        with self.assertRaises(PostgresError) as ctx:
            self.pg.psql("select no_such_column")
        self.assertIn("no_such_column", str(ctx.exception))

    def test_create_database(self) -> None:
        uri = self.pg.create_database("second_db")
        r = psql_uri(uri, "select current_database()")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "second_db"), r.stderr)
        with self.assertRaises(ValueError):
            self.pg.create_database("x; drop database taskorch")

    def test_terminate_backends_by_application_name(self) -> None:
        def sleeper(name: str) -> subprocess.Popen:
            return subprocess.Popen([PSQL, "-X", "-d", self.pg.conninfo, "-c",
                                     "select pg_sleep(30)"], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True,
                                    env=client_env(PGAPPNAME=name))
        victim, bystander = sleeper("victim-node"), sleeper("bystander-node")
        try:
            count = ("select count(*) from pg_stat_activity where application_name = '{}' "
                     "and state = 'active'")
            wait_for(lambda: self.pg.psql(count.format("victim-node"), user="postgres") == "1"
                     and self.pg.psql(count.format("bystander-node"), user="postgres") == "1",
                     20, "both sleepers connected")
            self.assertEqual(self.pg.terminate_backends("victim-node"), 1)
            out, err = victim.communicate(timeout=10)
            self.assertNotEqual(victim.returncode, 0)
            self.assertIn("terminat", err)  # FATAL: terminating connection due to administrator command
            self.assertIsNone(bystander.poll())
            self.assertEqual(self.pg.psql(count.format("bystander-node"), user="postgres"), "1")
            self.assertEqual(self.pg.terminate_backends("no-such-application"), 0)
            # Without a name: every client backend but the asking one.
            self.assertGreaterEqual(self.pg.terminate_backends(), 1)
            bystander.communicate(timeout=10)
            self.assertNotEqual(bystander.returncode, 0)
            self.assertEqual(self.pg.psql("select 'still answers'"), "still answers")
        finally:
            for p in (victim, bystander):
                if p.poll() is None:
                    p.kill()
                    p.communicate()


class LifeCycle(unittest.TestCase):
    def test_restart_and_kill_keep_committed_data(self) -> None:
        with PostgresCluster() as pg:
            port, conninfo = pg.port, pg.conninfo
            pg.psql("create table t (x int primary key); insert into t values (1), (2)")
            first_pid = pg.pid
            pg.restart()
            self.assertNotEqual(pg.pid, first_pid)
            self.assertEqual((pg.port, pg.conninfo), (port, conninfo))
            self.assertEqual(pg.psql("select string_agg(x::text, ',' order by x) from t"), "1,2")

            pg.psql("insert into t select generate_series(3, 1000)")
            killed = pg.pid
            pg.kill()
            self.assertFalse(pc._alive(killed))
            self.assertFalse(pg.running())
            r = psql_uri(conninfo, "select 1", timeout=30)
            self.assertNotEqual(r.returncode, 0)  # nothing listens any more

            pg.start()  # crash recovery
            self.assertTrue(pg.running())
            self.assertEqual(pg.port, port)
            self.assertEqual(pg.psql("select count(*), max(x) from t"), "1000|1000")
            log = pg.log_tail(200)
            self.assertIn("was interrupted", log)  # "database system was interrupted; ..."
            self.assertIn("redo", log)

            pg.stop()
            self.assertFalse(pg.running())
            pg.stop()  # a no-op
            pg.start()
            self.assertEqual(pg.psql("select count(*) from t"), "1000")
            base, pid = pg.base_dir, pg.pid
        self.assertFalse(os.path.exists(base))
        self.assertFalse(pc._alive(pid))

    def test_watchdog_stops_a_cluster_whose_process_was_killed(self) -> None:
        code = ("import json, sys, time; sys.path.insert(0, %r); import postgres_cluster as pc; "
                "c = pc.PostgresCluster().start(); print(json.dumps(c.state()), flush=True); "
                "time.sleep(120)") % HERE
        owner = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                 text=True, env=client_env(PYTHONDONTWRITEBYTECODE="1"))
        try:
            state = json.loads(owner.stdout.readline())
            self.assertTrue(pc._alive(state["pid"]))
            owner.kill()  # SIGKILL: no atexit, no close()
            owner.wait(10)
            wait_for(lambda: not pc._alive(state["pid"]), 30, "postmaster stopped by the watchdog")
            wait_for(lambda: not os.path.exists(state["base_dir"]), 30, "directory removed")
        finally:
            if owner.poll() is None:
                owner.kill()
                owner.wait()
            owner.stdout.close()

    def test_a_taken_port_is_replaced_by_another(self) -> None:
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        offered = [taken.getsockname()[1]]
        real_free_port = pc.free_port
        pc.free_port = lambda: offered.pop() if offered else real_free_port()
        try:
            with PostgresCluster() as pg:
                self.assertNotEqual(pg.port, taken.getsockname()[1])
                self.assertIn("could not bind", pg.log_tail(200))
                self.assertEqual(pg.psql("select 1"), "1")
        finally:
            pc.free_port = real_free_port
            taken.close()

    def test_missing_program_names_the_package(self) -> None:
        with self.assertRaises(PostgresNotInstalled) as ctx:
            pc.find_program("no_such_postgres_program")
        self.assertIn("postgresql-15", str(ctx.exception))


class CommandLine(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="taskorch-pg-test-")
        self.state_file = os.path.join(self.dir, "pg.json")

    def tearDown(self) -> None:
        if os.path.exists(self.state_file):
            tool("stop", "--state-file", self.state_file)
        os.rmdir(self.dir)

    def read_state(self) -> dict:
        with open(self.state_file) as f:
            return json.load(f)

    def test_start_stop_round_trip(self) -> None:
        # capture_output: a postmaster holding our pipes would make this time out.
        r = tool("start", "--state-file", self.state_file, timeout=90)
        self.assertEqual(r.returncode, 0, r.stderr)
        state = self.read_state()
        for key in ("conninfo", "port", "data_dir", "pid", "owner"):
            self.assertIn(key, state)
        self.assertEqual(r.stdout.strip(), state["conninfo"])
        self.assertTrue(pc._alive(state["pid"]), "the postmaster outlives the tool")
        q = psql_uri(state["conninfo"], "select current_user")
        self.assertEqual((q.returncode, q.stdout.strip()), (0, "taskorch"), q.stderr)

        # A live cluster's state file is not overwritten.
        again = tool("start", "--state-file", self.state_file)
        self.assertEqual(again.returncode, 1)
        self.assertIn("running cluster", again.stderr)
        self.assertEqual(self.read_state(), state)

        # --replace (a fixture's setup after a run killed before its cleanup) stops it first.
        r = tool("start", "--replace", "--state-file", self.state_file, timeout=90)
        self.assertEqual(r.returncode, 0, r.stderr)
        replaced = state
        state = self.read_state()
        self.assertNotEqual(state["data_dir"], replaced["data_dir"])
        self.assertFalse(os.path.exists(replaced["data_dir"]))
        wait_for(lambda: not pc._alive(replaced["pid"]), 10, "the replaced postmaster gone")
        q = psql_uri(state["conninfo"], "select 1")
        self.assertEqual(q.returncode, 0, q.stderr)

        r = tool("stop", "--state-file", self.state_file)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(self.state_file))
        self.assertFalse(os.path.exists(state["data_dir"]))
        wait_for(lambda: not pc._alive(state["pid"]), 10, "postmaster gone")
        r = tool("stop", "--state-file", self.state_file)  # nothing left: not an error
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_start_replaces_a_dead_leftover(self) -> None:
        r = tool("start", "--state-file", self.state_file)
        self.assertEqual(r.returncode, 0, r.stderr)
        old = self.read_state()
        os.kill(old["pid"], signal.SIGKILL)  # the crash of a machine, of a test run...
        wait_for(lambda: not pc._alive(old["pid"]), 10, "postmaster killed")
        r = tool("start", "--state-file", self.state_file)
        self.assertEqual(r.returncode, 0, r.stderr)
        new = self.read_state()
        self.assertNotEqual(new["data_dir"], old["data_dir"])
        self.assertFalse(os.path.exists(os.path.dirname(old["data_dir"])))
        q = psql_uri(new["conninfo"], "select 1")
        self.assertEqual(q.returncode, 0, q.stderr)
        self.assertEqual(tool("stop", "--state-file", self.state_file).returncode, 0)
        wait_for(lambda: not pc._alive(new["pid"]), 10, "postmaster gone")

    def test_run_passes_the_conninfo_and_the_exit_status(self) -> None:
        child = ("import os, subprocess, sys; uri = os.environ['TASKORCH_TEST_POSTGRES']; "
                 "print('uri', uri, flush=True); "
                 f"r = subprocess.run([{PSQL!r}, '-X', '-A', '-t', '-d', uri, '-c', "
                 "'select 40 + 2'], capture_output=True, text=True); "
                 "print('answer', r.stdout.strip(), flush=True); sys.exit(3)")
        r = tool("run", "--", sys.executable, "-c", child)
        self.assertEqual(r.returncode, 3, r.stderr)
        lines = dict(line.split(" ", 1) for line in r.stdout.splitlines())
        self.assertEqual(lines["answer"], "42")
        self.assertRegex(lines["uri"], r"^postgresql://taskorch@127\.0\.0\.1:\d+/taskorch\?")
        port = lines["uri"].split(":")[2].split("/")[0]
        # After run, nothing listens there and no cluster directory of that port is left.
        q = psql_uri(lines["uri"], "select 1")
        self.assertNotEqual(q.returncode, 0)
        for f in pc._cluster_files():
            with open(f) as fh:
                self.assertNotEqual(str(json.load(fh).get("port")), port)


if __name__ == "__main__":
    unittest.main()
