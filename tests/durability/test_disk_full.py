"""A real "disk full" for the real taskorch-server: a file-size limit (util-linux prlimit
--fsize), so that a journal write past it fails with EFBIG (the server ignores SIGXFSZ).

The data directory is initialised and the size of one pause record measured in a first run;
the second run starts under a limit that leaves room for about PAUSES_THAT_FIT pause records in
its new journal segment. Single-item pauses are then sent one by one: the first ones are
acknowledged, and once a write fails every later change is answered 503 TASKORCH.0507 (English
and Chinese), while batch-status still answers 200 (the refused pauses were rolled back) and
/metrics shows taskorch_storage_journal_failed 1. SIGTERM still exits 0, saying on stderr that
the last checkpoint could not be written (the journal holds every acknowledged change). A
restart without the limit shows every acknowledged pause and none of the refused ones.
"""

from __future__ import annotations

import os
import re
import shutil
import unittest

from durability_support import PROJECT_A, TOKEN_A, E2ECase, Fleet, Server, run_check

TASKS = 400
PAUSES_THAT_FIT = 100
HEADER = 32


class LimitedServer(Server):
    """A Server started as `prlimit --fsize=LIMIT -- taskorch-server ...` (exec: same pid)."""

    def __init__(self, limit: int, **kw) -> None:
        super().__init__(**kw)
        self.limit = limit

    def command(self) -> list[str]:
        return ["prlimit", f"--fsize={self.limit}", "--"] + super().command()


@unittest.skipUnless(shutil.which("prlimit"), "prlimit (util-linux) is missing")
class DiskFullTests(E2ECase):

    def test_a_full_disk_refuses_changes_and_loses_nothing_acknowledged(self):
        fleet = Fleet("dfu0")
        ids = [fleet.task("INCRE_TRANSFER_STARTED") for _ in range(TASKS)]
        data_dir = self.data_dir()

        # 1. Initialise; measure a pause record (the same size for every one of these ids).
        srv = self.start_server(tokens=[(TOKEN_A, PROJECT_A)], fleet=fleet, data_dir=data_dir)
        before = srv.metric_values()
        for i in ids[:2]:
            self.assertBatch(srv.pause([(i, "all")]), [(i, None)])
        after = srv.metric_values()
        records = after["taskorch_storage_journal_records_total"] - before["taskorch_storage_journal_records_total"]
        self.assertEqual(records, 2)
        record = int(after["taskorch_storage_journal_bytes_total"] - before["taskorch_storage_journal_bytes_total"]) // 2
        self.stop_ok(srv)
        acknowledged = set(ids[:2])

        # 2. Under the limit: the new segment has room for PAUSES_THAT_FIT records and a half.
        limit = HEADER + PAUSES_THAT_FIT * record + record // 2
        srv = LimitedServer(limit, tokens=[(TOKEN_A, PROJECT_A)], data_dir=data_dir)
        self.addCleanup(srv.close)
        srv.start()
        refused: list[str] = []
        for i in ids[2:]:
            r = srv.pause([(i, "all")])
            if r.status == 200:
                self.assertEqual(refused, [], f"a pause was acknowledged after a refused one: {r}")
                self.assertBatch(r, [(i, None)])
                acknowledged.add(i)
            else:
                body = self.assertError(r, 503, "TASKORCH.0507")
                self.assertIn("cannot store changes", body["error_msg"])
                refused.append(i)
                if len(refused) >= 20:
                    break
        fitted = len(acknowledged) - 2
        print(f"\ntest_disk_full: record {record} bytes, --fsize={limit}: {fitted} pauses stored, then 503",
              flush=True)
        self.assertGreaterEqual(len(refused), 20, "the limit was never reached")
        self.assertTrue(PAUSES_THAT_FIT - 5 <= fitted <= PAUSES_THAT_FIT + 1, fitted)

        # Every change is refused now, in both languages; queries and /metrics still work.
        zh = self.assertError(srv.pause([(refused[0], "all")], lang="zh-cn"), 503, "TASKORCH.0507")
        self.assertRegex(zh["error_msg"], r"[\u4e00-\u9fff]")
        self.assertIn("磁盘", zh["error_msg"])
        paused = sorted(acknowledged)[0]
        self.assertError(srv.retry([paused]), 503, "TASKORCH.0507")
        self.assertError(srv.retry([paused], lang="zh-cn"), 503, "TASKORCH.0507")
        view = srv.statuses(ids)
        self.assertEqual({i for i, s in view.items() if s == "PAUSING"}, acknowledged,
                         "a refused pause shows, or an acknowledged one does not")
        metrics = srv.metric_values()
        self.assertEqual(metrics["taskorch_storage_journal_failed"], 1)
        self.assertEqual(metrics["taskorch_storage_enabled"], 1)

        # SIGTERM: exit 0; the last checkpoint cannot be taken and stderr says so.
        self.stop_ok(srv)
        message = "\n".join(srv.stderr_lines)
        self.assertRegex(message, rf"taskorch-server: the last checkpoint of {re.escape(data_dir)} could not be "
                                  r"written: .*every acknowledged change is in the journal")

        # 3. Without the limit: every acknowledged pause, none of the refused ones.
        p = run_check(data_dir)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        srv = self.start_server(tokens=[(TOKEN_A, PROJECT_A)], data_dir=data_dir)
        view = srv.statuses(ids)
        expected = {i: "PAUSING" if i in acknowledged else "INCRE_TRANSFER_STARTED" for i in ids}
        self.assertEqual(view, expected)
        self.assertEqual(srv.metric_values()["taskorch_storage_journal_failed"], 0)
        # And it takes changes again.
        self.assertBatch(srv.pause([(refused[0], "all")]), [(refused[0], None)])
        self.stop_ok(srv)


if __name__ == "__main__":
    unittest.main()
