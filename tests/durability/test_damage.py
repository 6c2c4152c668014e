"""A damaged data directory, seen by the real taskorch-server and by `--check`.

A fleet is registered in a fresh data directory, CHANGES single-item pauses and resumes are
acknowledged (each one change, so one journal record), and the server is killed with SIGKILL:
the last journal segment then ends with those records. Copies of that directory are damaged:

- cut (truncated) at several byte offsets inside its last records, as a write cut short by a
  crash leaves it: `--check` reports the torn record (file and offset) and exits 0, and the
  server starts and recovers the intact prefix: the state after exactly the records before the
  cut;
- one bit flipped in a record in the middle of the segment, with good records after it: the
  server refuses to start (non-zero exit, the message names the file and the offset) and
  `--check` exits 1 naming the file and the offset.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import unittest

from durability_support import (PAUSABLE, PROJECT_A, START_TIMEOUT, TOKEN_A, E2ECase, Fleet, Server, TaskModel,
                                directory_bytes, frames, run_check, segments)

TASKS = 16
CHANGES = 40


class DamageTests(E2ECase):

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.tmp = tempfile.TemporaryDirectory(prefix="taskorch-durability-damage-")
        cls.pristine = os.path.join(cls.tmp.name, "pristine")
        fleet = Fleet("dam0")
        cls.ids = [fleet.task(PAUSABLE[n % len(PAUSABLE)]) for n in range(TASKS)]
        model = {i: TaskModel(fleet.initial[i]) for i in cls.ids}
        # states[k]: the registry after the first k changes
        cls.states = [{i: m.status for i, m in model.items()}]
        srv = Server(tokens=[(TOKEN_A, PROJECT_A)], fleet=fleet, data_dir=cls.pristine)
        try:
            srv.start()
            before = srv.metric_values()["taskorch_storage_journal_records_total"]
            for n in range(CHANGES):
                i = cls.ids[n % TASKS]
                op = "resume" if model[i].status == "PAUSING" else "pause"
                r = srv.pause([(i, "all")]) if op == "pause" else srv.retry([i])
                assert r.status == 200 and r.json["results"][0]["status"] == "success", str(r)
                model[i] = model[i].apply(op)
                cls.states.append({i: m.status for i, m in model.items()})
            after = srv.metric_values()["taskorch_storage_journal_records_total"]
            assert after - before == CHANGES, f"{after - before} journal records for {CHANGES} changes"
            srv.proc.kill()  # no last checkpoint: the changes stay in the journal
            srv.proc.wait()
        finally:
            srv.close()
        cls.segment = segments(cls.pristine)[-1]
        cls.frames = frames(os.path.join(cls.pristine, cls.segment))
        assert len(cls.frames) >= CHANGES, cls.frames

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def copy(self) -> str:
        work = os.path.join(self.temp_dir("taskorch-durability-damaged-"), "data")
        shutil.copytree(self.pristine, work)
        return work

    def test_the_pristine_directory_is_sound_and_recovers_every_change(self):
        p = run_check(self.pristine)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("sound", p.stdout)
        work = self.copy()
        srv = self.start_server(tokens=[(TOKEN_A, PROJECT_A)], data_dir=work)
        self.assertEqual(srv.statuses(self.ids), self.states[CHANGES])
        self.stop_ok(srv)

    def test_a_torn_tail_is_cut_and_the_prefix_recovered(self):
        last = len(self.frames) - 1
        cuts = []
        for back in (0, 1, 3):  # inside the last record, the one before, and three before it
            offset, length = self.frames[last - back]
            for inside in (1, 4, 8 + length // 2, 8 + length - 1):  # in the length, crc, payload
                cuts.append((back, offset + inside))
        for back, cut in cuts:
            with self.subTest(cut=cut, records_lost=back + 1):
                work = self.copy()
                path = os.path.join(work, self.segment)
                os.truncate(path, cut)
                p = run_check(work)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertRegex(p.stdout, rf"{re.escape(path)}: torn record at offset \d+")
                srv = self.start_server(tokens=[(TOKEN_A, PROJECT_A)], data_dir=work)
                self.assertIn("recovered", srv.registry_line())
                # The cut is logged with its file and offset (stderr is read by a thread of its
                # own: give it a moment).
                logged = rf"recovery: {re.escape(path)}: torn record at offset \d+"
                deadline = time.monotonic() + 5
                while (not any(re.search(logged, l) for l in srv.stderr_lines)
                       and time.monotonic() < deadline):
                    time.sleep(0.01)
                self.assertTrue(any(re.search(logged, l) for l in srv.stderr_lines), srv.stderr_lines)
                self.assertEqual(srv.statuses(self.ids), self.states[CHANGES - back - 1],
                                 f"cut at {cut}: not the state after the records before the cut")
                self.stop_ok(srv)
                # The cut was repaired: the directory is sound without a torn record now.
                p = run_check(work)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertNotIn("torn record", p.stdout)

    def test_a_flipped_bit_with_good_records_after_it_refuses_the_start(self):
        middle = len(self.frames) - CHANGES // 2
        offset, length = self.frames[middle]
        work = self.copy()
        path = os.path.join(work, self.segment)
        with open(path, "r+b") as f:
            f.seek(offset + 8 + length // 2)
            byte = f.read(1)[0]
            f.seek(offset + 8 + length // 2)
            f.write(bytes([byte ^ 0x10]))
        before = directory_bytes(work)

        srv = Server(tokens=[(TOKEN_A, PROJECT_A)], data_dir=work)
        self.addCleanup(srv.close)
        proc = srv.spawn()
        rc = proc.wait(timeout=START_TIMEOUT)
        srv._join()
        message = "\n".join(srv.stderr_lines)
        self.assertNotEqual(rc, 0)
        self.assertEqual(rc, 2, message)
        self.assertFalse(any("listening on" in line for line in srv.stdout_lines), srv.stdout_lines)
        self.assertTrue(message.startswith("taskorch-server: "), message)
        self.assertIn(path, message)
        self.assertRegex(message, rf"offset {offset}\b")
        self.assertEqual(directory_bytes(work), before, "a refused start changed files")

        p = run_check(work)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(path, p.stdout)
        self.assertRegex(p.stdout, rf"offset {offset}\b")
        self.assertIn("damaged", p.stdout)


if __name__ == "__main__":
    unittest.main()
