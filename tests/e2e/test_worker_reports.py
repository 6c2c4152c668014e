"""End-to-end tests of the workers' endpoints of taskorch-server (docs/behaviour.md "Worker
reports and progress" and the batch-report bullet of "HTTP request bodies"):

- `POST /v3/{project_id}/jobs/batch-report` (200; role worker only): per item a worker event,
  the transfer's figures (`progress`, `incre_trans_delay`), or both;
- `POST /v3/{project_id}/jobs/batch-progress` (200; every role): per task its DRS status as
  `transfer_status`, and what its worker last reported.

Covered: a task moved through its whole life by an operator and a worker over HTTP (start,
the worker's events with figures, figures alone, pause, a refused event, terminate, stopped),
with the versions batch-detail shows; every worker event in every state against a table
written here by hand from docs/state-machine.md; every whole-request refusal of batch-report
(nothing applied, figures included); per-item refusals in request order (another project's
task, a dual-active parent, a deleted task, a wrong state), a child reporting for itself, and
a Chinese message; batch-progress paging, `count`, unknown ids and its own refusals; the
figures, which are not journaled, gone after a SIGTERM restart on a data directory while the
state is kept; roles.
"""

from __future__ import annotations

import math
import time
import unittest

from e2e_support import (stop_shared_server, CJK, PROGRESS, PROJECT_A, PROJECT_B, REPORT, TOKEN_A, TOKEN_B, WORKER_EVENTS, E2ECase,
                         Fleet, Server, aggregate_status, api_path)

WORKER = "e2e-report-worker-4e7a1c90"
WORKER_B = "e2e-report-worker-b-7730d1e5"  # a worker of the neighbour project
READER = "e2e-report-reader-b2d8f305"
OPERATOR = TOKEN_A  # no role given: operator
TOKENS = [
    (TOKEN_A, PROJECT_A),
    (TOKEN_B, PROJECT_B),
    (WORKER, f"{PROJECT_A}:worker"),  # e2e_support writes TOKEN:PROJECT; the role rides on it
    (WORKER_B, f"{PROJECT_B}:worker"),
    (READER, f"{PROJECT_A}:reader"),
]

UNKNOWN_ID = "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"
BAD_ID = "8D0E8E36-A618-490D-8A46-8C61AC9JB502"  # uppercase: not the DRS shape

# The item messages, written from docs/errors.md (not read from the server's table).
MESSAGES = {
    "DRS.M05003": ("Task information not found.", "任务信息未找到。"),
    "DRS.M05004": ("The task has been deleted or the resource has been released.", "任务已删除或资源已释放。"),
    "DRS.M00304": ("This API cannot be called in the current task status.", "当前任务状态不允许调用该接口。"),
    "DRS.M00307": ("Only subtasks can invoke this interface.", "只有子任务可以调用该接口。"),
}

# What each worker event does to a standalone task, by hand from the transition table of
# docs/state-machine.md: (state, event) -> the new state; every pair not listed is refused
# with DRS.M00304, except in DELETED (DRS.M05004, the `not_deleted` guard).
WORKER_ROWS = {
    ("STARTJOBING", "start_succeeded"): "FULL_TRANSFER_STARTED",
    ("STARTJOBING", "start_failed"): "START_JOB_FAILED",
    ("FULL_TRANSFER_STARTED", "full_transfer_done"): "FULL_TRANSFER_COMPLETE",
    ("FULL_TRANSFER_STARTED", "transfer_failed"): "FULL_TRANSFER_FAILED",
    ("FULL_TRANSFER_COMPLETE", "incremental_started"): "INCRE_TRANSFER_STARTED",
    ("INCRE_TRANSFER_STARTED", "transfer_failed"): "INCRE_TRANSFER_FAILED",
    ("RELEASE_RESOURCE_STARTED", "stopped"): "RELEASE_RESOURCE_COMPLETE",
}
STANDALONE_STATES = [
    "CONFIGURATION", "WAITING_FOR_START", "STARTJOBING", "START_JOB_FAILED", "FULL_TRANSFER_STARTED",
    "FULL_TRANSFER_COMPLETE", "INCRE_TRANSFER_STARTED", "FULL_TRANSFER_FAILED", "INCRE_TRANSFER_FAILED",
    "PAUSING", "RELEASE_RESOURCE_STARTED", "RELEASE_RESOURCE_COMPLETE", "DELETED",
]
FIGURE_KEYS = {"progress", "incre_trans_delay", "incre_trans_delay_millis"}


def now_ms() -> int:
    return math.floor(time.time() * 1000)


def figures(progress: int, delay_s: int) -> dict:
    """The figures batch-progress shows for a report of `progress` % and `delay_s` seconds."""
    return {"progress": str(progress), "incre_trans_delay": str(delay_s),
            "incre_trans_delay_millis": delay_s * 1000}


class ReportCase(E2ECase):

    def server(self, fleet: Fleet, **kw) -> Server:
        return self.start_server(fleet=fleet, tokens=TOKENS, **kw)

    def report_ok(self, srv: Server, items: list, **kw) -> tuple[int, int]:
        """Reports `items` as the worker, every item expected to succeed; returns the window
        (ms since the epoch) the report was made in."""
        before = now_ms()
        r = srv.report(items, WORKER, **kw)
        after = math.ceil(time.time() * 1000)
        jobs = [i["job_id"] if isinstance(i, dict) else i[0] for i in items]
        self.assertBatch(r, [(j, None) for j in jobs])
        return before, after

    def assertProgress(self, srv: Server, jid: str, status: str, shown: dict | None = None,
                       window: tuple[int, int] | None = None, token: str = TOKEN_A,
                       project: str = PROJECT_A) -> int | None:
        """batch-progress of `jid` shows `status`, exactly the figures `shown` (None: none), and
        a process_time inside `window` (None: no process_time); returns the process_time."""
        item = srv.progress_of([jid], token=token, project=project)[jid]
        got = dict(item)
        process_time = got.pop("process_time", None)
        got.pop("awaiting_confirmation", None)  # the commands' waits: test_command_confirmation.py
        want = {"transfer_status": status}
        want.update(shown or {})
        self.assertEqual(got, want, f"{jid}: {item}")
        if window is None:
            self.assertIsNone(process_time, f"{jid}: {item}")
            return None
        self.assertIsInstance(process_time, str, str(item))
        self.assertRegex(process_time, r"^[1-9][0-9]*$", str(item))
        self.assertGreaterEqual(int(process_time), window[0], f"{jid}: reported before the request: {item}")
        self.assertLessEqual(int(process_time), window[1], f"{jid}: reported after the answer: {item}")
        return int(process_time)

    def assertItemMessage(self, item: dict, code: str, zh: bool = False) -> None:
        en, cn = MESSAGES[code]
        self.assertEqual(item["error_code"], code, str(item))
        self.assertEqual(item["error_msg"], cn if zh else en, str(item))
        self.assertEqual(bool(CJK.search(item["error_msg"])), zh, str(item))


class WorkerLifecycleTests(ReportCase):

    def test_a_worker_moves_a_task_through_its_life(self):
        fleet = Fleet("wlif")
        task = fleet.task("CONFIGURATION", name="orders")
        srv = self.server(fleet)

        # Nothing reported yet: the status only.
        self.assertProgress(srv, task, "CONFIGURATION")
        version = srv.versions([task])[task]

        # The operator starts it; the worker has not reported.
        self.assertBatch(srv.start_jobs([task]), [(task, None)], status=202)
        self.assertProgress(srv, task, "STARTJOBING")
        self.assertEqual(srv.versions([task])[task], version + 1)
        version += 1

        # start_succeeded with a progress (a string of digits): the delay not sent is 0.
        window = self.report_ok(srv, [(task, "start_succeeded", "7")])
        t = self.assertProgress(srv, task, "FULL_TRANSFER_STARTED", figures(7, 0), window)
        self.assertEqual(srv.versions([task])[task], version + 1)
        version += 1

        # full_transfer_done without figures: the figures stay, the time is the new report's.
        time.sleep(0.02)
        window = self.report_ok(srv, [{"job_id": task, "event": "full_transfer_done", "progress": None}])
        self.assertGreater(window[0], t)
        t = self.assertProgress(srv, task, "FULL_TRANSFER_COMPLETE", figures(7, 0), window)
        self.assertEqual(srv.versions([task])[task], version + 1)
        version += 1

        # incremental_started with both figures, as JSON integers.
        window = self.report_ok(srv, [(task, "incremental_started", 100, 12)])
        t = self.assertProgress(srv, task, "INCRE_TRANSFER_STARTED", figures(100, 12), window)
        self.assertEqual(srv.versions([task])[task], version + 1)
        version += 1

        # Figures alone: the latest replaces the previous ones; no state change, no version.
        for sent, shown in (((100, 3), figures(100, 3)), (("99", "0"), figures(99, 0)),
                            ((100, "2147483647"), figures(100, 2147483647)),
                            ((None, "1"), figures(0, 1)),  # one figure sent: the other is 0
                            (("0", None), figures(0, 0)), ((64, 45), figures(64, 45))):
            with self.subTest(sent=sent):
                time.sleep(0.005)
                window = self.report_ok(srv, [(task, "progress", *sent)])
                previous, t = t, self.assertProgress(srv, task, "INCRE_TRANSFER_STARTED", shown, window)
                self.assertGreaterEqual(t, previous)
                self.assertEqual(srv.versions([task])[task], version, "figures changed the version")
        self.assertEqual(srv.statuses([task]), {task: "INCRE_TRANSFER_STARTED"})
        reported = srv.progress_of([task])[task]

        def paused_progress() -> dict:
            item = srv.progress_of([task])[task]
            wait = item.pop("awaiting_confirmation", None)
            self.assertEqual((wait or {}).get("command"), "pause", "the pause awaits its worker")
            return item

        # The operator pauses it.
        self.assertBatch(srv.pause([(task, "target")]), [(task, None)])
        self.assertEqual(srv.versions([task])[task], version + 1)
        version += 1
        self.assertEqual(paused_progress(), dict(reported, transfer_status="PAUSING"))

        # Every worker event on the paused task is refused, with its figures: nothing changes.
        for event in WORKER_EVENTS:
            with self.subTest(event=event):
                r = srv.report([(task, event, 12, 300)], WORKER)
                self.assertItemMessage(self.assertBatch(r, [(task, "DRS.M00304")])[0], "DRS.M00304")
                self.assertEqual(paused_progress(), dict(reported, transfer_status="PAUSING"))
                self.assertEqual(srv.versions([task])[task], version)

        # The operator terminates it; the worker reports it stopped.
        self.assertBatch(srv.delete_jobs([(task, "terminate")]), [(task, None)], status=202)
        self.assertEqual(srv.statuses([task]), {task: "RELEASE_RESOURCE_STARTED"})
        self.assertEqual(srv.versions([task])[task], version + 1)
        version += 1
        window = self.report_ok(srv, [(task, "stopped", 100, 0)])
        self.assertProgress(srv, task, "RELEASE_RESOURCE_COMPLETE", figures(100, 0), window)
        self.assertEqual(srv.statuses([task]), {task: "RELEASE_RESOURCE_COMPLETE"})
        self.assertEqual(srv.versions([task])[task], version + 1)

        # Released: no worker event is taken any more.
        r = srv.report([(task, "stopped")], WORKER)
        self.assertBatch(r, [(task, "DRS.M00304")])
        self.stop_ok(srv)

    def test_every_worker_event_in_every_state(self):
        fleet = Fleet("wtab")
        cases = []  # (id, state, event, expected code or None)
        for state in STANDALONE_STATES:
            for event in WORKER_EVENTS + ["progress"]:
                jid = fleet.task(state)
                if state == "DELETED":
                    code = "DRS.M05004"
                elif event == "progress":
                    code = None  # figures alone: only the guards apply
                else:
                    code = None if (state, event) in WORKER_ROWS else "DRS.M00304"
                cases.append((jid, state, event, code))
        srv = self.server(fleet)
        ids = [c[0] for c in cases]
        versions = srv.versions(ids)

        items = [(jid, event, n % 101, n) for n, (jid, _, event, _) in enumerate(cases)]
        r = srv.report(items, WORKER)
        results = self.assertBatch(r, [(jid, code) for jid, _, _, code in cases])
        for item, (_, _, _, code) in zip(results, cases):
            if code is not None:
                self.assertItemMessage(item, code)

        shown = srv.progress_of(ids)
        after = srv.versions(ids)
        for n, (jid, state, event, code) in enumerate(cases):
            with self.subTest(state=state, event=event):
                if code is not None:
                    self.assertEqual(shown[jid], {"transfer_status": state})
                    self.assertEqual(after[jid], versions[jid])
                    continue
                new_state = WORKER_ROWS.get((state, event), state)
                got = dict(shown[jid])
                self.assertIsNotNone(got.pop("process_time", None), str(shown[jid]))
                self.assertEqual(got, dict(figures(n % 101, n), transfer_status=new_state))
                self.assertEqual(after[jid], versions[jid] + (0 if event == "progress" else 1))
        self.stop_ok(srv)


class ReportRefusalTests(ReportCase):
    """Whole-request refusals of batch-report: 400, nothing applied (figures included)."""

    @classmethod
    def setUpClass(cls):
        fleet = Fleet("wbad")
        cls.starting = fleet.task("STARTJOBING")
        cls.running = fleet.task("INCRE_TRANSFER_STARTED")
        cls.srv = Server(fleet=fleet, tokens=TOKENS)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        stop_shared_server(cls.srv)

    def valid(self) -> list[dict]:
        """Two items that would change the registry if applied."""
        return [{"job_id": self.starting, "event": "start_succeeded", "progress": 9},
                {"job_id": self.running, "event": "progress", "progress": "50", "incre_trans_delay": "4"}]

    def assertNothingChanged(self):
        ids = [self.starting, self.running]
        self.assertEqual(self.srv.progress_of(ids), {self.starting: {"transfer_status": "STARTJOBING"},
                                                     self.running: {"transfer_status": "INCRE_TRANSFER_STARTED"}})
        self.assertEqual(self.srv.versions(ids), {self.starting: 0, self.running: 0})

    def test_a_body_that_is_not_a_json_object_is_m00200(self):
        s = self.starting
        for body in (b"not json", b"[]", b'"jobs"', b"", b"{",
                     ('{"jobs":[{"job_id":"%s","event":"start_succeeded"}],"jobs":[]}' % s).encode(),
                     ('{"jobs":[{"job_id":"%s","event":"start_succeeded","event":"stopped"}]}' % s).encode()):
            with self.subTest(body=body):
                self.assertError(self.srv.post(REPORT, body, token=WORKER), 400, "DRS.M00200")
        self.assertNothingChanged()

    def test_missing_or_empty_parameters_are_m00201(self):
        s = self.starting
        for name, body, field in (
                ("jobs missing", {}, "jobs"),
                ("jobs empty", {"jobs": []}, "jobs"),
                ("jobs null", {"jobs": None}, "jobs"),
                ("jobs not an array", {"jobs": {"job_id": s}}, "jobs"),
                ("an empty object", {"jobs": self.valid() + [{}]}, None),
                ("an item not an object", {"jobs": self.valid() + [7]}, None),
                ("job_id missing", {"jobs": self.valid() + [{"event": "stopped"}]}, "job_id"),
                ("job_id null", {"jobs": self.valid() + [{"job_id": None, "event": "stopped"}]}, "job_id"),
                ("job_id empty", {"jobs": self.valid() + [{"job_id": "", "event": "stopped"}]}, "job_id"),
                ("event missing", {"jobs": self.valid() + [{"job_id": UNKNOWN_ID}]}, "event"),
                ("event null", {"jobs": self.valid() + [{"job_id": UNKNOWN_ID, "event": None}]}, "event"),
                ("event empty", {"jobs": self.valid() + [{"job_id": UNKNOWN_ID, "event": ""}]}, "event"),
                ("progress without figures", {"jobs": self.valid() + [{"job_id": UNKNOWN_ID, "event": "progress"}]}, "progress"),
                ("progress with figures null", {"jobs": self.valid() + [
                    {"job_id": UNKNOWN_ID, "event": "progress", "progress": None, "incre_trans_delay": None}]}, "progress"),
                ("emptiness before the shape of job_id", {"jobs": self.valid() + [{"job_id": BAD_ID, "event": None}]}, "event"),
                ("emptiness before the event's value", {"jobs": self.valid() + [{"job_id": "", "event": "pause"}]}, "job_id")):
            with self.subTest(name):
                e = self.assertError(self.srv.post(REPORT, body, token=WORKER), 400, "DRS.M00201")
                if field is not None:
                    self.assertEqual(e["error_msg"], f"The parameter {field} is empty.")
        self.assertNothingChanged()

    def test_values_of_the_wrong_shape_are_m00202(self):
        u = UNKNOWN_ID
        cases = [("job_id", {"job_id": BAD_ID, "event": "stopped"}),
                 ("job_id", {"job_id": 123, "event": "stopped"})]
        # Not a worker event: commands, the schedule's event, other spellings, unknown words.
        for event in ("pause", "confirm", "Confirmed", "PAUSE", "start", "resume", "stop", "force_stop", "remove",
                      "start_due", "schedule_start", "Start_Succeeded", "STOPPED", " stopped", "progress ",
                      "full_transfer_failed", "nonsense", 5, True, ["stopped"], {"name": "stopped"}):
            cases.append(("event", {"job_id": u, "event": event}))
        for value in (101, -1, 1.5, 1e2, "5%", "", " 5", "+5", "-1", "101", "1.0", True, [5], {"p": 5}):
            cases.append(("progress", {"job_id": u, "event": "progress", "progress": value}))
            cases.append(("progress", {"job_id": u, "event": "stopped", "progress": value, "incre_trans_delay": 1}))
        for value in (2 ** 31, "2147483648", -1, "3s", "", 1.5, False, 2 ** 70):
            cases.append(("incre_trans_delay", {"job_id": u, "event": "progress", "incre_trans_delay": value}))
        for field, item in cases:
            with self.subTest(item=item):
                r = self.srv.post(REPORT, {"jobs": self.valid() + [item]}, token=WORKER)
                e = self.assertError(r, 400, "DRS.M00202")
                self.assertEqual(e["error_msg"], f"The value of parameter {field} is invalid.")
        # The same in Chinese.
        r = self.srv.post(REPORT, {"jobs": [{"job_id": u, "event": "pause"}]}, token=WORKER, lang="zh-cn")
        self.assertEqual(self.assertError(r, 400, "DRS.M00202")["error_msg"], "参数event的值无效。")
        # Items are checked in order: the first bad one decides.
        r = self.srv.post(REPORT, {"jobs": [{"job_id": u, "event": "pause"}, {}]}, token=WORKER)
        self.assertError(r, 400, "DRS.M00202", "event")
        # A Content-Type other than application/json, before the body.
        r = self.srv.post(REPORT, {"jobs": self.valid()}, token=WORKER, content_type="text/plain")
        self.assertError(r, 400, "DRS.M00202", "Content-Type")
        self.assertNothingChanged()

    def test_the_same_job_twice_is_m00301(self):
        s = self.starting
        for second in ({"job_id": s, "event": "start_succeeded", "progress": 9},  # the same item again
                       {"job_id": s, "event": "progress", "progress": 10}):   # the event and its figures apart
            with self.subTest(second=second):
                r = self.srv.post(REPORT, {"jobs": self.valid() + [second]}, token=WORKER)
                self.assertError(r, 400, "DRS.M00301")
        self.assertNothingChanged()

    def test_zz_the_valid_items_alone_are_applied(self):
        # The control of the tests above: without the bad item the same items change the
        # registry. unittest runs a class's tests in name order: this one last, since it
        # leaves the class's tasks changed.
        self.assertNothingChanged()
        r = self.srv.post(REPORT, {"jobs": self.valid()}, token=WORKER)
        self.assertBatch(r, [(self.starting, None), (self.running, None)])
        shown = self.srv.progress_of([self.starting, self.running])
        for jid in shown:
            shown[jid].pop("process_time")
        self.assertEqual(shown, {self.starting: dict(figures(9, 0), transfer_status="FULL_TRANSFER_STARTED"),
                                 self.running: dict(figures(50, 4), transfer_status="INCRE_TRANSFER_STARTED")})


class ReportItemTests(ReportCase):

    def test_per_item_refusals_in_request_order_change_nothing(self):
        fleet = Fleet("witm")
        starting = fleet.task("STARTJOBING")
        neighbour = fleet.task("FULL_TRANSFER_STARTED", project=PROJECT_B)
        parent, forward, backward = fleet.family("INCRE_TRANSFER_STARTED", "FULL_TRANSFER_STARTED")
        deleted = fleet.task("DELETED")
        config = fleet.task("CONFIGURATION")
        running = fleet.task("FULL_TRANSFER_STARTED")
        srv = self.server(fleet)
        mine = [starting, parent, forward, backward, deleted, config, running]
        versions = srv.versions(mine)

        items = [(starting, "start_succeeded", 1, 1),
                 (neighbour, "full_transfer_done", 2, 2),    # another project's task
                 (parent, "transfer_failed", 3, 3),          # a dual-active parent
                 (forward, "transfer_failed", 4, 4),         # a child reports for itself
                 (deleted, "stopped", 5, 5),
                 (config, "start_succeeded", 6, 6),          # the wrong state
                 (UNKNOWN_ID, "stopped", 7, 7),
                 (backward, "progress", 8, 8),               # a child's figures alone
                 (running, "full_transfer_done", None, None)]
        expected = [(starting, None), (neighbour, "DRS.M05003"), (parent, "DRS.M00307"), (forward, None),
                    (deleted, "DRS.M05004"), (config, "DRS.M00304"), (UNKNOWN_ID, "DRS.M05003"),
                    (backward, None), (running, None)]
        results = self.assertBatch(srv.report(items, WORKER), expected)
        for item, (_, code) in zip(results, expected):
            if code is not None:
                self.assertItemMessage(item, code)

        # Figures alone are refused by the same guards.
        r = srv.report([(parent, "progress", 9), (deleted, "progress", 9), (neighbour, "progress", 9),
                        (UNKNOWN_ID, "progress", 9)], WORKER)
        self.assertBatch(r, [(parent, "DRS.M00307"), (deleted, "DRS.M05004"), (neighbour, "DRS.M05003"),
                             (UNKNOWN_ID, "DRS.M05003")])

        # In Chinese: one refusal per code.
        r = srv.report([(config, "stopped"), (parent, "stopped"), (deleted, "progress", 1), (neighbour, "stopped")],
                       WORKER, lang="zh-cn")
        results = self.assertBatch(r, [(config, "DRS.M00304"), (parent, "DRS.M00307"), (deleted, "DRS.M05004"),
                                       (neighbour, "DRS.M05003")])
        for item in results:
            self.assertItemMessage(item, item["error_code"], zh=True)

        self.assertStatuses(srv, {starting: "FULL_TRANSFER_STARTED", forward: "INCRE_TRANSFER_FAILED",
                                  backward: "FULL_TRANSFER_STARTED",
                                  parent: aggregate_status("INCRE_TRANSFER_FAILED", "FULL_TRANSFER_STARTED"),
                                  deleted: "DELETED", config: "CONFIGURATION", running: "FULL_TRANSFER_COMPLETE"})
        self.assertStatuses(srv, {neighbour: "FULL_TRANSFER_STARTED"}, token=TOKEN_B, project=PROJECT_B)
        shown = srv.progress_of(mine + [UNKNOWN_ID])
        for jid in (starting, forward, backward, running):
            self.assertIn("process_time", shown[jid])
            del shown[jid]["process_time"]
        self.assertEqual(shown, {
            starting: dict(figures(1, 1), transfer_status="FULL_TRANSFER_STARTED"),
            # a dual-active parent: its aggregate status only, whatever its children reported
            parent: {"transfer_status": "INCRE_TRANSFER_FAILED"},
            forward: dict(figures(4, 4), transfer_status="INCRE_TRANSFER_FAILED"),
            backward: dict(figures(8, 8), transfer_status="FULL_TRANSFER_STARTED"),
            deleted: {"transfer_status": "DELETED"},
            config: {"transfer_status": "CONFIGURATION"},
            running: {"transfer_status": "FULL_TRANSFER_COMPLETE"},  # an event without figures: none shown
            UNKNOWN_ID: {"error_code": "DRS.M05003", "error_msg": "Task information not found."},
        })
        self.assertEqual(srv.progress_of([neighbour], token=TOKEN_B, project=PROJECT_B),
                         {neighbour: {"transfer_status": "FULL_TRANSFER_STARTED"}})
        changed = {starting: 1, forward: 1, running: 1}
        self.assertEqual(srv.versions(mine), {j: v + changed.get(j, 0) for j, v in versions.items()})

        # The neighbour's own worker reports on it through its own project; project A's worker
        # cannot use project B's path.
        self.assertError(srv.report([(neighbour, "progress", 20)], WORKER, project=PROJECT_B), 403, "DRS.M00261")
        r = srv.report([(neighbour, "progress", 20), (starting, "full_transfer_done")], WORKER_B, project=PROJECT_B)
        self.assertBatch(r, [(neighbour, None), (starting, "DRS.M05003")])
        shown = srv.progress_of([neighbour], token=TOKEN_B, project=PROJECT_B)[neighbour]
        shown.pop("process_time")
        self.assertEqual(shown, dict(figures(20, 0), transfer_status="FULL_TRANSFER_STARTED"))
        self.assertStatuses(srv, {starting: "FULL_TRANSFER_STARTED"})
        self.stop_ok(srv)


class ProgressTests(ReportCase):

    def test_paging_count_and_unknown_ids(self):
        fleet = Fleet("wpag")
        ids = [fleet.task("INCRE_TRANSFER_STARTED") for _ in range(4)]
        neighbour = fleet.task("INCRE_TRANSFER_STARTED", project=PROJECT_B)
        srv = self.server(fleet)
        self.report_ok(srv, [(jid, "progress", 10 * n, n) for n, jid in enumerate(ids)])
        asked = [ids[0], UNKNOWN_ID, ids[1], neighbour, ids[2], ids[3]]

        def page(page_req, **kw):
            r = srv.progress(asked, page_req, token=READER, **kw)
            self.assertEqual(r.status, 200, str(r))
            self.assertEqual(set(r.json), {"results", "count"}, str(r))
            self.assertEqual(r.json["count"], len(asked), str(r))  # every requested id, all pages
            return r.json["results"]

        def expected(jid, lang=False):
            if jid == UNKNOWN_ID or jid == neighbour:
                return {"job_id": jid, "error_code": "DRS.M05003", "error_msg": MESSAGES["DRS.M05003"][lang]}
            n = ids.index(jid)
            return dict(figures(10 * n, n), job_id=jid, transfer_status="INCRE_TRANSFER_STARTED")

        def strip(results):
            for item in results:
                item.pop("process_time", None)
            return results

        everything = page(None)
        self.assertTrue(all("process_time" in item for item in everything if "transfer_status" in item))
        self.assertEqual(strip(everything), [expected(j) for j in asked])
        self.assertEqual(strip(page({"cur_page": 2, "per_page": 2})), [expected(j) for j in asked[2:4]])
        self.assertEqual(strip(page({"cur_page": 3, "per_page": 2})), [expected(j) for j in asked[4:6]])
        self.assertEqual(strip(page({"cur_page": 2, "per_page": 4})), [expected(j) for j in asked[4:6]])
        self.assertEqual(page({"cur_page": 4, "per_page": 2}), [])
        self.assertEqual(strip(page({"per_page": 3})), [expected(j) for j in asked[:3]])
        self.assertEqual(strip(page({"cur_page": 9, "per_page": 0})), [expected(j) for j in asked])
        self.assertEqual(strip(page({"cur_page": None, "per_page": None})), [expected(j) for j in asked])
        self.assertEqual(strip(page({"cur_page": 1, "per_page": 2}, lang="zh-cn")), [expected(j, True) for j in asked[:2]])

    def test_whole_request_refusals(self):
        fleet = Fleet("wprf")
        jid = fleet.task("INCRE_TRANSFER_STARTED")
        srv = self.server(fleet)
        for body, code, field in ((b"not json", "DRS.M00200", None), (b"[]", "DRS.M00200", None),
                                  ({}, "DRS.M00201", "jobs"), ({"jobs": []}, "DRS.M00201", "jobs"),
                                  ({"jobs": [jid, None]}, "DRS.M00201", "jobs"), ({"jobs": [""]}, "DRS.M00201", "jobs"),
                                  ({"jobs": [BAD_ID]}, "DRS.M00202", "jobs"), ({"jobs": [{"job_id": jid}]}, "DRS.M00202", "jobs"),
                                  ({"jobs": [jid, jid]}, "DRS.M00301", None),
                                  ({"jobs": [jid], "page_req": {"per_page": 101}}, "DRS.M00202", "per_page"),
                                  ({"jobs": [jid], "page_req": {"cur_page": 0}}, "DRS.M00202", "cur_page"),
                                  ({"jobs": [jid], "page_req": "x"}, "DRS.M00202", "page_req")):
            with self.subTest(body=body):
                self.assertError(srv.post(PROGRESS, body, token=READER), 400, code, field)


class RestartTests(ReportCase):

    def test_figures_are_gone_after_a_restart_the_state_is_kept(self):
        fleet = Fleet("wrst")
        starting = fleet.task("STARTJOBING")
        running = fleet.task("INCRE_TRANSFER_STARTED")
        srv = self.server(fleet, data_dir=self.data_dir())
        window = self.report_ok(srv, [(starting, "start_succeeded", 40, 2), (running, "progress", 80, 6)])
        self.assertProgress(srv, starting, "FULL_TRANSFER_STARTED", figures(40, 2), window)
        self.assertProgress(srv, running, "INCRE_TRANSFER_STARTED", figures(80, 6), window)
        versions = srv.versions([starting, running])
        self.assertEqual(versions, {starting: 1, running: 0})

        self.stop_ok(srv)
        srv.restart()
        self.assertIn("recovered", srv.registry_line())
        self.assertStatuses(srv, {starting: "FULL_TRANSFER_STARTED", running: "INCRE_TRANSFER_STARTED"})
        self.assertEqual(srv.versions([starting, running]), versions)
        # Not journaled: no figures and no process_time until the next report.
        self.assertProgress(srv, starting, "FULL_TRANSFER_STARTED")
        self.assertProgress(srv, running, "INCRE_TRANSFER_STARTED")

        window = self.report_ok(srv, [(starting, "full_transfer_done"), (running, "progress", 81, 5)])
        item = srv.progress_of([starting])[starting]
        # An event without figures after the restart: a report time, still no figures.
        self.assertEqual(set(item), {"transfer_status", "process_time"}, str(item))
        self.assertEqual(item["transfer_status"], "FULL_TRANSFER_COMPLETE")
        self.assertTrue(window[0] <= int(item["process_time"]) <= window[1], str(item))
        self.assertProgress(srv, running, "INCRE_TRANSFER_STARTED", figures(81, 5), window)
        self.stop_ok(srv)


class ReportRoleTests(ReportCase):

    def test_only_a_worker_may_report_every_role_may_read_progress(self):
        fleet = Fleet("wrol")
        starting = fleet.task("STARTJOBING")
        srv = self.server(fleet)
        item = [(starting, "start_succeeded", 30, 1)]
        for token, role in ((OPERATOR, "operator"), (READER, "reader")):
            for lang, message in ((None, f"The caller's role ({role}) may not call this API."),
                                  ("zh-cn", f"调用者的角色（{role}）无权调用该接口。")):
                with self.subTest(role=role, lang=lang):
                    r = srv.report(item, token, lang=lang)
                    self.assertEqual(self.assertError(r, 403, "TASKORCH.0403")["error_msg"], message)
                    # before the body: a body that is not JSON gets the same answer
                    r = srv.post(REPORT, b"not json", token=token, lang=lang)
                    self.assertEqual(self.assertError(r, 403, "TASKORCH.0403")["error_msg"], message)
        self.assertError(srv.report(item, None), 401, "APIGW.0301")
        self.assertError(srv.report(item, "e2e-nobody"), 401, "APIGW.0301")
        self.assertError(srv.report(item, TOKEN_B), 403, "DRS.M00261")
        self.assertError(srv.report(item, WORKER_B), 403, "DRS.M00261")
        r = srv.call("GET", api_path(PROJECT_A, REPORT), None, token=WORKER)
        self.assertError(r, 405, "TASKORCH.0405")
        self.assertEqual(r.header("allow"), "POST")
        r = srv.call("PUT", api_path(PROJECT_A, PROGRESS), {"jobs": [starting]}, token=READER)
        self.assertError(r, 405, "TASKORCH.0405")
        self.assertEqual(r.header("allow"), "POST")

        # Nothing was applied.
        for token in (OPERATOR, READER, WORKER):
            with self.subTest(token=token, call="batch-progress before"):
                self.assertProgress(srv, starting, "STARTJOBING", token=token)

        window = self.report_ok(srv, item)
        answers = []
        for token in (OPERATOR, READER, WORKER):
            with self.subTest(token=token, call="batch-progress after"):
                self.assertProgress(srv, starting, "FULL_TRANSFER_STARTED", figures(30, 1), window, token=token)
                answers.append(srv.progress([starting], token=token).json)
        self.assertEqual(answers[0], answers[1])
        self.assertEqual(answers[1], answers[2])
        self.assertError(srv.progress([starting], token=TOKEN_B), 403, "DRS.M00261")
        self.assertError(srv.progress([starting], token=None), 401, "APIGW.0301")

        # /metrics counts the endpoints by name.
        m = srv.metric_values()
        self.assertEqual(m.get('taskorch_http_requests_total{endpoint="batch-report",code="403"}'), 10.0)
        self.assertEqual(m.get('taskorch_http_requests_total{endpoint="batch-report",code="200"}'), 1.0)
        self.stop_ok(srv)


if __name__ == "__main__":
    unittest.main()
