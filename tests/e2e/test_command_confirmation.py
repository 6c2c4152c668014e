"""End-to-end tests of commands awaiting a worker's confirmation (taskorch-server over loopback).

The protocol, as the tests read it (docs/workers.md):

- start, a scheduled start when it fires (`start_due`), pause, resume/retry, terminate (`stop`)
  and force terminate (`force_stop`) change the DRS status at once AND leave the task awaiting
  the worker's confirmation of that command; any later change replaces the wait (a new command
  awaits itself; a worker's state report such as `stopped` or `start_succeeded` ends it);
- a worker confirms with batch-report, item `{"job_id", "event": "confirmed", "command"?}`:
  refused per item with DRS.M00304 when the task awaits nothing or another command than the
  one named; a dual-active parent refuses it (DRS.M00307); a confirmation is a change (the
  version grows by one);
- batch-detail shows `job_action.current_action` (the DRS action awaited, "" when none; a
  parent shows a child's), `awaiting_confirmation: {"command", "since"}` while a task awaits,
  `create_time` and `update_time` (milliseconds since the epoch, as strings);
- batch-progress shows `awaiting_confirmation` too;
- /metrics: `taskorch_commands_awaiting_worker` and
  `taskorch_oldest_awaiting_command_age_seconds`;
- with a data directory the wait and the times survive a kill -9 and a restart.

Every expected value is written here by hand from that description (the test is an oracle
independent of the server's tables).
"""

from __future__ import annotations

import math
import time
import unittest

from e2e_support import PROJECT_A, PROJECT_B, TOKEN_A, TOKEN_B, E2ECase, Fleet, Server

WORKER = "e2e-confirm-worker-5b1e07c2"
READER = "e2e-confirm-reader-93d4a6f1"
OPERATOR = TOKEN_A
TOKENS = [
    (TOKEN_A, PROJECT_A),
    (TOKEN_B, PROJECT_B),
    (WORKER, f"{PROJECT_A}:worker"),
    (READER, f"{PROJECT_A}:reader"),
]

AWAITING = "taskorch_commands_awaiting_worker"
OLDEST = "taskorch_oldest_awaiting_command_age_seconds"


def now_ms() -> int:
    return math.floor(time.time() * 1000)


def after_ms() -> int:
    return math.ceil(time.time() * 1000)


def confirm(jid: str, command: str | None = None, version: int | None = None) -> dict:
    item = {"job_id": jid, "event": "confirmed"}
    if command is not None:
        item["command"] = command
    if version is not None:
        item["version"] = version
    return item


class ConfirmationCase(E2ECase):

    def server(self, fleet: Fleet, **kw) -> Server:
        return self.start_server(fleet=fleet, tokens=TOKENS, **kw)

    def detail_of(self, srv: Server, jid: str, token: str = OPERATOR) -> dict:
        r = srv.detail([jid], token=token)
        self.assertEqual(r.status, 200, str(r))
        (item,) = r.json["results"]
        self.assertEqual(item["id"], jid, str(item))
        return item

    def progress_item(self, srv: Server, jid: str) -> dict:
        return srv.progress_of([jid])[jid]

    def confirm_items(self, srv: Server, items: list[dict], expected: list[str | None]) -> list[dict]:
        """Sends `items` as the worker; `expected`: per item None (success) or its error code."""
        r = srv.report(items, WORKER)
        return self.assertBatch(r, [(i["job_id"], code) for i, code in zip(items, expected)])

    def assertAwaits(self, srv: Server, jid: str, command: str | None, action: str,
                     since_window: tuple[int, int] | None = None, status: str | None = None) -> dict:
        """batch-detail of `jid` shows `current_action` `action` and awaits `command` (None:
        nothing, and no `awaiting_confirmation` key), with a `since` inside `since_window`
        when given; batch-progress agrees. Returns the detail item."""
        item = self.detail_of(srv, jid)
        self.assertEqual(item["job_action"]["current_action"], action, str(item))
        if status is not None:
            self.assertEqual(item["status"], status, str(item))
        progress = self.progress_item(srv, jid)
        if command is None:
            self.assertNotIn("awaiting_confirmation", item, str(item))
            self.assertNotIn("awaiting_confirmation", progress, str(progress))
            return item
        waiting = item.get("awaiting_confirmation")
        self.assertIsInstance(waiting, dict, str(item))
        self.assertEqual(set(waiting), {"command", "since"}, str(item))
        self.assertEqual(waiting["command"], command, str(item))
        self.assertIsInstance(waiting["since"], str, str(item))
        self.assertRegex(waiting["since"], r"^[1-9][0-9]*$", str(item))
        if since_window is not None:
            self.assertGreaterEqual(int(waiting["since"]), since_window[0], f"awaited before the command: {item}")
            self.assertLessEqual(int(waiting["since"]), since_window[1], f"awaited after the answer: {item}")
        self.assertEqual(progress.get("awaiting_confirmation"), waiting, f"progress {progress} vs detail {item}")
        return item

    def awaiting_metrics(self, srv: Server) -> tuple[float, float]:
        m = srv.metric_values()
        self.assertIn(AWAITING, m)
        self.assertIn(OLDEST, m)
        return m[AWAITING], m[OLDEST]


class PauseConfirmationTests(ConfirmationCase):

    def test_a_pause_awaits_its_confirmation_once(self):
        fleet = Fleet("cpau")
        task = fleet.task("INCRE_TRANSFER_STARTED", name="orders")
        other = fleet.task("FULL_TRANSFER_STARTED")
        srv = self.server(fleet)

        # Loaded: nothing awaits.
        self.assertAwaits(srv, task, None, "", status="INCRE_TRANSFER_STARTED")
        self.assertEqual(self.awaiting_metrics(srv), (0.0, 0.0))
        version = srv.versions([task])[task]

        before = now_ms()
        self.assertBatch(srv.pause([(task, "target")]), [(task, None)])
        window = (before, after_ms())
        item = self.assertAwaits(srv, task, "pause", "PAUSE", window, status="PAUSING")
        since = item["awaiting_confirmation"]["since"]
        self.assertEqual(item["version"], version + 1)
        self.assertEqual(item["update_time"], since, "the pause is the task's last change")
        self.assertAwaits(srv, other, None, "")  # the other task awaits nothing

        # One task awaits; after a short wait its age shows.
        time.sleep(0.3)
        count, age = self.awaiting_metrics(srv)
        self.assertEqual(count, 1.0)
        self.assertGreaterEqual(age, 0.25)
        self.assertLess(age, 60.0)

        # A confirmation naming another command: M00304, nothing changes.
        for wrong in ("resume", "stop", "start", "force_stop", "start_due"):
            with self.subTest(wrong=wrong):
                self.confirm_items(srv, [confirm(task, wrong)], ["DRS.M00304"])
                again = self.assertAwaits(srv, task, "pause", "PAUSE", status="PAUSING")
                self.assertEqual(again["awaiting_confirmation"]["since"], since)
                self.assertEqual(again["version"], version + 1)
                self.assertEqual(again["update_time"], since)
        self.assertEqual(self.awaiting_metrics(srv)[0], 1.0)

        # The right one: success, nothing awaits, the version grows by one, the status stays.
        time.sleep(0.01)
        before = now_ms()
        self.confirm_items(srv, [confirm(task, "pause")], [None])
        confirmed_window = (before, after_ms())
        item = self.assertAwaits(srv, task, None, "", status="PAUSING")
        self.assertEqual(item["version"], version + 2)
        self.assertEqual(item["pause_mode"], "target")
        self.assertEqual(item["paused_from"], "INCRE_TRANSFER_STARTED")
        self.assertGreater(int(item["update_time"]), int(since), "a confirmation is a change")
        self.assertTrue(confirmed_window[0] <= int(item["update_time"]) <= confirmed_window[1], str(item))
        self.assertEqual(self.awaiting_metrics(srv), (0.0, 0.0))

        # A second confirmation, with or without the command: M00304, nothing changes.
        self.confirm_items(srv, [confirm(task, "pause")], ["DRS.M00304"])
        self.confirm_items(srv, [confirm(task)], ["DRS.M00304"])
        self.assertEqual(srv.versions([task])[task], version + 2)
        self.stop_ok(srv)

    def test_a_confirmation_without_a_command_ends_whatever_wait(self):
        fleet = Fleet("cany")
        paused = fleet.task("FULL_TRANSFER_COMPLETE")
        failed = fleet.task("FULL_TRANSFER_FAILED")
        srv = self.server(fleet)
        self.assertBatch(srv.pause([(paused, "all")]), [(paused, None)])
        self.assertBatch(srv.retry([failed]), [(failed, None)])
        self.assertAwaits(srv, paused, "pause", "PAUSE", status="PAUSING")
        self.assertAwaits(srv, failed, "resume", "RETRY", status="FULL_TRANSFER_STARTED")
        self.assertEqual(self.awaiting_metrics(srv)[0], 2.0)
        versions = srv.versions([paused, failed])

        # No command, and a command sent as null (absent): each ends its task's wait.
        self.confirm_items(srv, [confirm(paused), {"job_id": failed, "event": "confirmed", "command": None}],
                           [None, None])
        self.assertAwaits(srv, paused, None, "", status="PAUSING")
        self.assertAwaits(srv, failed, None, "", status="FULL_TRANSFER_STARTED")
        self.assertEqual(srv.versions([paused, failed]), {j: v + 1 for j, v in versions.items()})
        self.assertEqual(self.awaiting_metrics(srv), (0.0, 0.0))
        self.confirm_items(srv, [confirm(paused), confirm(failed)], ["DRS.M00304", "DRS.M00304"])
        self.stop_ok(srv)

    def test_a_later_command_replaces_the_wait(self):
        fleet = Fleet("csup")
        task = fleet.task("INCRE_TRANSFER_STARTED")
        srv = self.server(fleet)
        self.assertBatch(srv.pause([(task, "target")]), [(task, None)])
        first = self.assertAwaits(srv, task, "pause", "PAUSE")

        # The same pause again changes nothing: the wait and its time stay.
        time.sleep(0.01)
        self.assertBatch(srv.pause([(task, "target")]), [(task, None)])
        same = self.assertAwaits(srv, task, "pause", "PAUSE")
        self.assertEqual(same["awaiting_confirmation"], first["awaiting_confirmation"])
        self.assertEqual(same["version"], first["version"])

        # Raising the mode is a change: a new pause awaits, from now.
        time.sleep(0.01)
        before = now_ms()
        self.assertBatch(srv.pause([(task, "all")]), [(task, None)])
        raised = self.assertAwaits(srv, task, "pause", "PAUSE", (before, after_ms()))
        self.assertEqual(raised["version"], first["version"] + 1)
        self.assertGreater(int(raised["awaiting_confirmation"]["since"]), int(first["awaiting_confirmation"]["since"]))

        # The operator resumes before the worker confirmed the pause: the resume awaits; the
        # worker's late confirmation of the pause is refused and changes nothing.
        before = now_ms()
        self.assertBatch(srv.retry([task]), [(task, None)])
        resumed = self.assertAwaits(srv, task, "resume", "RETRY", (before, after_ms()),
                                    status="INCRE_TRANSFER_STARTED")
        self.confirm_items(srv, [confirm(task, "pause")], ["DRS.M00304"])
        late = self.assertAwaits(srv, task, "resume", "RETRY", status="INCRE_TRANSFER_STARTED")
        self.assertEqual(late["awaiting_confirmation"], resumed["awaiting_confirmation"])
        self.assertEqual(late["version"], resumed["version"])

        # The resume confirmed: nothing awaits.
        self.confirm_items(srv, [confirm(task, "resume")], [None])
        self.assertAwaits(srv, task, None, "", status="INCRE_TRANSFER_STARTED")
        self.assertEqual(srv.versions([task])[task], resumed["version"] + 1)

        # A resume that changes nothing (the task runs) leaves nothing awaiting.
        self.assertBatch(srv.retry([task]), [(task, None)])
        self.assertAwaits(srv, task, None, "")
        self.assertEqual(srv.versions([task])[task], resumed["version"] + 1)

        # Pause, resume, pause again: a confirmation naming the first pause's version does not
        # end the second pause's wait; naming the second's, it does.
        self.assertBatch(srv.pause([(task, "target")]), [(task, None)])
        first_pause = srv.versions([task])[task]
        self.assertBatch(srv.retry([task]), [(task, None)])
        self.assertBatch(srv.pause([(task, "target")]), [(task, None)])
        second_pause = srv.versions([task])[task]
        self.assertEqual(second_pause, first_pause + 2)
        self.confirm_items(srv, [confirm(task, "pause", first_pause)], ["DRS.M00304"])
        self.assertAwaits(srv, task, "pause", "PAUSE", status="PAUSING")
        self.confirm_items(srv, [confirm(task, "pause", second_pause)], [None])
        self.assertAwaits(srv, task, None, "", status="PAUSING")
        self.stop_ok(srv)

    def test_per_item_refusals_and_whole_request_refusals(self):
        fleet = Fleet("cref")
        waiting = fleet.task("INCRE_TRANSFER_STARTED")
        deleted = fleet.task("DELETED")
        neighbour = fleet.task("INCRE_TRANSFER_STARTED", project=PROJECT_B)
        srv = self.server(fleet)
        self.assertBatch(srv.pause([(waiting, "target")]), [(waiting, None)])
        self.assertBatch(srv.pause([(neighbour, "target")], token=TOKEN_B, project=PROJECT_B), [(neighbour, None)])
        version = srv.versions([waiting])[waiting]

        # Per item: a deleted task M05004, another project's task M05003; the valid item is
        # applied (items are decided one by one).
        self.confirm_items(srv, [confirm(deleted, "pause"), confirm(neighbour, "pause"), confirm(waiting, "pause")],
                           ["DRS.M05004", "DRS.M05003", None])
        self.assertAwaits(srv, waiting, None, "")

        # Whole request: `command` with another event, or a command that awaits no worker,
        # or an event name as command: 400 M00202 naming `command`; nothing applied.
        self.assertBatch(srv.pause([(waiting, "all")]), [(waiting, None)])
        for bad in ({"job_id": waiting, "event": "stopped", "command": "stop"},
                    {"job_id": waiting, "event": "progress", "progress": 5, "command": "pause"},
                    confirm(waiting, "remove"), confirm(waiting, "schedule_start"), confirm(waiting, "confirmed"),
                    confirm(waiting, "PAUSE"), confirm(waiting, "stopped"), {"job_id": waiting, "event": "confirmed", "command": 1},
                    confirm(waiting, "")):
            with self.subTest(item=bad):
                self.assertError(srv.report([bad], WORKER), 400, "DRS.M00202", "command")
        # An event name that is the command itself is no worker event.
        self.assertError(srv.report([{"job_id": waiting, "event": "pause"}], WORKER), 400, "DRS.M00202", "event")
        self.assertAwaits(srv, waiting, "pause", "PAUSE")
        self.assertEqual(srv.versions([waiting])[waiting], version + 2)
        self.stop_ok(srv)


class StartAndTerminateTests(ConfirmationCase):

    def test_a_start_awaits_until_the_worker_reports_the_outcome(self):
        fleet = Fleet("csta")
        task = fleet.task("CONFIGURATION")
        confirmed_first = fleet.task("CONFIGURATION")
        srv = self.server(fleet)
        self.assertAwaits(srv, task, None, "", status="CONFIGURATION")

        before = now_ms()
        self.assertBatch(srv.start_jobs([task, confirmed_first]), [(task, None), (confirmed_first, None)], status=202)
        window = (before, after_ms())
        self.assertAwaits(srv, task, "start", "START", window, status="STARTJOBING")
        self.assertAwaits(srv, confirmed_first, "start", "START", window, status="STARTJOBING")
        self.assertEqual(self.awaiting_metrics(srv)[0], 2.0)
        version = srv.versions([task])[task]

        # start_succeeded ends the wait (a worker state report): one change, version + 1.
        r = srv.report([(task, "start_succeeded", 0, 0)], WORKER)
        self.assertBatch(r, [(task, None)])
        item = self.assertAwaits(srv, task, None, "", status="FULL_TRANSFER_STARTED")
        self.assertEqual(item["version"], version + 1)
        self.confirm_items(srv, [confirm(task, "start")], ["DRS.M00304"])

        # A worker may confirm the start first and report the outcome later.
        self.confirm_items(srv, [confirm(confirmed_first, "start")], [None])
        self.assertAwaits(srv, confirmed_first, None, "", status="STARTJOBING")
        self.assertBatch(srv.report([(confirmed_first, "start_failed")], WORKER), [(confirmed_first, None)])
        self.assertAwaits(srv, confirmed_first, None, "", status="START_JOB_FAILED")
        self.assertEqual(self.awaiting_metrics(srv), (0.0, 0.0))

        # A retry of the failed start awaits as RETRY.
        self.assertBatch(srv.retry([confirmed_first]), [(confirmed_first, None)])
        self.assertAwaits(srv, confirmed_first, "resume", "RETRY", status="STARTJOBING")
        self.stop_ok(srv)

    def test_a_scheduled_start_awaits_when_it_fires(self):
        fleet = Fleet("csch")
        task = fleet.task("CONFIGURATION")
        srv = self.server(fleet)
        at = now_ms() + 1500
        self.assertBatch(srv.start_jobs([{"job_id": task, "start_time": at}]), [(task, None)], status=202)
        # Scheduling is no command a worker carries out: nothing awaits yet.
        self.assertAwaits(srv, task, None, "", status="WAITING_FOR_START")

        deadline = time.monotonic() + 30
        while srv.statuses([task])[task] != "STARTJOBING":
            self.assertLess(time.monotonic(), deadline, "the scheduled start never fired")
            time.sleep(0.05)
        item = self.assertAwaits(srv, task, "start_due", "START", status="STARTJOBING")
        self.assertGreaterEqual(int(item["awaiting_confirmation"]["since"]), at)
        self.assertEqual(self.awaiting_metrics(srv)[0], 1.0)
        # Naming the user's start is naming another command.
        self.confirm_items(srv, [confirm(task, "start")], ["DRS.M00304"])
        self.confirm_items(srv, [confirm(task, "start_due")], [None])
        self.assertAwaits(srv, task, None, "", status="STARTJOBING")
        self.stop_ok(srv)

    def test_terminate_and_force_terminate(self):
        fleet = Fleet("cter")
        task = fleet.task("INCRE_TRANSFER_STARTED")
        forced = fleet.task("FULL_TRANSFER_FAILED")
        srv = self.server(fleet)
        r = srv.delete_jobs([(task, "terminate"), (forced, "force_terminate")])
        self.assertBatch(r, [(task, None), (forced, None)], status=202)
        self.assertAwaits(srv, task, "stop", "TERMINATE", status="RELEASE_RESOURCE_STARTED")
        self.assertAwaits(srv, forced, "force_stop", "FORCE_TERMINATE", status="RELEASE_RESOURCE_COMPLETE")
        version = srv.versions([task])[task]

        # `stopped` ends the terminate's wait.
        self.assertBatch(srv.report([(task, "stopped")], WORKER), [(task, None)])
        item = self.assertAwaits(srv, task, None, "", status="RELEASE_RESOURCE_COMPLETE")
        self.assertEqual(item["version"], version + 1)
        # A force terminate is confirmed (there is nothing more to report).
        self.confirm_items(srv, [confirm(forced, "stop")], ["DRS.M00304"])  # (one item per task and request)
        self.confirm_items(srv, [confirm(forced, "force_stop")], [None])
        self.assertAwaits(srv, forced, None, "", status="RELEASE_RESOURCE_COMPLETE")
        self.assertEqual(self.awaiting_metrics(srv), (0.0, 0.0))
        self.stop_ok(srv)

    def test_terminate_a_family_each_child_confirms(self):
        fleet = Fleet("cfam")
        parent, forward, backward = fleet.family("INCRE_TRANSFER_STARTED", "FULL_TRANSFER_STARTED")
        srv = self.server(fleet)
        self.assertEqual(self.detail_of(srv, parent)["job_action"]["current_action"], "")

        before = now_ms()
        self.assertBatch(srv.delete_jobs([(parent, "terminate")]), [(parent, None)], status=202)
        window = (before, after_ms())
        self.assertAwaits(srv, forward, "stop", "TERMINATE", window, status="RELEASE_RESOURCE_STARTED")
        self.assertAwaits(srv, backward, "stop", "TERMINATE", window, status="RELEASE_RESOURCE_STARTED")
        item = self.detail_of(srv, parent)
        self.assertEqual(item["status"], "RELEASE_RESOURCE_STARTED")
        self.assertEqual(item["job_action"]["current_action"], "TERMINATE", str(item))
        children = {c["id"]: c for c in item["children"]}
        for child in (forward, backward):
            self.assertEqual(children[child]["job_action"]["current_action"], "TERMINATE")
            self.assertEqual(children[child]["awaiting_confirmation"]["command"], "stop")
        self.assertEqual(self.awaiting_metrics(srv)[0], 2.0)  # two tasks await: the children
        versions = srv.versions([forward, backward])

        # The parent cannot confirm: each child confirms its own.
        self.confirm_items(srv, [confirm(parent, "stop")], ["DRS.M00307"])
        self.confirm_items(srv, [confirm(parent)], ["DRS.M00307"])
        self.assertEqual(srv.versions([forward, backward]), versions)
        self.confirm_items(srv, [confirm(forward, "stop")], [None])
        self.assertAwaits(srv, forward, None, "", status="RELEASE_RESOURCE_STARTED")
        self.assertAwaits(srv, backward, "stop", "TERMINATE")
        self.assertEqual(self.detail_of(srv, parent)["job_action"]["current_action"], "TERMINATE")
        self.assertEqual(self.awaiting_metrics(srv)[0], 1.0)
        self.confirm_items(srv, [confirm(backward, "stop")], [None])
        self.assertAwaits(srv, backward, None, "")
        self.assertEqual(self.detail_of(srv, parent)["job_action"]["current_action"], "")
        self.assertEqual(srv.versions([forward, backward]), {j: v + 1 for j, v in versions.items()})
        self.assertEqual(self.awaiting_metrics(srv), (0.0, 0.0))

        # Then each child reports its resources released.
        self.assertBatch(srv.report([(forward, "stopped"), (backward, "stopped")], WORKER),
                         [(forward, None), (backward, None)])
        self.assertStatuses(srv, {parent: "RELEASE_RESOURCE_COMPLETE", forward: "RELEASE_RESOURCE_COMPLETE",
                                  backward: "RELEASE_RESOURCE_COMPLETE"})
        self.stop_ok(srv)

    def test_a_paused_child_shows_its_wait_on_the_parent(self):
        fleet = Fleet("cfpa")
        parent, forward, backward = fleet.family("INCRE_TRANSFER_STARTED", "INCRE_TRANSFER_STARTED")
        srv = self.server(fleet)
        self.assertBatch(srv.pause([(backward, "target")]), [(backward, None)])
        self.assertAwaits(srv, backward, "pause", "PAUSE", status="PAUSING")
        self.assertAwaits(srv, forward, None, "")
        shown = self.detail_of(srv, parent)
        self.assertEqual(shown["job_action"]["current_action"], "PAUSE")
        # The parent shows its child's wait, in detail as in progress.
        child = self.detail_of(srv, backward)
        self.assertEqual(shown["awaiting_confirmation"], child["awaiting_confirmation"], str(shown))
        self.assertEqual(self.progress_item(srv, parent)["awaiting_confirmation"],
                         child["awaiting_confirmation"])
        # ...and changes when a child does.
        self.assertEqual(shown["update_time"], child["update_time"], str(shown))
        self.stop_ok(srv)


class RoleAndTimeTests(ConfirmationCase):

    def test_only_a_worker_may_confirm(self):
        fleet = Fleet("crol")
        task = fleet.task("INCRE_TRANSFER_STARTED")
        srv = self.server(fleet)
        self.assertBatch(srv.pause([(task, "target")]), [(task, None)])
        version = srv.versions([task])[task]
        for token, role in ((OPERATOR, "operator"), (READER, "reader")):
            with self.subTest(role=role):
                r = srv.report([confirm(task, "pause")], token)
                body = self.assertError(r, 403, "TASKORCH.0403")
                self.assertEqual(body["error_msg"], f"The caller's role ({role}) may not call this API.")
        self.assertError(srv.report([confirm(task, "pause")], TOKEN_B), 403, "DRS.M00261")
        self.assertError(srv.report([confirm(task, "pause")], None), 401, "APIGW.0301")
        self.assertAwaits(srv, task, "pause", "PAUSE")
        self.assertEqual(srv.versions([task])[task], version)
        # Every role reads the wait.
        for token in (OPERATOR, READER, WORKER):
            with self.subTest(reader=token):
                item = self.detail_of(srv, task, token=token)
                self.assertEqual(item["awaiting_confirmation"]["command"], "pause")
        self.stop_ok(srv)

    def test_create_and_update_times(self):
        fleet = Fleet("ctim")
        task = fleet.task("INCRE_TRANSFER_STARTED")
        parent, forward, backward = fleet.family("INCRE_TRANSFER_STARTED", "FULL_TRANSFER_STARTED")
        before = now_ms()
        srv = self.server(fleet)
        loaded = (before, after_ms())

        created = {}
        for jid in (task, forward, backward, parent):
            with self.subTest(loaded=jid):
                item = self.detail_of(srv, jid)
                self.assertRegex(item.get("create_time", ""), r"^[1-9][0-9]*$", str(item))
                self.assertTrue(loaded[0] <= int(item["create_time"]) <= loaded[1],
                                f"a fleet task is created when loaded {loaded}: {item}")
                # Never changed: its last change is its creation.
                self.assertEqual(item.get("update_time"), item["create_time"], str(item))
                created[jid] = item["create_time"]

        # A change moves update_time, never create_time.
        time.sleep(0.02)
        before = now_ms()
        self.assertBatch(srv.pause([(task, "target"), (forward, "target")]), [(task, None), (forward, None)])
        window = (before, after_ms())
        for jid in (task, forward):
            item = self.detail_of(srv, jid)
            self.assertEqual(item["create_time"], created[jid])
            self.assertTrue(window[0] <= int(item["update_time"]) <= window[1], f"{window}: {item}")
            self.assertGreater(int(item["update_time"]), int(created[jid]))
        untouched = self.detail_of(srv, backward)
        self.assertEqual((untouched["create_time"], untouched["update_time"]), (created[backward], created[backward]))

        # A query changes nothing; a refused confirmation changes nothing; a confirmation does.
        shown = self.detail_of(srv, task)["update_time"]
        self.confirm_items(srv, [confirm(task, "resume")], ["DRS.M00304"])
        self.assertEqual(self.detail_of(srv, task)["update_time"], shown)
        time.sleep(0.02)
        before = now_ms()
        self.confirm_items(srv, [confirm(task, "pause")], [None])
        item = self.detail_of(srv, task)
        self.assertTrue(before <= int(item["update_time"]) <= after_ms(), str(item))
        self.assertEqual(item["create_time"], created[task])

        # The task list shows the same times.
        r = srv.list_jobs({"name": task})
        self.assertEqual(r.status, 200, str(r))
        (listed,) = r.json["jobs"]
        self.assertEqual((listed["create_time"], listed["update_time"]), (item["create_time"], item["update_time"]))
        self.stop_ok(srv)


class RestartTests(ConfirmationCase):

    def test_the_wait_and_the_times_survive_a_kill(self):
        fleet = Fleet("ckil")
        paused = fleet.task("INCRE_TRANSFER_STARTED")
        started = fleet.task("CONFIGURATION")
        confirmed = fleet.task("FULL_TRANSFER_STARTED")
        parent, forward, backward = fleet.family("INCRE_TRANSFER_STARTED", "INCRE_TRANSFER_STARTED")
        srv = self.server(fleet, data_dir=self.data_dir())
        self.assertBatch(srv.pause([(paused, "target"), (confirmed, "all")]), [(paused, None), (confirmed, None)])
        self.assertBatch(srv.start_jobs([started]), [(started, None)], status=202)
        self.assertBatch(srv.delete_jobs([(parent, "terminate")]), [(parent, None)], status=202)
        self.confirm_items(srv, [confirm(confirmed, "pause"), confirm(backward, "stop")], [None, None])
        ids = [paused, started, confirmed, parent, forward, backward]
        before = {jid: self.detail_of(srv, jid) for jid in ids}
        self.assertEqual(before[paused]["awaiting_confirmation"]["command"], "pause")
        self.assertEqual(before[started]["awaiting_confirmation"]["command"], "start")
        self.assertEqual(before[forward]["awaiting_confirmation"]["command"], "stop")
        self.assertNotIn("awaiting_confirmation", before[confirmed])
        self.assertNotIn("awaiting_confirmation", before[backward])
        self.assertEqual(self.awaiting_metrics(srv)[0], 3.0)

        # kill -9: every acknowledged change, the waits and times included, is kept.
        srv.kill()
        time.sleep(0.2)
        srv.restart()
        self.assertIn("recovered", srv.registry_line())
        for jid in ids:
            with self.subTest(after_restart=jid):
                self.assertEqual(self.detail_of(srv, jid), before[jid])
        count, age = self.awaiting_metrics(srv)
        self.assertEqual(count, 3.0)
        self.assertGreaterEqual(age, 0.2)  # counted from the command, not from the restart

        # The waits go on after the restart.
        self.confirm_items(srv, [confirm(paused, "pause"), confirm(started, "pause"), confirm(forward, "stop")],
                           [None, "DRS.M00304", None])
        self.assertAwaits(srv, paused, None, "", status="PAUSING")
        self.assertAwaits(srv, started, "start", "START")
        self.assertEqual(self.awaiting_metrics(srv)[0], 1.0)

        # And once more, a clean stop and start.
        self.stop_ok(srv)
        srv.restart()
        self.assertAwaits(srv, started, "start", "START")
        self.assertAwaits(srv, paused, None, "")
        self.assertEqual(self.awaiting_metrics(srv)[0], 1.0)
        self.stop_ok(srv)


if __name__ == "__main__":
    unittest.main()
