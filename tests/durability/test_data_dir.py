"""The data directory on taskorch-server's command line: --data-dir, --durability, --in-memory,
--check; one server per directory; the README's scenario (pause, SIGTERM, start again: the
pause is still there); the storage figures of /metrics.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unittest

from durability_support import (PROJECT_A, TOKEN_A, E2ECase, Fleet, Server, directory_bytes, run_check,
                                run_refused, server_binary)

SEED_JOB = "8d0e8e36-a618-490d-8a46-8c61ac9jb502"  # the DRS example's job, in the demo fleet


class DataDirTests(E2ECase):

    def setUp(self):
        f = self.fleet = Fleet("ddi0")
        self.ids = [f.task("INCRE_TRANSFER_STARTED") for _ in range(4)]

    def refused(self, args: list[str], says: str, cwd: str | None = None) -> str:
        p = run_refused(args, cwd=cwd)
        self.assertEqual(p.returncode, 2, f"{args}: exit {p.returncode}, stderr {p.stderr!r}")
        self.assertNotIn("listening on", p.stdout)
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertTrue(lines[0].startswith("taskorch-server: "), lines[0])
        self.assertIn(says, lines[0])
        return lines[0]

    def pause_survives_sigterm(self, data_dir: str, args: list[str], says: str) -> None:
        srv = self.start_server(tokens=[(TOKEN_A, PROJECT_A)], fleet=self.fleet, data_dir=data_dir, args=args)
        self.assertIn(says, srv.registry_line())
        self.assertBatch(srv.pause([(self.ids[0], "target")]), [(self.ids[0], None)])
        self.stop_ok(srv)
        srv.args = args
        srv.restart()
        self.assertIn("recovered", srv.registry_line())
        self.assertIn(says, srv.registry_line())
        self.assertEqual(srv.statuses(self.ids[:2]), {self.ids[0]: "PAUSING", self.ids[1]: "INCRE_TRANSFER_STARTED"})
        self.stop_ok(srv)

    # -- the README's scenario, in the default data directory of the working directory

    def test_pause_sigterm_start_again_in_the_default_data_directory(self):
        cwd = self.temp_dir()
        cmd = [server_binary(), "--listen", "127.0.0.1:0", "--engine-threads", "2",
               "--token", f"{TOKEN_A}:{PROJECT_A}"]
        for run in range(2):
            proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            try:
                port = int(re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)\n", proc.stdout.readline()).group(1))
                registry = proc.stdout.readline()
                srv = Server(tokens=[(TOKEN_A, PROJECT_A)])  # for its HTTP helpers only
                self.addCleanup(srv.close)
                srv.port = port
                if run == 0:
                    self.assertEqual(registry, "registry: initialised taskorch-data from the demo fleet "
                                               f"(durability always), {registry.split()[-2]} tasks\n")
                    self.assertBatch(srv.pause([(SEED_JOB, "target")]), [(SEED_JOB, None)])
                else:
                    self.assertRegex(registry, r"^registry: taskorch-data \(durability always\), recovered \d+ tasks")
                    self.assertEqual(srv.statuses([SEED_JOB]), {SEED_JOB: "PAUSING"})
                proc.terminate()
                _, err = proc.communicate(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
            self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(os.listdir(cwd), ["taskorch-data"])

    # -- --durability

    def test_durability_interval_keeps_a_pause_across_sigterm(self):
        self.pause_survives_sigterm(self.data_dir(), ["--durability", "interval:50"], "(durability interval:50)")

    def test_durability_none_keeps_a_pause_across_sigterm(self):
        self.pause_survives_sigterm(self.data_dir(), ["--durability", "none"], "(durability none)")

    def test_bad_durability_values_are_refused(self):
        for value in ("sometimes", "ALWAYS", "interval", "interval:", "interval:0", "interval:-5", "interval:abc",
                      "interval:50ms", "interval:86400001", "none:1", " always"):
            with self.subTest(value=value):
                line = self.refused(["--durability", value, "--data-dir", self.data_dir()], says="--durability")
                self.assertIn("always, interval:MS", line)

    # -- one server per directory; what is refused before anything is changed

    def test_a_second_server_on_the_same_directory_is_refused(self):
        data_dir = self.data_dir()
        first = self.start_server(tokens=[(TOKEN_A, PROJECT_A)], fleet=self.fleet, data_dir=data_dir)
        line = self.refused(["--data-dir", data_dir], says=data_dir)
        self.assertIn("in use by another process", line)
        self.assertIn(str(first.proc.pid), line)
        # The first one is unharmed.
        self.assertBatch(first.pause([(self.ids[0], "all")]), [(self.ids[0], None)])
        self.stop_ok(first)

    def test_a_fleet_with_a_directory_that_holds_a_registry_is_refused(self):
        data_dir = self.data_dir()
        srv = self.start_server(tokens=[(TOKEN_A, PROJECT_A)], fleet=self.fleet, data_dir=data_dir)
        self.assertBatch(srv.pause([(self.ids[0], "all")]), [(self.ids[0], None)])
        srv.proc.kill()  # the journal holds the pause: a refused start must not touch it
        srv.proc.wait()
        before = directory_bytes(data_dir)
        lock = os.stat(os.path.join(data_dir, "LOCK"))
        line = self.refused(["--data-dir", data_dir, "--fleet", srv.fleet_path], says="already holds a registry")
        self.assertIn(data_dir, line)
        self.assertEqual(directory_bytes(data_dir), before)
        self.assertEqual(os.stat(os.path.join(data_dir, "LOCK")).st_mtime_ns, lock.st_mtime_ns)

    def test_a_data_directory_that_is_a_file_is_refused(self):
        path = os.path.join(self.temp_dir(), "file")
        with open(path, "w", encoding="utf-8") as f:
            f.write("not a folder\n")
        self.refused(["--data-dir", path], says="not a folder")
        with open(path, encoding="utf-8") as f:
            self.assertEqual(f.read(), "not a folder\n")

    def test_in_memory_excludes_data_dir_and_durability(self):
        self.refused(["--in-memory", "--data-dir", self.data_dir()], says="--in-memory and --data-dir")
        self.refused(["--in-memory", "--durability", "none"], says="--in-memory and --durability")
        self.refused(["--in-memory", "--in-memory"], says="--in-memory is given twice")

    # -- where the directory is

    def test_a_symlinked_data_directory_is_followed(self):
        tmp = self.temp_dir()
        target = os.path.join(tmp, "target")
        os.mkdir(target)
        link = os.path.join(tmp, "link")
        os.symlink(target, link)
        self.pause_survives_sigterm(link, [], f"{link} ")
        self.assertTrue(os.path.islink(link), "the symbolic link was replaced")
        self.assertTrue(any(n.startswith("checkpoint-") for n in os.listdir(target)), os.listdir(target))

    def test_a_data_directory_in_missing_folders_is_created(self):
        path = os.path.join(self.temp_dir(), "a", "b", "data")
        srv = self.start_server(tokens=[(TOKEN_A, PROJECT_A)], fleet=self.fleet, data_dir=path)
        self.assertIn("initialised", srv.registry_line())
        self.stop_ok(srv)
        self.assertTrue(os.path.isdir(path))

    def test_in_memory_writes_nothing(self):
        cwd = self.temp_dir()
        proc = subprocess.Popen([server_binary(), "--listen", "127.0.0.1:0", "--in-memory"], cwd=cwd,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(proc.stdout.readline().startswith("listening on "))
            self.assertEqual(proc.stdout.readline(), "registry: in memory, 3013 tasks from the demo fleet\n")
            proc.terminate()
            proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(os.listdir(cwd), [])

    # -- --check

    def test_check_reports_a_sound_directory(self):
        data_dir = self.data_dir()
        srv = self.start_server(tokens=[(TOKEN_A, PROJECT_A)], fleet=self.fleet, data_dir=data_dir)
        self.assertBatch(srv.pause([(self.ids[0], "all")]), [(self.ids[0], None)])
        # While the server runs (read only, no lock needed), then after it stopped.
        for running in (True, False):
            with self.subTest(running=running):
                before = directory_bytes(data_dir)
                p = run_check(data_dir)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertIn(f"{data_dir}: checkpoint at record", p.stdout)
                self.assertTrue(p.stdout.endswith(f"{data_dir}: sound\n"), p.stdout)
                self.assertEqual(directory_bytes(data_dir), before, "--check changed a file")
            if running:
                self.stop_ok(srv)

    def test_check_usage(self):
        tmp = self.temp_dir()
        p = run_check(tmp)  # an empty folder holds no registry, which is sound
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("holds no registry", p.stdout)
        for args, says in ((["--check", "--data-dir", os.path.join(tmp, "missing")], "--check"),
                           (["--check", "--fleet", "x.json"], "--check takes --data-dir only"),
                           (["--check", "--in-memory"], "--check takes --data-dir only"),
                           (["--check", "--data-dir", tmp, "--durability", "none"], "--check takes --data-dir only")):
            with self.subTest(args=args):
                p = subprocess.run([server_binary(), *args], capture_output=True, text=True, timeout=60)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(says, p.stderr)
                self.assertEqual(p.stdout, "")
        self.assertFalse(os.path.exists(os.path.join(tmp, "missing")))

    # -- /metrics

    def test_storage_metrics(self):
        srv = self.start_server(tokens=[(TOKEN_A, PROJECT_A)], fleet=self.fleet, data_dir=self.data_dir())
        self.assertBatch(srv.pause([(i, "all") for i in self.ids]), [(i, None) for i in self.ids])
        r = srv.metrics()
        self.assertEqual(r.status, 200)
        text = r.raw.decode()
        m = srv.metric_values()
        self.assertEqual(m["taskorch_storage_enabled"], 1)
        self.assertEqual(m['taskorch_storage_durability{mode="always"}'], 1)
        self.assertEqual(m["taskorch_storage_journal_failed"], 0)
        self.assertGreaterEqual(m["taskorch_storage_journal_records_total"], len(self.ids) * 2)
        self.assertGreater(m["taskorch_storage_journal_bytes_total"], 0)
        self.assertGreaterEqual(m["taskorch_storage_journal_commits_total"], 2)
        self.assertGreaterEqual(m["taskorch_storage_journal_syncs_total"], 2)
        self.assertAlmostEqual(m["taskorch_storage_journal_records_per_commit"],
                               m["taskorch_storage_journal_records_total"] / m["taskorch_storage_journal_commits_total"])
        self.assertEqual(m['taskorch_storage_journal_sync_duration_seconds_bucket{le="+Inf"}'],
                         m["taskorch_storage_journal_sync_duration_seconds_count"])
        self.assertEqual(m["taskorch_storage_journal_sync_duration_seconds_count"],
                         m["taskorch_storage_journal_syncs_total"])
        self.assertEqual(m["taskorch_storage_checkpoints_total"], 1)  # the initialisation's
        self.assertGreater(m["taskorch_storage_last_checkpoint_duration_seconds"], 0)
        self.assertEqual(m["taskorch_storage_recovered"], 0)
        for name in ("taskorch_storage_longest_checkpoint_pause_seconds", "taskorch_storage_recovery_duration_seconds",
                     "taskorch_storage_recovered_records"):
            self.assertIn(name, m)
        self.assertIn("# TYPE taskorch_storage_journal_sync_duration_seconds histogram", text)
        promtool = shutil.which("promtool")
        if promtool:
            p = subprocess.run([promtool, "check", "metrics"], input=r.raw, capture_output=True, timeout=120)
            self.assertEqual(p.returncode, 0, f"promtool: {p.stdout.decode()}{p.stderr.decode()}")
        self.stop_ok(srv)
        srv.restart()
        m = srv.metric_values()
        self.assertEqual(m["taskorch_storage_recovered"], 1)
        self.assertEqual(m["taskorch_storage_journal_records_total"], 0)
        self.stop_ok(srv)

    def test_in_memory_metrics_say_storage_is_off(self):
        srv = self.start_server(tokens=[(TOKEN_A, PROJECT_A)], fleet=self.fleet)
        m = srv.metric_values()
        self.assertEqual(m["taskorch_storage_enabled"], 0)
        self.assertEqual([k for k in m if k.startswith("taskorch_storage_")], ["taskorch_storage_enabled"])
        self.stop_ok(srv)


if __name__ == "__main__":
    unittest.main()
