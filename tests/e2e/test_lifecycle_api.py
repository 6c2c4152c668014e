"""End-to-end tests of the lifecycle endpoints of taskorch-server (docs/behaviour.md
"Commands and events", "Actions offered (`job_action`)" and "HTTP request bodies"):

- `POST /v3/{project_id}/jobs/batch-starting` (202): start now, or schedule a start;
- `DELETE /v3/{project_id}/jobs/batch-jobs` (202): terminate, force terminate, delete;
- `POST /v3/{project_id}/jobs/batch-detail` (200, or 400 when no requested task is found);
- `POST /v3/{project_id}/jobs` (200): the task list, with filters and paging.

Covered: each answer's exact shape, every whole-request refusal (nothing applied), per-item
failures in request order, `job_action` for every state (the expected lists are written here
by hand from docs/behaviour.md, never read from the server's tables), scheduled starts firing
by themselves and surviving a restart, dual-active families through start, terminate, force
terminate and delete, roles and Chinese messages. Workers' reports, which move a task past
STARTJOBING, are tested in test_worker_reports.py.
"""

from __future__ import annotations

import json
import time
import unittest

from e2e_support import (stop_shared_server, CJK, DETAIL, FAR_START_MS, JOBS, PROJECT_A, PROJECT_B, STARTING, TOKEN_A, TOKEN_B, E2ECase, Fleet,
                         Server, aggregate_status, api_path)

UNKNOWN_ID = "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"
BAD_ID = "8D0E8E36-A618-490D-8A46-8C61AC9JB502"  # uppercase: not the DRS shape
GARBAGE = b"\x00\xffthis is { not [ json"
READER = "e2e-lifecycle-reader-3f9a0c71"
WORKER = "e2e-lifecycle-worker-81d2b6e4"
LIST_PATH = f"/v3/{PROJECT_A}/jobs"

ACTIONS = {"START", "PAUSE", "RETRY", "TERMINATE", "DELETE", "FORCE_TERMINATE"}
CHILD_ACTIONS = {"START", "PAUSE", "RETRY"}     # a child's own commands
FAMILY_ACTIONS = {"TERMINATE", "DELETE", "FORCE_TERMINATE"}  # the parent's, for both children

# What a standalone task offers in each state: written by hand from docs/behaviour.md (the
# table of "Commands and events" and "Actions offered"), an oracle independent of the server's
# tables. An action is offered when its command would be taken and would change the task.
OFFERS = {
    "CONFIGURATION": {"START", "TERMINATE", "DELETE", "FORCE_TERMINATE"},
    "WAITING_FOR_START": {"START", "TERMINATE", "DELETE", "FORCE_TERMINATE"},
    "STARTJOBING": {"FORCE_TERMINATE"},
    "START_JOB_FAILED": {"RETRY", "TERMINATE", "FORCE_TERMINATE"},
    "FULL_TRANSFER_STARTED": {"PAUSE", "TERMINATE", "FORCE_TERMINATE"},
    "FULL_TRANSFER_COMPLETE": {"PAUSE", "TERMINATE", "FORCE_TERMINATE"},
    "INCRE_TRANSFER_STARTED": {"PAUSE", "TERMINATE", "FORCE_TERMINATE"},
    "FULL_TRANSFER_FAILED": {"PAUSE", "RETRY", "TERMINATE", "FORCE_TERMINATE"},
    "INCRE_TRANSFER_FAILED": {"PAUSE", "RETRY", "TERMINATE", "FORCE_TERMINATE"},
    "PAUSING/target": {"PAUSE", "RETRY", "TERMINATE", "FORCE_TERMINATE"},  # PAUSE: raise to all
    "PAUSING/all": {"RETRY", "TERMINATE", "FORCE_TERMINATE"},
    "RELEASE_RESOURCE_STARTED": {"FORCE_TERMINATE"},
    "RELEASE_RESOURCE_COMPLETE": {"DELETE"},
    "DELETED": set(),
}

# Dual-active families (forward, backward) and what their parent offers, by hand: a family
# action both children would take (one at least changing). Statuses "PAUSING/<mode>".
FAMILY_OFFERS = [
    (("CONFIGURATION", "CONFIGURATION"), {"TERMINATE", "DELETE", "FORCE_TERMINATE"}),
    (("INCRE_TRANSFER_STARTED", "FULL_TRANSFER_FAILED"), {"TERMINATE", "FORCE_TERMINATE"}),
    (("STARTJOBING", "INCRE_TRANSFER_STARTED"), {"FORCE_TERMINATE"}),
    (("CONFIGURATION", "RELEASE_RESOURCE_COMPLETE"), {"DELETE"}),
    (("WAITING_FOR_START", "PAUSING/target"), {"TERMINATE", "FORCE_TERMINATE"}),
    (("RELEASE_RESOURCE_STARTED", "RELEASE_RESOURCE_COMPLETE"), set()),
    (("DELETED", "RELEASE_RESOURCE_COMPLETE"), set()),
    (("DELETED", "DELETED"), set()),
]


def now_ms() -> int:
    return int(time.time() * 1000)


def split_status(key: str) -> tuple[str, str | None]:
    """"PAUSING/all" -> ("PAUSING", "all"); anything else -> (key, None)."""
    status, _, mode = key.partition("/")
    return status, (mode or None)


def add_task(fleet: Fleet, key: str, **kw) -> str:
    status, mode = split_status(key)
    if mode:
        kw.setdefault("pause_mode", mode)
        kw.setdefault("paused_from", "FULL_TRANSFER_STARTED")
    return fleet.task(status, **kw)


def add_family(fleet: Fleet, forward: str, backward: str, **kw) -> tuple[str, str, str]:
    (fs, fm), (bs, bm) = split_status(forward), split_status(backward)
    return fleet.family(fs, bs, forward_pause=(fm, "INCRE_TRANSFER_STARTED") if fm else None,
                        backward_pause=(bm, "INCRE_TRANSFER_STARTED") if bm else None, **kw)


def actions(available: set[str]) -> dict:
    """The expected `job_action`, compared as sets (see LifecycleCase.assertActions)."""
    return {"available": set(available), "unavailable": ACTIONS - set(available)}


class LifecycleCase(E2ECase):

    def detail_of(self, srv: Server, ids: list[str], **kw) -> dict[str, dict]:
        r = srv.detail(ids, **kw)
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["count"], len(ids), str(r))
        return {item["id"]: item for item in r.json["results"]}

    def one_detail(self, srv: Server, jid: str) -> dict:
        return self.detail_of(srv, [jid])[jid]

    def versions(self, srv: Server, ids: list[str]) -> dict[str, int]:
        return {i: d["version"] for i, d in self.detail_of(srv, ids).items()}

    def assertActions(self, item: dict, available: set[str], what: str = "") -> None:
        """`job_action` offers exactly `available`; the other actions are listed unavailable;
        no action twice, none unknown."""
        ja = item["job_action"]
        self.assertEqual(set(ja), {"available_actions", "unavailable_actions", "current_action"}, str(item))
        self.assertIn(ja["current_action"], ACTIONS | {""}, str(item))
        got_a, got_u = ja["available_actions"], ja["unavailable_actions"]
        self.assertEqual(len(got_a), len(set(got_a)), f"{what}: an action twice in {got_a}")
        self.assertEqual(len(got_u), len(set(got_u)), f"{what}: an action twice in {got_u}")
        self.assertEqual(set(got_a), set(available), f"{what}: available_actions of {item['id']} ({item['status']})")
        self.assertEqual(set(got_u), ACTIONS - set(available), f"{what}: unavailable_actions of {item['id']}")

    def wait_for_status(self, srv: Server, jid: str, want: str, limit: float = 15.0) -> None:
        deadline = time.monotonic() + limit
        seen = []
        while True:
            got = srv.statuses([jid])[jid]
            if not seen or seen[-1] != got:
                seen.append(got)
            if got == want:
                return
            if time.monotonic() > deadline:
                self.fail(f"{jid} is not {want} within {limit} s; statuses seen: {seen}")
            time.sleep(0.05)

    def assertUntouched(self, srv: Server, fleet: Fleet) -> None:
        """Every task of `fleet` has its initial status and version 0 (nothing was applied)."""
        self.assertEqual(srv.registry_view(fleet), fleet.initial)
        ids = fleet.ids(PROJECT_A)
        self.assertEqual(self.versions(srv, ids), {i: 0 for i in ids})


# --------------------------------------------------------------------------------------------
# batch-detail


class DetailTests(LifecycleCase):

    def test_the_answer_has_exactly_the_documented_fields(self):
        f = Fleet("det0")
        config = f.task("CONFIGURATION", kind="sync", name="alpha")
        paused = f.task("PAUSING", kind="migration", pause_mode="target", paused_from="INCRE_TRANSFER_FAILED",
                        name="paused one")
        waiting = f.task("WAITING_FOR_START", kind="cloudDataGuard", start_time=FAR_START_MS + 7, name="later")
        parent, fwd, bwd = f.family("INCRE_TRANSFER_STARTED", "PAUSING", backward_pause=("all", "FULL_TRANSFER_STARTED"),
                                    name="dual")
        other = f.task("CONFIGURATION", PROJECT_B)
        srv = self.start_server(fleet=f)
        ids = [config, paused, UNKNOWN_ID, waiting, parent, bwd, other]
        r = srv.detail(ids)
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(set(r.json), {"results", "count"})
        self.assertEqual(r.json["count"], len(ids))
        results = r.json["results"]
        self.assertEqual([x["id"] for x in results], ids, "one item per id, in request order")

        created = results[0].get("create_time", "")
        self.assertRegex(created, r"^[1-9][0-9]*$", results[0])

        def drop_actions(item: dict) -> dict:
            # The fleet's tasks were created when the server loaded it, and have not changed.
            self.assertEqual((item.get("create_time"), item.get("update_time")), (created, created), item)
            return {k: v for k, v in item.items() if k not in ("job_action", "create_time", "update_time")}

        self.assertEqual(drop_actions(results[0]), {"id": config, "name": "alpha", "status": "CONFIGURATION",
                                                    "db_use_type": "sync", "multi_write": False, "version": 0})
        self.assertEqual(drop_actions(results[1]), {"id": paused, "name": "paused one", "status": "PAUSING",
                                                    "db_use_type": "migration", "multi_write": False,
                                                    "pause_mode": "target", "paused_from": "INCRE_TRANSFER_FAILED",
                                                    "version": 0})
        for n, jid in ((2, UNKNOWN_ID), (6, other)):
            self.assertEqual(set(results[n]), {"id", "error_code", "error_msg"}, results[n])
            self.assertEqual(results[n]["error_code"], "DRS.M05003")
            self.assertEqual(results[n]["error_msg"], "Task information not found.")
        self.assertEqual(results[2]["error_msg"], results[6]["error_msg"], "another project's task looks unknown")
        self.assertEqual(drop_actions(results[3]), {"id": waiting, "name": "later", "status": "WAITING_FOR_START",
                                                    "db_use_type": "cloudDataGuard", "multi_write": False,
                                                    "start_time": str(FAR_START_MS + 7), "version": 0})
        fwd_item = {"id": fwd, "name": "", "status": "INCRE_TRANSFER_STARTED", "db_use_type": "cloudDataGuard",
                    "multi_write": False, "parent_id": parent, "version": 0}
        bwd_item = {"id": bwd, "name": "", "status": "PAUSING", "db_use_type": "cloudDataGuard",
                    "multi_write": False, "pause_mode": "all", "paused_from": "FULL_TRANSFER_STARTED",
                    "parent_id": parent, "version": 0}
        p = results[4]
        self.assertEqual(drop_actions({k: v for k, v in p.items() if k != "children"}),
                         {"id": parent, "name": "dual", "status": "INCRE_TRANSFER_STARTED",
                          "db_use_type": "cloudDataGuard", "multi_write": True, "version": 0})
        self.assertEqual([drop_actions(c) for c in p["children"]], [fwd_item, bwd_item],
                         "the parent holds its forward, then its backward child")
        self.assertEqual(drop_actions(results[5]), bwd_item, "a child asked for alone")
        self.assertEqual(results[5], p["children"][1], "the same object, nested or not")
        # job_action of each.
        self.assertActions(results[0], OFFERS["CONFIGURATION"])
        self.assertActions(results[1], OFFERS["PAUSING/target"])
        self.assertActions(results[3], OFFERS["WAITING_FOR_START"])
        self.assertActions(p, {"TERMINATE", "FORCE_TERMINATE"})
        self.assertActions(p["children"][0], {"PAUSE"})
        self.assertActions(p["children"][1], {"RETRY"})
        # A query changes nothing.
        self.assertEqual(srv.detail(ids).json, r.json)
        self.stop_ok(srv)

    def test_job_action_for_every_state(self):
        f = Fleet("act0")
        standalone = {key: add_task(f, key) for key in OFFERS}
        families = [(add_family(f, fw, bw), fw, bw, offers) for (fw, bw), offers in FAMILY_OFFERS]
        srv = self.start_server(fleet=f)
        got = self.detail_of(srv, list(standalone.values()) + [p for (p, _, _), _, _, _ in families])
        for key, jid in standalone.items():
            with self.subTest(state=key):
                self.assertEqual(got[jid]["status"], split_status(key)[0])
                self.assertActions(got[jid], OFFERS[key], key)
        for (parent, fwd, bwd), fw, bw, offers in families:
            with self.subTest(family=(fw, bw)):
                item = got[parent]
                self.assertActions(item, offers, f"parent of {fw}/{bw}")
                self.assertEqual([c["id"] for c in item["children"]], [fwd, bwd])
                # A child offers its own commands only, as a standalone task would.
                self.assertActions(item["children"][0], OFFERS[fw] & CHILD_ACTIONS, f"forward child {fw}")
                self.assertActions(item["children"][1], OFFERS[bw] & CHILD_ACTIONS, f"backward child {bw}")
        self.stop_ok(srv)

    def test_the_offered_actions_are_the_ones_that_work(self):
        """For each state and action, a task: the command of an offered action succeeds and
        changes the task (version + 1); any other fails, or succeeds without a change."""
        f = Fleet("act1")
        tasks = {(key, action): add_task(f, key) for key in OFFERS for action in sorted(ACTIONS)}
        srv = self.start_server(fleet=f)
        before = self.detail_of(srv, list(tasks.values()))
        for (key, action), jid in tasks.items():
            available = set(before[jid]["job_action"]["available_actions"])
            self.assertEqual(available, OFFERS[key], key)
        by_action: dict[str, list[str]] = {}
        for (key, action), jid in tasks.items():
            by_action.setdefault(action, []).append(jid)
        answers = {
            "START": srv.start_jobs(by_action["START"]),
            "PAUSE": srv.pause([(i, "all") for i in by_action["PAUSE"]]),
            "RETRY": srv.retry(by_action["RETRY"]),
            "TERMINATE": srv.delete_jobs([(i, "terminate") for i in by_action["TERMINATE"]]),
            "DELETE": srv.delete_jobs([(i, "delete") for i in by_action["DELETE"]]),
            "FORCE_TERMINATE": srv.delete_jobs([(i, "force_terminate") for i in by_action["FORCE_TERMINATE"]]),
        }
        outcome = {}
        for action, r in answers.items():
            self.assertIn(r.status, (200, 202), str(r))
            for item in r.json["results"]:
                outcome[item["id"]] = item["status"]
        after = self.versions(srv, list(tasks.values()))
        for (key, action), jid in tasks.items():
            with self.subTest(state=key, action=action):
                changed = after[jid] != before[jid]["version"]
                if action in OFFERS[key]:
                    self.assertEqual(outcome[jid], "success")
                    self.assertEqual(after[jid], before[jid]["version"] + 1, "an offered action changes the task")
                else:
                    self.assertFalse(changed, f"{action} is not offered in {key}, yet it changed the task")
        self.stop_ok(srv)

    def test_pause_fields_follow_the_pause(self):
        f = Fleet("det1")
        t = f.task("FULL_TRANSFER_COMPLETE")
        srv = self.start_server(fleet=f)
        d = self.one_detail(srv, t)
        self.assertNotIn("pause_mode", d)
        self.assertNotIn("paused_from", d)
        self.assertBatch(srv.pause([(t, "target")]), [(t, None)])
        d = self.one_detail(srv, t)
        self.assertEqual((d["status"], d["pause_mode"], d["paused_from"], d["version"]),
                         ("PAUSING", "target", "FULL_TRANSFER_COMPLETE", 1))
        self.assertActions(d, OFFERS["PAUSING/target"])
        self.assertBatch(srv.pause([(t, "all")]), [(t, None)])
        d = self.one_detail(srv, t)
        self.assertEqual((d["status"], d["pause_mode"], d["paused_from"], d["version"]),
                         ("PAUSING", "all", "FULL_TRANSFER_COMPLETE", 2))
        self.assertActions(d, OFFERS["PAUSING/all"])
        self.assertBatch(srv.retry([t]), [(t, None)])
        d = self.one_detail(srv, t)
        self.assertEqual((d["status"], d["version"]), ("FULL_TRANSFER_COMPLETE", 3))
        self.assertNotIn("pause_mode", d)
        self.assertNotIn("paused_from", d)
        self.stop_ok(srv)

    def test_400_only_when_no_requested_task_is_found(self):
        f = Fleet("det2")
        mine = f.task("INCRE_TRANSFER_STARTED")
        deleted = f.task("DELETED")
        other = f.task("INCRE_TRANSFER_STARTED", PROJECT_B)
        srv = self.start_server(fleet=f)
        for ids in ([UNKNOWN_ID], [other], [UNKNOWN_ID, other]):
            with self.subTest(ids=ids):
                r = srv.detail(ids)
                self.assertEqual(r.status, 400, str(r))
                self.assertEqual(r.json["count"], len(ids))
                self.assertEqual([(x["id"], x["error_code"]) for x in r.json["results"]],
                                 [(i, "DRS.M05003") for i in ids])
                for x in r.json["results"]:
                    self.assertEqual(set(x), {"id", "error_code", "error_msg"})
        for ids in ([mine], [UNKNOWN_ID, mine], [other, deleted]):
            with self.subTest(ids=ids):
                r = srv.detail(ids)
                self.assertEqual(r.status, 200, str(r))
        # A deleted task is found: it is shown, DELETED, offering nothing.
        d = self.one_detail(srv, deleted)
        self.assertEqual(d["status"], "DELETED")
        self.assertActions(d, set())
        # The other project's own token finds it.
        r = srv.detail([other], token=TOKEN_B, project=PROJECT_B)
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["results"][0]["status"], "INCRE_TRANSFER_STARTED")
        self.stop_ok(srv)

    def test_page_req_pages_the_requested_ids(self):
        f = Fleet("det3")
        ids = [f.task("INCRE_TRANSFER_STARTED") for _ in range(7)]
        srv = self.start_server(fleet=f)
        asked = ids[:3] + [UNKNOWN_ID] + ids[3:]
        for page_req, page in (({"cur_page": 2, "per_page": 3}, asked[3:6]), ({"cur_page": 3, "per_page": 3}, asked[6:]),
                               ({"cur_page": 4, "per_page": 3}, []), ({"per_page": 0}, asked), (None, asked),
                               ({"cur_page": 1, "per_page": 1}, asked[:1])):
            with self.subTest(page_req=page_req):
                r = srv.detail(asked, page_req)
                self.assertEqual(r.status, 200, str(r))
                self.assertEqual(r.json["count"], len(asked), "count is the number of requested ids")
                self.assertEqual([x["id"] for x in r.json["results"]], page)
        # The page holding only the unknown id: some requested task exists, so still 200.
        r = srv.detail(asked, {"cur_page": 4, "per_page": 1})
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual([x["error_code"] for x in r.json["results"]], ["DRS.M05003"])
        self.stop_ok(srv)


# --------------------------------------------------------------------------------------------
# batch-starting


class StartingTests(LifecycleCase):

    def test_start_now_and_the_answer_shape(self):
        f = Fleet("sta1")
        plain, empty, null, past_s, past_i = (f.task("CONFIGURATION") for _ in range(5))
        waiting = f.task("WAITING_FOR_START")
        srv = self.start_server(fleet=f)
        jobs = [{"job_id": plain}, {"job_id": empty, "start_time": ""}, {"job_id": null, "start_time": None},
                {"job_id": past_s, "start_time": "1"}, {"job_id": past_i, "start_time": now_ms() - 60000},
                {"job_id": waiting}]
        r = srv.start_jobs(jobs)
        self.assertEqual(r.status, 202, str(r))
        self.assertTrue(r.header("content-type").startswith("application/json"))
        ids = [j["job_id"] for j in jobs]
        self.assertEqual(r.json, {"results": [{"id": i, "status": "success"} for i in ids], "count": len(ids)})
        got = self.detail_of(srv, ids)
        for i in ids:
            self.assertEqual(got[i]["status"], "STARTJOBING")
            self.assertNotIn("start_time", got[i], "a start now keeps no start time")
            self.assertEqual(got[i]["version"], 1)
            self.assertActions(got[i], OFFERS["STARTJOBING"])
        # Starting again: STARTJOBING takes no start (M00304), and nothing changes.
        self.assertBatch(srv.start_jobs(ids), [(i, "DRS.M00304") for i in ids], 202)
        self.assertEqual(self.versions(srv, ids), {i: 1 for i in ids})
        self.stop_ok(srv)

    def test_per_item_failures_in_request_order(self):
        f = Fleet("sta2")
        config, config2 = f.task("CONFIGURATION"), f.task("CONFIGURATION")
        running = f.task("INCRE_TRANSFER_STARTED")
        paused = f.task("PAUSING", pause_mode="all", paused_from="FULL_TRANSFER_STARTED")
        failed = f.task("START_JOB_FAILED")
        stopped = f.task("RELEASE_RESOURCE_COMPLETE")
        deleted = f.task("DELETED")
        parent, fwd, bwd = f.family("CONFIGURATION", "CONFIGURATION")
        other = f.task("CONFIGURATION", PROJECT_B)
        srv = self.start_server(fleet=f)
        plan = [
            (config, None), (UNKNOWN_ID, "DRS.M05003"), (running, "DRS.M00304"), (parent, "DRS.M00307"),
            (other, "DRS.M05003"), (deleted, "DRS.M05004"), (fwd, None), (paused, "DRS.M00304"),
            (failed, "DRS.M00304"), (stopped, "DRS.M00304"), (config2, None),
        ]
        self.assertBatch(srv.start_jobs([i for i, _ in plan]), plan, 202)
        self.assertStatuses(srv, {config: "STARTJOBING", config2: "STARTJOBING", running: "INCRE_TRANSFER_STARTED",
                                  paused: "PAUSING", failed: "START_JOB_FAILED", stopped: "RELEASE_RESOURCE_COMPLETE",
                                  deleted: "DELETED", parent: "STARTJOBING", fwd: "STARTJOBING",
                                  bwd: "CONFIGURATION"})
        self.assertStatuses(srv, {other: "CONFIGURATION"}, token=TOKEN_B, project=PROJECT_B)
        # The failed items changed nothing (versions), the others once.
        self.assertEqual(self.versions(srv, [config, running, paused, failed, stopped, deleted, fwd, bwd]),
                         {config: 1, running: 0, paused: 0, failed: 0, stopped: 0, deleted: 0, fwd: 1, bwd: 0})
        # A scheduled start fails the same way (the parent: M00307, whatever the time).
        later = str(now_ms() + 600000)
        items = [{"job_id": parent, "start_time": later}, {"job_id": running, "start_time": later},
                 {"job_id": deleted, "start_time": later}, {"job_id": bwd, "start_time": later}]
        self.assertBatch(srv.start_jobs(items), [(parent, "DRS.M00307"), (running, "DRS.M00304"),
                                                 (deleted, "DRS.M05004"), (bwd, None)], 202)
        self.assertEqual(self.one_detail(srv, bwd)["status"], "WAITING_FOR_START")
        self.stop_ok(srv)

    def test_schedule_a_start_reschedule_it_and_start_it_early(self):
        f = Fleet("sta3")
        t, u = f.task("CONFIGURATION"), f.task("CONFIGURATION")
        srv = self.start_server(fleet=f)
        at = now_ms() + 600000
        # An integer start time and a string one are the same instant.
        self.assertBatch(srv.start_jobs([{"job_id": t, "start_time": at}, {"job_id": u, "start_time": str(at)}]),
                         [(t, None), (u, None)], 202)
        got = self.detail_of(srv, [t, u])
        for i in (t, u):
            self.assertEqual((got[i]["status"], got[i]["start_time"], got[i]["version"]),
                             ("WAITING_FOR_START", str(at), 1))
            self.assertActions(got[i], OFFERS["WAITING_FOR_START"])
        # The same time again: success, no change; another time: a change.
        self.assertBatch(srv.start_jobs([{"job_id": t, "start_time": str(at)}]), [(t, None)], 202)
        self.assertEqual(self.one_detail(srv, t)["version"], 1)
        self.assertBatch(srv.start_jobs([{"job_id": t, "start_time": at + 5000}]), [(t, None)], 202)
        d = self.one_detail(srv, t)
        self.assertEqual((d["status"], d["start_time"], d["version"]), ("WAITING_FOR_START", str(at + 5000), 2))
        # Started now, before its time: STARTJOBING, the start time forgotten.
        self.assertBatch(srv.start_jobs([t]), [(t, None)], 202)
        d = self.one_detail(srv, t)
        self.assertEqual((d["status"], d["version"]), ("STARTJOBING", 3))
        self.assertNotIn("start_time", d)
        # The largest start time accepted, 2^63 - 1 ms, is kept as given.
        self.assertBatch(srv.start_jobs([{"job_id": u, "start_time": str(2 ** 63 - 1)}]), [(u, None)], 202)
        self.assertEqual(self.one_detail(srv, u)["start_time"], str(2 ** 63 - 1))
        self.stop_ok(srv)

    def test_a_scheduled_start_fires_by_itself(self):
        f = Fleet("sta4")
        t = f.task("CONFIGURATION")
        srv = self.start_server(fleet=f)
        at = now_ms() + 1500
        self.assertBatch(srv.start_jobs([{"job_id": t, "start_time": str(at)}]), [(t, None)], 202)
        d = self.one_detail(srv, t)
        if now_ms() < at:  # asked before its time (always, but on a machine stalled for 1.5 s)
            self.assertEqual((d["status"], d["start_time"], d["version"]), ("WAITING_FOR_START", str(at), 1))
        self.wait_for_status(srv, t, "STARTJOBING", limit=15.0)
        self.assertGreaterEqual(now_ms(), at, "the start fired before its time")
        d = self.one_detail(srv, t)
        self.assertEqual((d["status"], d["version"]), ("STARTJOBING", 2))
        self.assertNotIn("start_time", d)
        self.stop_ok(srv)

    def test_a_waiting_task_terminated_or_deleted_is_left_alone_when_its_time_comes(self):
        f = Fleet("sta5")
        terminated, deleted, forced = f.task("CONFIGURATION"), f.task("CONFIGURATION"), f.task("CONFIGURATION")
        srv = self.start_server(fleet=f)
        at = now_ms() + 1000
        ids = [terminated, deleted, forced]
        self.assertBatch(srv.start_jobs([{"job_id": i, "start_time": str(at)} for i in ids]),
                         [(i, None) for i in ids], 202)
        self.assertBatch(srv.delete_jobs([(terminated, "terminate"), (deleted, "delete"), (forced, "force_terminate")]),
                         [(i, None) for i in ids], 202)
        expected = {terminated: "RELEASE_RESOURCE_STARTED", deleted: "DELETED", forced: "RELEASE_RESOURCE_COMPLETE"}
        self.assertStatuses(srv, expected)
        for d in self.detail_of(srv, ids).values():
            self.assertNotIn("start_time", d)
        while now_ms() < at + 1500:
            time.sleep(0.1)
        self.assertStatuses(srv, expected)
        self.assertEqual(self.versions(srv, ids), {i: 2 for i in ids})
        self.stop_ok(srv)

    def test_a_fleet_start_time_already_past_fires_at_start_up(self):
        f = Fleet("sta6")
        past = f.task("WAITING_FOR_START", start_time=1000)
        future = f.task("WAITING_FOR_START")
        srv = self.start_server(fleet=f)
        self.wait_for_status(srv, past, "STARTJOBING")
        d = self.one_detail(srv, future)
        self.assertEqual((d["status"], d["start_time"]), ("WAITING_FOR_START", str(FAR_START_MS)))
        self.stop_ok(srv)

    def test_a_scheduled_start_survives_a_restart(self):
        f = Fleet("sta7")
        t = f.task("CONFIGURATION")
        keep = f.task("CONFIGURATION")
        srv = self.start_server(fleet=f, data_dir=self.data_dir())
        at = now_ms() + 4000
        self.assertBatch(srv.start_jobs([{"job_id": t, "start_time": str(at)}]), [(t, None)], 202)
        d = self.one_detail(srv, t)
        self.assertEqual((d["status"], d["start_time"], d["version"]), ("WAITING_FOR_START", str(at), 1))
        self.stop_ok(srv)
        srv.restart()
        self.assertIn(", recovered ", srv.registry_line())
        d = self.one_detail(srv, t)
        if now_ms() < at - 500:  # the restart took less than about 3.5 s (it takes well under 1 s)
            self.assertEqual((d["status"], d["start_time"], d["version"]), ("WAITING_FOR_START", str(at), 1))
        else:
            self.assertIn(d["status"], ("WAITING_FOR_START", "STARTJOBING"))
        self.wait_for_status(srv, t, "STARTJOBING", limit=15.0)
        self.assertGreaterEqual(now_ms(), at, "the start fired before its time")
        d = self.one_detail(srv, t)
        self.assertEqual((d["status"], d["version"]), ("STARTJOBING", 2))
        self.assertNotIn("start_time", d)
        self.assertEqual(self.one_detail(srv, keep)["status"], "CONFIGURATION")
        self.stop_ok(srv)
        # The fired start was stored too.
        srv.restart()
        d = self.one_detail(srv, t)
        self.assertEqual((d["status"], d["version"]), ("STARTJOBING", 2))
        self.stop_ok(srv)


# --------------------------------------------------------------------------------------------
# batch-jobs (DELETE)


class TerminateAndDeleteTests(LifecycleCase):

    def test_each_delete_type_and_the_answer_shape(self):
        f = Fleet("del1")
        plan = [  # (initial, delete_type, after)
            ("CONFIGURATION", "terminate", "RELEASE_RESOURCE_STARTED"),
            ("WAITING_FOR_START", "terminate", "RELEASE_RESOURCE_STARTED"),
            ("START_JOB_FAILED", "terminate", "RELEASE_RESOURCE_STARTED"),
            ("INCRE_TRANSFER_STARTED", "terminate", "RELEASE_RESOURCE_STARTED"),
            ("FULL_TRANSFER_FAILED", "terminate", "RELEASE_RESOURCE_STARTED"),
            ("PAUSING/target", "terminate", "RELEASE_RESOURCE_STARTED"),
            ("STARTJOBING", "force_terminate", "RELEASE_RESOURCE_COMPLETE"),
            ("FULL_TRANSFER_COMPLETE", "force_terminate", "RELEASE_RESOURCE_COMPLETE"),
            ("RELEASE_RESOURCE_STARTED", "force_terminate", "RELEASE_RESOURCE_COMPLETE"),
            ("PAUSING/all", "force_terminate", "RELEASE_RESOURCE_COMPLETE"),
            ("CONFIGURATION", "delete", "DELETED"),
            ("WAITING_FOR_START", "delete", "DELETED"),
            ("RELEASE_RESOURCE_COMPLETE", "delete", "DELETED"),
        ]
        ids = [add_task(f, initial) for initial, _, _ in plan]
        srv = self.start_server(fleet=f)
        r = srv.delete_jobs([(i, t) for i, (_, t, _) in zip(ids, plan)])
        self.assertEqual(r.status, 202, str(r))
        self.assertEqual(r.json, {"results": [{"id": i, "status": "success"} for i in ids], "count": len(ids)})
        got = self.detail_of(srv, ids)
        for i, (initial, kind, after) in zip(ids, plan):
            with self.subTest(initial=initial, delete_type=kind):
                self.assertEqual(got[i]["status"], after)
                self.assertEqual(got[i]["version"], 1)
                self.assertNotIn("pause_mode", got[i])
                self.assertNotIn("start_time", got[i])
                self.assertActions(got[i], OFFERS[after])
        self.stop_ok(srv)

    def test_refused_items_in_request_order(self):
        f = Fleet("del2")
        running = f.task("FULL_TRANSFER_STARTED")
        starting = f.task("STARTJOBING")
        stopping = f.task("RELEASE_RESOURCE_STARTED")
        stopped = f.task("RELEASE_RESOURCE_COMPLETE")
        paused = f.task("PAUSING", pause_mode="target", paused_from="INCRE_TRANSFER_STARTED")
        deleted = f.task("DELETED")
        config = f.task("CONFIGURATION")
        parent, fwd, bwd = f.family("CONFIGURATION", "STARTJOBING")
        other = f.task("CONFIGURATION", PROJECT_B)
        srv = self.start_server(fleet=f)
        plan = [
            (running, "delete", "DRS.M00304"),
            (UNKNOWN_ID, "terminate", "DRS.M05003"),
            (config, "terminate", None),
            (starting, "terminate", "DRS.M00304"),
            (stopping, "terminate", "DRS.M00304"),
            (other, "delete", "DRS.M05003"),
            (stopped, "terminate", "DRS.M00304"),
            (stopped, "force_terminate", "DRS.M00304"),
            (paused, "delete", "DRS.M00304"),
            (fwd, "force_terminate", "DRS.M00308"),
            (deleted, "delete", "DRS.M05004"),
            (parent, "terminate", "DRS.M00304"),  # the backward child is STARTJOBING: neither changes
            (bwd, "terminate", "DRS.M00308"),
        ]
        # One item per id (an id twice is M00301): split into two requests where ids repeat.
        first = [p for p in plan if p[:2] != (stopped, "force_terminate")]
        r = srv.delete_jobs([(i, t) for i, t, _ in first])
        self.assertBatch(r, [(i, c) for i, _, c in first], 202)
        self.assertBatch(srv.delete_jobs([(stopped, "force_terminate")]), [(stopped, "DRS.M00304")], 202)
        self.assertStatuses(srv, {running: "FULL_TRANSFER_STARTED", starting: "STARTJOBING",
                                  stopping: "RELEASE_RESOURCE_STARTED", stopped: "RELEASE_RESOURCE_COMPLETE",
                                  paused: "PAUSING", deleted: "DELETED", config: "RELEASE_RESOURCE_STARTED",
                                  parent: "CONFIGURATION", fwd: "CONFIGURATION", bwd: "STARTJOBING"})
        self.assertStatuses(srv, {other: "CONFIGURATION"}, token=TOKEN_B, project=PROJECT_B)
        self.assertEqual(self.versions(srv, [running, starting, stopping, stopped, paused, deleted, config, fwd, bwd]),
                         {running: 0, starting: 0, stopping: 0, stopped: 0, paused: 0, deleted: 0, config: 1,
                          fwd: 0, bwd: 0})
        d = self.one_detail(srv, paused)
        self.assertEqual((d["pause_mode"], d["paused_from"]), ("target", "INCRE_TRANSFER_STARTED"))
        # Every delete_type on a deleted task: M05004.
        for kind in ("terminate", "force_terminate", "delete"):
            self.assertBatch(srv.delete_jobs([(deleted, kind)]), [(deleted, "DRS.M05004")], 202)
        self.stop_ok(srv)

    def test_a_family_command_is_all_or_nothing(self):
        f = Fleet("del3")
        cases = [  # (forward, backward, delete_type, item error or None, forward after, backward after)
            ("CONFIGURATION", "STARTJOBING", "terminate", "DRS.M00304", "CONFIGURATION", "STARTJOBING"),
            ("STARTJOBING", "CONFIGURATION", "terminate", "DRS.M00304", "STARTJOBING", "CONFIGURATION"),
            ("CONFIGURATION", "STARTJOBING", "delete", "DRS.M00304", "CONFIGURATION", "STARTJOBING"),
            ("RELEASE_RESOURCE_COMPLETE", "INCRE_TRANSFER_STARTED", "delete", "DRS.M00304",
             "RELEASE_RESOURCE_COMPLETE", "INCRE_TRANSFER_STARTED"),
            ("RELEASE_RESOURCE_COMPLETE", "RELEASE_RESOURCE_STARTED", "force_terminate", "DRS.M00304",
             "RELEASE_RESOURCE_COMPLETE", "RELEASE_RESOURCE_STARTED"),
            ("RELEASE_RESOURCE_COMPLETE", "DELETED", "delete", "DRS.M05004", "RELEASE_RESOURCE_COMPLETE", "DELETED"),
            ("CONFIGURATION", "STARTJOBING", "force_terminate", None, "RELEASE_RESOURCE_COMPLETE",
             "RELEASE_RESOURCE_COMPLETE"),
            ("CONFIGURATION", "RELEASE_RESOURCE_COMPLETE", "delete", None, "DELETED", "DELETED"),
            ("PAUSING/all", "FULL_TRANSFER_FAILED", "terminate", None, "RELEASE_RESOURCE_STARTED",
             "RELEASE_RESOURCE_STARTED"),
        ]
        fams = [add_family(f, fw, bw) for fw, bw, *_ in cases]
        srv = self.start_server(fleet=f)
        r = srv.delete_jobs([(p, kind) for (p, _, _), (_, _, kind, *_) in zip(fams, cases)])
        self.assertBatch(r, [(p, code) for (p, _, _), (_, _, _, code, _, _) in zip(fams, cases)], 202)
        for (parent, fwd, bwd), (fw, bw, kind, code, fa, ba) in zip(fams, cases):
            with self.subTest(forward=fw, backward=bw, delete_type=kind):
                self.assertStatuses(srv, {fwd: fa, bwd: ba, parent: aggregate_status(fa, ba)})
                step = 0 if code else 1  # all or nothing: both children change, or neither
                self.assertEqual(self.versions(srv, [fwd, bwd]), {fwd: step, bwd: step})
        self.stop_ok(srv)

    def test_a_family_through_its_life(self):
        f = Fleet("fam1")
        parent, fwd, bwd = f.family("CONFIGURATION", "CONFIGURATION", name="dual-life")
        srv = self.start_server(fleet=f)
        fam = [parent, fwd, bwd]

        def state(p, fw, bw, vf, vb):
            self.assertStatuses(srv, {parent: p, fwd: fw, bwd: bw})
            got = self.detail_of(srv, fam)
            self.assertEqual((got[parent]["version"], got[fwd]["version"], got[bwd]["version"]), (0, vf, vb))
            self.assertEqual(got[parent]["children"], [got[fwd], got[bwd]])
            return got

        got = state("CONFIGURATION", "CONFIGURATION", "CONFIGURATION", 0, 0)
        self.assertActions(got[parent], {"TERMINATE", "DELETE", "FORCE_TERMINATE"})
        self.assertActions(got[fwd], {"START"})
        # The parent is not started: its children start one by one.
        self.assertBatch(srv.start_jobs([parent]), [(parent, "DRS.M00307")], 202)
        state("CONFIGURATION", "CONFIGURATION", "CONFIGURATION", 0, 0)
        self.assertBatch(srv.start_jobs([fwd]), [(fwd, None)], 202)
        state("STARTJOBING", "STARTJOBING", "CONFIGURATION", 1, 0)
        self.assertBatch(srv.start_jobs([bwd, parent]), [(bwd, None), (parent, "DRS.M00307")], 202)
        got = state("STARTJOBING", "STARTJOBING", "STARTJOBING", 1, 1)
        self.assertActions(got[parent], {"FORCE_TERMINATE"})
        self.assertActions(got[fwd], set())
        # A child takes no family command.
        for kind in ("terminate", "force_terminate", "delete"):
            self.assertBatch(srv.delete_jobs([(fwd, kind), (bwd, kind)]), [(fwd, "DRS.M00308"), (bwd, "DRS.M00308")], 202)
        # Terminate is not taken while STARTJOBING (docs/behaviour.md): neither child changes.
        self.assertBatch(srv.delete_jobs([(parent, "terminate")]), [(parent, "DRS.M00304")], 202)
        state("STARTJOBING", "STARTJOBING", "STARTJOBING", 1, 1)
        # Force terminate: both children at once.
        self.assertBatch(srv.delete_jobs([(parent, "force_terminate")]), [(parent, None)], 202)
        got = state("RELEASE_RESOURCE_COMPLETE", "RELEASE_RESOURCE_COMPLETE", "RELEASE_RESOURCE_COMPLETE", 2, 2)
        self.assertActions(got[parent], {"DELETE"})
        self.assertBatch(srv.delete_jobs([(bwd, "delete")]), [(bwd, "DRS.M00308")], 202)
        # Delete: both children, and the parent shows DELETED.
        self.assertBatch(srv.delete_jobs([(parent, "delete")]), [(parent, None)], 202)
        got = state("DELETED", "DELETED", "DELETED", 3, 3)
        self.assertActions(got[parent], set())
        # A deleted family: the parent answers M05004, a child still M00308 for family commands
        # and M05004 for its own.
        for kind in ("terminate", "force_terminate", "delete"):
            self.assertBatch(srv.delete_jobs([(parent, kind), (fwd, kind)]), [(parent, "DRS.M05004"), (fwd, "DRS.M00308")], 202)
        self.assertBatch(srv.start_jobs([fwd, parent]), [(fwd, "DRS.M05004"), (parent, "DRS.M00307")], 202)
        self.assertBatch(srv.retry([bwd]), [(bwd, "DRS.M05004")])
        state("DELETED", "DELETED", "DELETED", 3, 3)
        self.stop_ok(srv)

    def test_a_running_family_is_terminated_then_forced_then_deleted(self):
        f = Fleet("fam2")
        parent, fwd, bwd = f.family("INCRE_TRANSFER_STARTED", "FULL_TRANSFER_FAILED")
        srv = self.start_server(fleet=f)
        self.assertBatch(srv.delete_jobs([(parent, "delete")]), [(parent, "DRS.M00304")], 202)
        self.assertStatuses(srv, {parent: "FULL_TRANSFER_FAILED", fwd: "INCRE_TRANSFER_STARTED", bwd: "FULL_TRANSFER_FAILED"})
        self.assertBatch(srv.delete_jobs([(parent, "terminate")]), [(parent, None)], 202)
        self.assertStatuses(srv, {parent: "RELEASE_RESOURCE_STARTED", fwd: "RELEASE_RESOURCE_STARTED",
                                  bwd: "RELEASE_RESOURCE_STARTED"})
        self.assertActions(self.one_detail(srv, parent), {"FORCE_TERMINATE"})
        self.assertBatch(srv.delete_jobs([(parent, "terminate")]), [(parent, "DRS.M00304")], 202)
        self.assertBatch(srv.delete_jobs([(parent, "force_terminate")]), [(parent, None)], 202)
        self.assertStatuses(srv, {parent: "RELEASE_RESOURCE_COMPLETE", fwd: "RELEASE_RESOURCE_COMPLETE",
                                  bwd: "RELEASE_RESOURCE_COMPLETE"})
        self.assertBatch(srv.delete_jobs([(parent, "delete")]), [(parent, None)], 202)
        self.assertStatuses(srv, {parent: "DELETED", fwd: "DELETED", bwd: "DELETED"})
        self.assertEqual(self.versions(srv, [fwd, bwd]), {fwd: 3, bwd: 3})
        self.stop_ok(srv)


# --------------------------------------------------------------------------------------------
# The task list


def list_fleet() -> tuple[Fleet, dict[str, str], list[tuple[str, str, str]]]:
    f = Fleet("lst0")
    t = {
        "alpha": f.task("CONFIGURATION", kind="migration", name="alpha"),
        "alphabet": f.task("INCRE_TRANSFER_STARTED", kind="sync", name="alphabet"),
        "beta": f.task("INCRE_TRANSFER_STARTED", kind="migration", name="beta"),
        "gamma": f.task("PAUSING", kind="cloudDataGuard", name="gamma", pause_mode="all",
                        paused_from="FULL_TRANSFER_STARTED"),
        "delta": f.task("DELETED", kind="sync", name="delta"),
        "wait": f.task("WAITING_FOR_START", kind="migration", name="waiting alpha"),
        "fail": f.task("FULL_TRANSFER_FAILED", kind="cloudDataGuard", name="fail"),
    }
    for n in range(8):
        t[f"bulk{n}"] = f.task("INCRE_TRANSFER_STARTED" if n % 2 else "CONFIGURATION",
                               kind="sync" if n % 2 else "migration", name=f"bulk-{n}")
    fams = [
        f.family("FULL_TRANSFER_FAILED", "INCRE_TRANSFER_STARTED", name="family-alpha"),
        f.family("INCRE_TRANSFER_STARTED", "INCRE_TRANSFER_STARTED", name="family-two"),
    ]
    t["other"] = f.task("INCRE_TRANSFER_STARTED", PROJECT_B, kind="sync", name="alpha other")
    t["other2"] = f.task("CONFIGURATION", PROJECT_B, kind="migration", name="other")
    # Registered out of id order: the list sorts by id, whatever the fleet's order.
    f.jobs.reverse()
    return f, t, fams


class ListTests(LifecycleCase):
    """One server for the class; the list and detail only read."""

    srv: Server

    @classmethod
    def setUpClass(cls):
        cls.fleet, cls.t, cls.fams = list_fleet()
        cls.srv = Server(fleet=cls.fleet)
        cls.srv.start()
        t = cls.t
        cls.listed_a = sorted([v for k, v in t.items() if not k.startswith("other")] + [p for p, _, _ in cls.fams])
        cls.children = [c for _, fw, bw in cls.fams for c in (fw, bw)]

    @classmethod
    def tearDownClass(cls):
        stop_shared_server(cls.srv)

    def listing(self, body, total: int | None = None, **kw) -> list[dict]:
        r = self.srv.list_jobs(body, **kw)
        self.assertEqual(r.status, 200, str(r))
        self.assertTrue(r.header("content-type").startswith("application/json"))
        self.assertEqual(set(r.json), {"jobs", "total_record"}, str(r))
        if total is not None:
            self.assertEqual(r.json["total_record"], total, str(r)[:300])
        return r.json["jobs"]

    def ids_of(self, body, total: int | None = None, **kw) -> list[str]:
        return [j["id"] for j in self.listing(body, total, **kw)]

    def test_every_task_by_id_with_the_default_page_of_ten(self):
        everything = self.listed_a
        self.assertEqual(len(everything), 17)
        # An empty body counts as {}: the first page of ten, in id order.
        self.assertEqual(self.ids_of(None, total=17), everything[:10])
        self.assertEqual(self.ids_of({}, total=17), everything[:10])
        self.assertEqual(self.ids_of({"cur_page": 2}, total=17), everything[10:])
        self.assertEqual(self.ids_of({"cur_page": 0}, total=17), everything)
        self.assertEqual(self.ids_of({"cur_page": 0, "per_page": 3}, total=17), everything)
        self.assertEqual(self.ids_of({"per_page": 0}, total=17), everything)
        self.assertEqual(self.ids_of({"cur_page": 5, "per_page": 0}, total=17), everything)
        self.assertEqual(self.ids_of({"cur_page": 1, "per_page": 100}, total=17), everything)
        self.assertEqual(self.ids_of({"cur_page": 3, "per_page": 5}, total=17), everything[10:15])
        self.assertEqual(self.ids_of({"cur_page": 4, "per_page": 5}, total=17), everything[15:])
        self.assertEqual(self.ids_of({"cur_page": 5, "per_page": 5}, total=17), [])
        self.assertEqual(self.ids_of({"cur_page": 2 ** 63 - 1, "per_page": 100}, total=17), [])
        self.assertEqual(self.ids_of({"cur_page": None, "per_page": None, "status": None, "x": [1]}, total=17),
                         everything[:10])

    def test_the_order_is_stable(self):
        first = self.srv.list_jobs({"cur_page": 0})
        second = self.srv.list_jobs({"cur_page": 0})
        self.assertEqual(first.raw, second.raw)
        pages = [j for n in (1, 2, 3, 4) for j in self.ids_of({"cur_page": n, "per_page": 5})]
        self.assertEqual(pages, self.listed_a, "consecutive pages cover every task once")

    def test_each_job_is_the_detail_object(self):
        jobs = self.listing({"cur_page": 0}, total=17)
        detail = self.detail_of(self.srv, [j["id"] for j in jobs])
        for job in jobs:
            with self.subTest(id=job["id"]):
                self.assertEqual(job, detail[job["id"]])

    def test_children_are_nested_and_not_listed_on_their_own(self):
        jobs = {j["id"]: j for j in self.listing({"cur_page": 0}, total=17)}
        for parent, fwd, bwd in self.fams:
            self.assertEqual(jobs[parent]["multi_write"], True)
            self.assertEqual([c["id"] for c in jobs[parent]["children"]], [fwd, bwd])
            for c in jobs[parent]["children"]:
                self.assertEqual(c["parent_id"], parent)
                self.assertNotIn("children", c)
        for child in self.children:
            self.assertNotIn(child, jobs)
        for j in jobs.values():
            if j["id"] not in {p for p, _, _ in self.fams}:
                self.assertNotIn("children", j)
                self.assertNotIn("parent_id", j)
                self.assertEqual(j["multi_write"], False)
        # A child's id asked for by name: not listed on its own.
        self.assertEqual(self.ids_of({"name": self.fams[0][1]}, total=0), [])

    def test_status_filter(self):
        t = self.t
        fam_alpha, fam_two = self.fams[0][0], self.fams[1][0]
        cases = {
            "INCRE_TRANSFER_STARTED": sorted([t["alphabet"], t["beta"], t["bulk1"], t["bulk3"], t["bulk5"], t["bulk7"],
                                              fam_two]),
            # A parent by its aggregate: family-alpha's forward child failed.
            "FULL_TRANSFER_FAILED": sorted([t["fail"], fam_alpha]),
            "CONFIGURATION": sorted([t["alpha"], t["bulk0"], t["bulk2"], t["bulk4"], t["bulk6"]]),
            "PAUSING": [t["gamma"]],
            "DELETED": [t["delta"]],
            "WAITING_FOR_START": [t["wait"]],
            "STARTJOBING": [],
        }
        for status, ids in cases.items():
            with self.subTest(status=status):
                jobs = self.listing({"status": status, "cur_page": 0}, total=len(ids))
                self.assertEqual([j["id"] for j in jobs], ids)
                self.assertTrue(all(j["status"] == status for j in jobs))

    def test_db_use_type_filter(self):
        t = self.t
        fam = sorted(p for p, _, _ in self.fams)
        cases = {
            "migration": sorted([t["alpha"], t["beta"], t["wait"], t["bulk0"], t["bulk2"], t["bulk4"], t["bulk6"]]),
            "sync": sorted([t["alphabet"], t["delta"], t["bulk1"], t["bulk3"], t["bulk5"], t["bulk7"]]),
            "cloudDataGuard": sorted([t["gamma"], t["fail"]] + fam),
        }
        for kind, ids in cases.items():
            with self.subTest(db_use_type=kind):
                jobs = self.listing({"db_use_type": kind, "cur_page": 0}, total=len(ids))
                self.assertEqual([j["id"] for j in jobs], ids)
                self.assertTrue(all(j["db_use_type"] == kind for j in jobs))
        self.assertEqual(self.ids_of({"db_use_type": "cloudDataGuard", "status": "FULL_TRANSFER_FAILED"}, total=2),
                         sorted([t["fail"], self.fams[0][0]]))

    def test_name_filter_is_a_substring(self):
        t = self.t
        # Names holding "alpha": alpha, alphabet, waiting alpha, family-alpha; not the other
        # project's "alpha other".
        alpha = sorted([t["alpha"], t["alphabet"], t["wait"], self.fams[0][0]])
        self.assertEqual(self.ids_of({"name": "alpha", "cur_page": 0}, total=4), alpha)
        self.assertEqual(self.ids_of({"name": "alpha", "per_page": 2}, total=4), alpha[:2])
        self.assertEqual(self.ids_of({"name": "alpha", "per_page": 2, "cur_page": 2}, total=4), alpha[2:])
        self.assertEqual(self.ids_of({"name": "bulk-", "cur_page": 0}, total=8),
                         sorted(t[f"bulk{n}"] for n in range(8)))
        self.assertEqual(self.ids_of({"name": "bet", "db_use_type": "sync"}, total=1), [t["alphabet"]])
        self.assertEqual(self.ids_of({"name": "alpha", "status": "CONFIGURATION"}, total=1), [t["alpha"]])
        self.assertEqual(self.ids_of({"name": "no such name"}, total=0), [])
        self.assertEqual(self.ids_of({"name": "", "cur_page": 0}, total=17), self.listed_a, '"" matches every name')
        self.assertEqual(self.ids_of({"name": "x" * 255}, total=0), [])

    def test_name_as_comma_separated_ids(self):
        t = self.t
        fam_alpha = self.fams[0][0]
        asked = f" {t['beta']} ,{fam_alpha},{UNKNOWN_ID},  {t['alpha']}, {t['other']}"
        jobs = self.listing({"name": asked}, total=3)
        self.assertEqual([j["id"] for j in jobs], sorted([t["beta"], fam_alpha, t["alpha"]]),
                         "the known ids of the project, in id order (unknown and other-project ids skipped)")
        self.assertEqual(self.ids_of({"name": t["beta"]}, total=1), [t["beta"]])
        self.assertEqual(self.ids_of({"name": f"{t['beta']},{t['alpha']}", "status": "CONFIGURATION"}, total=1),
                         [t["alpha"]])
        hundred = ",".join([t["beta"]] + [f"{n:08x}-0000-0000-0000-000000000000" for n in range(99)])
        self.assertEqual(self.ids_of({"name": hundred}, total=1), [t["beta"]])

    def test_another_projects_tasks_are_not_listed(self):
        t = self.t
        for jobs in (self.listing({"cur_page": 0}), self.listing({"name": "other", "cur_page": 0})):
            self.assertNotIn(t["other"], [j["id"] for j in jobs])
            self.assertNotIn(t["other2"], [j["id"] for j in jobs])
        self.assertEqual(self.ids_of({"cur_page": 0}, total=2, token=TOKEN_B, project=PROJECT_B),
                         sorted([t["other"], t["other2"]]))
        self.assertEqual(self.ids_of({"name": t["alpha"]}, total=0, token=TOKEN_B, project=PROJECT_B), [])

    def test_rejections(self):
        before = self.srv.registry_view(self.fleet)
        c = self.t["alpha"]
        cases = [
            (b" ", "DRS.M00200"), (GARBAGE, "DRS.M00200"), (b"[]", "DRS.M00200"), (b"null", "DRS.M00200"),
            (b'"x"', "DRS.M00200"), (b'{"status":"PAUSING","status":"PAUSING"}', "DRS.M00200"), (b"{", "DRS.M00200"),
            ({"status": "PAUSEING"}, "DRS.M00202"), ({"status": "pausing"}, "DRS.M00202"), ({"status": ""}, "DRS.M00202"),
            ({"status": 8}, "DRS.M00202"), ({"status": ["PAUSING"]}, "DRS.M00202"),
            ({"db_use_type": "Migration"}, "DRS.M00202"), ({"db_use_type": ""}, "DRS.M00202"),
            ({"db_use_type": "clouddataguard"}, "DRS.M00202"), ({"name": 5}, "DRS.M00202"),
            ({"name": ["alpha"]}, "DRS.M00202"), ({"name": "x" * 256}, "DRS.M00202"),
            ({"name": ",".join(f"{n:08x}-0000-0000-0000-000000000000" for n in range(101))}, "DRS.M00202"),
            ({"cur_page": -1}, "DRS.M00202"), ({"cur_page": "1"}, "DRS.M00202"), ({"cur_page": 1.5}, "DRS.M00202"),
            ({"per_page": 101}, "DRS.M00202"), ({"per_page": -1}, "DRS.M00202"), ({"per_page": "10"}, "DRS.M00202"),
            ({"name": f"{c},{c}"}, "DRS.M00301"), ({"name": f"{c}, {UNKNOWN_ID} ,{c}"}, "DRS.M00301"),
            # The duplicate id is checked last, after every other field.
            ({"name": f"{c},{c}", "per_page": 101}, "DRS.M00202"),
        ]
        for body, code in cases:
            with self.subTest(body=body if isinstance(body, bytes) else json.dumps(body)[:100]):
                self.assertError(self.srv.list_jobs(body), 400, code)
        # The message names the field at fault, in the fixed order status, db_use_type, name,
        # cur_page, per_page, whatever the body's order.
        for body, code, field in (
            ({"per_page": 101, "status": "X"}, "DRS.M00202", "status"),
            ({"name": 1, "db_use_type": "x"}, "DRS.M00202", "db_use_type"),
            ({"per_page": -1, "name": 1}, "DRS.M00202", "name"),
            ({"per_page": 101, "cur_page": -1}, "DRS.M00202", "cur_page"),
            ({"per_page": 101}, "DRS.M00202", "per_page"),
            ({"name": f"{c},{c}"}, "DRS.M00301", "name"),
        ):
            with self.subTest(field=field):
                self.assertError(self.srv.list_jobs(body), 400, code, field)
        self.assertEqual(self.srv.registry_view(self.fleet), before)


# --------------------------------------------------------------------------------------------
# Whole-request refusals of the new endpoints


def rejection_fleet() -> tuple[Fleet, dict[str, str]]:
    f = Fleet("rej0")
    ids = {
        "config": f.task("CONFIGURATION"),
        "config2": f.task("CONFIGURATION"),
        "waiting": f.task("WAITING_FOR_START"),
        "running": f.task("INCRE_TRANSFER_STARTED"),
        "stopped": f.task("RELEASE_RESOURCE_COMPLETE"),
        "other": f.task("CONFIGURATION", PROJECT_B),
    }
    ids["parent"], ids["fwd"], ids["bwd"] = f.family("CONFIGURATION", "CONFIGURATION")
    return f, ids


class RejectionTests(LifecycleCase):
    """One server for the class; every request here must be refused whole (nothing applied)."""

    srv: Server

    @classmethod
    def setUpClass(cls):
        cls.fleet, cls.ids = rejection_fleet()
        cls.srv = Server(fleet=cls.fleet, tokens=[(TOKEN_A, PROJECT_A), (TOKEN_B, PROJECT_B),
                                                  (READER, f"{PROJECT_A}:reader"), (WORKER, f"{PROJECT_A}:worker")])
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        stop_shared_server(cls.srv)

    def send(self, action: str, body, **kw):
        if action == JOBS:
            return self.srv.delete_jobs([], body=body, **kw)
        return self.srv.post(action, body, **kw)

    def check(self, action: str, cases):
        for body, code, *field in cases:
            with self.subTest(action=action, body=body if isinstance(body, (bytes, str)) else json.dumps(body)[:200]):
                self.assertError(self.send(action, body), 400, code, field[0] if field else None)

    def common(self, ok_item) -> list:
        return [
            (b"", "DRS.M00200"), (b" ", "DRS.M00200"), (GARBAGE, "DRS.M00200"), (b"[]", "DRS.M00200"),
            (b"null", "DRS.M00200"), (b'{"jobs":[],"jobs":[]}', "DRS.M00200"), (b'{"jobs":[', "DRS.M00200"),
            ('{"jobs":[%s],"x":1,"x":2}' % json.dumps(ok_item), "DRS.M00200"),
            ({}, "DRS.M00201", "jobs"), ({"jobs": None}, "DRS.M00201", "jobs"), ({"jobs": []}, "DRS.M00201", "jobs"),
            ({"jobs": "x"}, "DRS.M00201", "jobs"), ({"jobs": {}}, "DRS.M00201", "jobs"),
        ]

    def test_batch_starting_rejections(self):
        c, c2, w = self.ids["config"], self.ids["config2"], self.ids["waiting"]
        ok = {"job_id": c}
        cases = self.common(ok) + [
            ({"jobs": [1]}, "DRS.M00201"), ({"jobs": [c]}, "DRS.M00201"), ({"jobs": [None]}, "DRS.M00201"),
            ({"jobs": [{}]}, "DRS.M00201"), ({"jobs": [ok, {}]}, "DRS.M00201"),
            ({"jobs": [{"start_time": "1"}]}, "DRS.M00201", "job_id"),
            ({"jobs": [{"job_id": None}]}, "DRS.M00201", "job_id"), ({"jobs": [{"job_id": ""}]}, "DRS.M00201", "job_id"),
            ({"jobs": [{"job_id": "", "start_time": "bad"}]}, "DRS.M00201", "job_id"),
            ({"jobs": [{"job_id": BAD_ID}]}, "DRS.M00202", "job_id"),
            ({"jobs": [{"job_id": 12}]}, "DRS.M00202", "job_id"),
            ({"jobs": [{"job_id": BAD_ID, "start_time": "bad"}]}, "DRS.M00202", "job_id"),
            ({"jobs": [ok, {"job_id": c2, "start_time": "x"}]}, "DRS.M00202", "start_time"),
        ] + [
            ({"jobs": [{"job_id": c, "start_time": bad}]}, "DRS.M00202", "start_time")
            for bad in (-1, 1.5, "12a", "-1", " 1", "1 ", "+1", "1e3", "0x10", 2 ** 64, 2 ** 63, str(2 ** 63), True,
                        False, [], {}, ["1"], "\u0661")
        ] + [
            ({"jobs": [ok, ok]}, "DRS.M00301", "job_id"),
            ({"jobs": [{"job_id": c, "start_time": "1"}, {"job_id": w}, {"job_id": c, "start_time": "2"}]},
             "DRS.M00301", "job_id"),
            ({"jobs": [ok, ok, {}]}, "DRS.M00301"),
            ({"jobs": [ok, {}, ok]}, "DRS.M00201"),
            ({"jobs": [ok, {"job_id": c2, "start_time": -5}, ok]}, "DRS.M00202"),
        ]
        self.check(STARTING, cases)
        self.assertUntouched(self.srv, self.fleet)

    def test_batch_jobs_rejections(self):
        c, s = self.ids["config"], self.ids["stopped"]
        ok = {"job_id": c, "delete_type": "delete"}
        cases = self.common(ok) + [
            ({"jobs": [1]}, "DRS.M00201"), ({"jobs": [c]}, "DRS.M00201"), ({"jobs": [{}]}, "DRS.M00201"),
            ({"jobs": [ok, {}]}, "DRS.M00201"),
            ({"jobs": [{"delete_type": "delete"}]}, "DRS.M00201", "job_id"),
            ({"jobs": [{"job_id": None, "delete_type": "delete"}]}, "DRS.M00201", "job_id"),
            ({"jobs": [{"job_id": c}]}, "DRS.M00201", "delete_type"),
            ({"jobs": [{"job_id": c, "delete_type": None}]}, "DRS.M00201", "delete_type"),
            ({"jobs": [{"job_id": c, "delete_type": ""}]}, "DRS.M00201", "delete_type"),
            ({"jobs": [{"job_id": BAD_ID, "delete_type": ""}]}, "DRS.M00201", "delete_type"),
            ({"jobs": [{"job_id": BAD_ID, "delete_type": "delete"}]}, "DRS.M00202", "job_id"),
            ({"jobs": [{"job_id": BAD_ID, "delete_type": "nope"}]}, "DRS.M00202", "job_id"),
        ] + [
            ({"jobs": [ok, {"job_id": s, "delete_type": bad}]}, "DRS.M00202", "delete_type")
            for bad in ("Terminate", "TERMINATE", "stop", "terminate ", "force-terminate", "remove", 1, True,
                        ["delete"], {"type": "delete"})
        ] + [
            ({"jobs": [ok, ok]}, "DRS.M00301", "job_id"),
            ({"jobs": [ok, {"job_id": s, "delete_type": "delete"}, {"job_id": c, "delete_type": "terminate"}]},
             "DRS.M00301", "job_id"),
            ({"jobs": [ok, {"job_id": s, "delete_type": "bad"}, ok]}, "DRS.M00202"),
        ]
        self.check(JOBS, cases)
        self.assertUntouched(self.srv, self.fleet)

    def test_batch_detail_rejections(self):
        c = self.ids["config"]
        cases = self.common(c) + [
            ({"jobs": [None]}, "DRS.M00201", "jobs"), ({"jobs": [c, ""]}, "DRS.M00201", "jobs"),
            ({"jobs": [1]}, "DRS.M00202", "jobs"), ({"jobs": [{"job_id": c}]}, "DRS.M00202", "jobs"),
            ({"jobs": [BAD_ID]}, "DRS.M00202", "jobs"), ({"jobs": [c, UNKNOWN_ID, c]}, "DRS.M00301", "jobs"),
            ({"jobs": [c, BAD_ID, c]}, "DRS.M00202"),
            ({"jobs": [c], "page_req": "x"}, "DRS.M00202", "page_req"),
            ({"jobs": [c], "page_req": {"cur_page": 0}}, "DRS.M00202", "cur_page"),
            ({"jobs": [c], "page_req": {"per_page": 101}}, "DRS.M00202", "per_page"),
            ({"jobs": [c], "page_req": {"per_page": "1"}}, "DRS.M00202", "per_page"),
        ]
        self.check(DETAIL, cases)
        self.assertUntouched(self.srv, self.fleet)

    def test_routes_methods_and_roles(self):
        c = self.ids["config"]
        start_body = {"jobs": [{"job_id": c}]}
        delete_body = {"jobs": [{"job_id": c, "delete_type": "delete"}]}
        # 405 with Allow, before the token.
        for method, action, allow in (("POST", JOBS, "DELETE"), ("GET", JOBS, "DELETE"), ("PUT", JOBS, "DELETE"),
                                      ("DELETE", STARTING, "POST"), ("GET", STARTING, "POST"),
                                      ("DELETE", DETAIL, "POST"), ("GET", DETAIL, "POST")):
            with self.subTest(method=method, action=action):
                r = self.srv.call(method, api_path(PROJECT_A, action), delete_body, token=None)
                self.assertError(r, 405, "TASKORCH.0405")
                self.assertEqual(r.header("allow"), allow)
        for method in ("GET", "DELETE", "PUT"):
            r = self.srv.call(method, LIST_PATH, {}, token=None)
            self.assertError(r, 405, "TASKORCH.0405")
            self.assertEqual(r.header("allow"), "POST")
        # 401 and 403 before the body.
        self.assertError(self.srv.post(STARTING, GARBAGE, token=None), 401, "APIGW.0301")
        self.assertError(self.srv.delete_jobs([], body=GARBAGE, token="nope"), 401, "APIGW.0301")
        self.assertError(self.srv.list_jobs(GARBAGE, token=None), 401, "APIGW.0301")
        self.assertError(self.srv.post(DETAIL, GARBAGE, token=TOKEN_B), 403, "DRS.M00261")
        self.assertError(self.srv.list_jobs(GARBAGE, token=TOKEN_B), 403, "DRS.M00261")
        self.assertError(self.srv.delete_jobs([], body=delete_body, token=TOKEN_A, project=PROJECT_B), 403, "DRS.M00261")
        # A reader or a worker may query, not command.
        for token, role in ((READER, "reader"), (WORKER, "worker")):
            with self.subTest(role=role):
                self.assertError(self.srv.post(STARTING, start_body, token=token), 403, "TASKORCH.0403", f"({role})")
                self.assertError(self.srv.delete_jobs([], body=delete_body, token=token), 403, "TASKORCH.0403",
                                 f"({role})")
                self.assertError(self.srv.post(STARTING, GARBAGE, token=token, content_type="text/plain"), 403,
                                 "TASKORCH.0403")
                r = self.srv.detail([c], token=token)
                self.assertEqual(r.status, 200, str(r))
                self.assertEqual(r.json["results"][0]["status"], "CONFIGURATION")
                self.assertEqual([j["id"] for j in self.srv.list_jobs({"name": c}, token=token).json["jobs"]], [c])
        # Content-Type before the body.
        self.assertError(self.srv.post(STARTING, start_body, content_type="text/plain"), 400, "DRS.M00202",
                         "Content-Type")
        self.assertError(self.srv.list_jobs({}, content_type="text/plain"), 400, "DRS.M00202", "Content-Type")
        self.assertUntouched(self.srv, self.fleet)

    def test_chinese_messages(self):
        c, r_id, parent, fwd = self.ids["config"], self.ids["running"], self.ids["parent"], self.ids["fwd"]
        # Per-item failures, in English and in Chinese (none of these items changes anything).
        for name, send, expected in (
            ("batch-starting", lambda lang: self.srv.start_jobs([r_id, parent, UNKNOWN_ID], lang=lang),
             [(r_id, "DRS.M00304"), (parent, "DRS.M00307"), (UNKNOWN_ID, "DRS.M05003")]),
            ("batch-jobs", lambda lang: self.srv.delete_jobs([(fwd, "delete"), (r_id, "delete"), (UNKNOWN_ID, "delete")],
                                                            lang=lang),
             [(fwd, "DRS.M00308"), (r_id, "DRS.M00304"), (UNKNOWN_ID, "DRS.M05003")]),
        ):
            with self.subTest(endpoint=name):
                en = self.assertBatch(send(None), expected, 202)
                zh = self.assertBatch(send("zh-cn"), expected, 202)
                for e, z in zip(en, zh):
                    self.assertTrue(e["error_msg"].isascii(), e)
                    self.assertRegex(z["error_msg"], CJK)
                    self.assertNotEqual(e["error_msg"], z["error_msg"])
                self.assertEqual(self.assertBatch(send("fr-fr"), expected, 202), en)
        zh = {"DRS.M00307": "只有子任务可以调用该接口。", "DRS.M00308": "只有父任务可以调用该接口。",
              "DRS.M05003": "任务信息未找到。"}
        got = self.srv.delete_jobs([(fwd, "terminate")], lang="ZH-CN").json["results"][0]
        self.assertEqual(got["error_msg"], zh["DRS.M00308"])
        got = self.srv.start_jobs([parent], lang="zh-cn").json["results"][0]
        self.assertEqual(got["error_msg"], zh["DRS.M00307"])
        # batch-detail: the item's error_msg.
        r = self.srv.detail([c, UNKNOWN_ID], lang="zh-cn")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["results"][1], {"id": UNKNOWN_ID, "error_code": "DRS.M05003",
                                                "error_msg": zh["DRS.M05003"]})
        r = self.srv.detail([UNKNOWN_ID], lang="zh-cn")
        self.assertEqual(r.status, 400, str(r))
        self.assertEqual(r.json["results"][0]["error_msg"], zh["DRS.M05003"])
        # The list has no items that fail: its whole-request refusal, in Chinese.
        en = self.assertError(self.srv.list_jobs({"status": "nope"}), 400, "DRS.M00202", "status")["error_msg"]
        zh_msg = self.assertError(self.srv.list_jobs({"status": "nope"}, lang="zh-cn"), 400, "DRS.M00202")["error_msg"]
        self.assertTrue(en.isascii())
        self.assertRegex(zh_msg, CJK)
        self.assertIn("status", zh_msg)
        self.assertUntouched(self.srv, self.fleet)


if __name__ == "__main__":
    unittest.main()
