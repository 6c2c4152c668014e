"""End-to-end tests of what the batch endpoints do to tasks (docs/behaviour.md).

Per-item results of batch-pause-task and batch-retry-task (M00304, M00307, M05003, M05004),
request order and count, the token x path project x job owner matrix, dual-active families,
resume, batch-status items and page_req paging.
"""

from __future__ import annotations

import unittest

from e2e_support import (PAUSABLE, PAUSE, PROJECT_A, PROJECT_B, RESUME_FROM_PAUSE, RESUME_OF, RETRY, STATUS, TOKEN_A, TOKEN_B, E2ECase,
                         Fleet, aggregate_status)

UNKNOWN_ID = "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"
NOT_PAUSABLE = ["CONFIGURATION", "STARTJOBING", "START_JOB_FAILED", "RELEASE_RESOURCE_STARTED",
                "RELEASE_RESOURCE_COMPLETE"]
class PauseTests(E2ECase):

    def setUp(self):
        f = self.fleet = Fleet("pau0")
        self.pausable = {s: f.task(s, kind=k) for s, k in zip(PAUSABLE, ["migration", "sync", "cloudDataGuard"] * 2)}
        self.not_pausable = {s: f.task(s) for s in NOT_PAUSABLE}
        self.deleted = f.task("DELETED")
        self.paused_target = f.task("PAUSING", pause_mode="target", paused_from="INCRE_TRANSFER_STARTED")
        self.paused_all = f.task("PAUSING", pause_mode="all", paused_from="FULL_TRANSFER_FAILED")
        self.parent, self.fwd, self.bwd = f.family("INCRE_TRANSFER_STARTED", "INCRE_TRANSFER_STARTED")
        self.other = f.task("INCRE_TRANSFER_STARTED", PROJECT_B)
        self.other_deleted = f.task("DELETED", PROJECT_B)

    def test_pausable_states_become_pausing(self):
        srv = self.start_server(fleet=self.fleet)
        items = [(jid, "target" if n % 2 else "all") for n, jid in enumerate(self.pausable.values())]
        self.assertBatch(srv.pause(items), [(jid, None) for jid, _ in items])
        self.assertStatuses(srv, {jid: "PAUSING" for jid in self.pausable.values()})
        self.stop_ok(srv)

    def test_other_states_fail_with_M00304_and_stay(self):
        srv = self.start_server(fleet=self.fleet)
        for mode in ("target", "all"):
            ids = list(self.not_pausable.values())
            self.assertBatch(srv.pause([(i, mode) for i in ids]), [(i, "DRS.M00304") for i in ids])
        self.assertStatuses(srv, {jid: s for s, jid in self.not_pausable.items()})
        self.stop_ok(srv)

    def test_deleted_is_M05004_unknown_and_other_project_are_M05003(self):
        srv = self.start_server(fleet=self.fleet)
        items = [(self.deleted, "target"), (UNKNOWN_ID, "target"), (self.other, "all"), (self.other_deleted, "all")]
        self.assertBatch(srv.pause(items), [(self.deleted, "DRS.M05004"), (UNKNOWN_ID, "DRS.M05003"),
                                            (self.other, "DRS.M05003"), (self.other_deleted, "DRS.M05003")])
        self.assertStatuses(srv, {self.deleted: "DELETED"})
        self.assertStatuses(srv, {self.other: "INCRE_TRANSFER_STARTED", self.other_deleted: "DELETED"},
                            token=TOKEN_B, project=PROJECT_B)
        # The other project's own token sees them as they are.
        self.assertBatch(srv.pause([(self.other_deleted, "all")], token=TOKEN_B, project=PROJECT_B),
                         [(self.other_deleted, "DRS.M05004")])
        self.stop_ok(srv)

    def test_dual_active_parent_is_M00307(self):
        srv = self.start_server(fleet=self.fleet)
        for mode in ("target", "all"):
            self.assertBatch(srv.pause([(self.parent, mode)]), [(self.parent, "DRS.M00307")])
        self.assertStatuses(srv, {self.parent: "INCRE_TRANSFER_STARTED", self.fwd: "INCRE_TRANSFER_STARTED",
                                  self.bwd: "INCRE_TRANSFER_STARTED"})
        self.stop_ok(srv)

    def test_mixed_batch_keeps_request_order_and_counts_items(self):
        srv = self.start_server(fleet=self.fleet)
        p = self.pausable
        plan = [
            (p["INCRE_TRANSFER_FAILED"], "all", None),
            (UNKNOWN_ID, "target", "DRS.M05003"),
            (self.deleted, "all", "DRS.M05004"),
            (self.not_pausable["CONFIGURATION"], "target", "DRS.M00304"),
            (self.parent, "target", "DRS.M00307"),
            (self.fwd, "target", None),
            (self.other, "target", "DRS.M05003"),
            (self.paused_target, "target", None),
            (p["FULL_TRANSFER_STARTED"], "target", None),
            (self.not_pausable["RELEASE_RESOURCE_COMPLETE"], "all", "DRS.M00304"),
            (self.paused_all, "target", None),
        ]
        results = self.assertBatch(srv.pause([(i, m) for i, m, _ in plan]), [(i, c) for i, _, c in plan])
        self.assertEqual([r["id"] for r in results], [i for i, _, _ in plan])
        # Reversed, the results come reversed (order is the request's, not the registry's).
        rev = list(reversed(plan))
        self.assertBatch(srv.pause([(i, m) for i, m, _ in rev]), [(i, c) for i, _, c in rev])
        self.assertStatuses(srv, {p["INCRE_TRANSFER_FAILED"]: "PAUSING", self.fwd: "PAUSING",
                                  self.bwd: "INCRE_TRANSFER_STARTED", self.parent: "PAUSING",
                                  p["FULL_TRANSFER_STARTED"]: "PAUSING", p["FULL_TRANSFER_COMPLETE"]: "FULL_TRANSFER_COMPLETE"})
        self.stop_ok(srv)

    def journal_records(self, srv) -> float:
        return srv.metric_values()["taskorch_storage_journal_records_total"]

    def test_pausing_again_is_a_no_op_except_raising_the_mode(self):
        # On a data directory: every change is one journal record, so /metrics counts them.
        srv = self.start_server(fleet=self.fleet, data_dir=self.data_dir())
        t1, t2 = self.pausable["FULL_TRANSFER_STARTED"], self.pausable["INCRE_TRANSFER_FAILED"]
        self.assertBatch(srv.pause([(t1, "target"), (t2, "all")]), [(t1, None), (t2, None)])
        before = self.journal_records(srv)
        items = [(t1, "target"), (t2, "target"), (self.paused_target, "all"), (self.paused_all, "target")]
        self.assertBatch(srv.pause(items), [(i, None) for i, _ in items])
        self.assertEqual(self.journal_records(srv) - before, 1,
                         "only `all` after `target` (paused_target) is a change")
        # The origins were kept: a resume goes back to where each was paused from.
        ids = [t1, t2, self.paused_target, self.paused_all]
        self.assertBatch(srv.retry(ids), [(i, None) for i in ids])
        self.assertStatuses(srv, {t1: "FULL_TRANSFER_STARTED", t2: "INCRE_TRANSFER_STARTED",
                                  self.paused_target: "INCRE_TRANSFER_STARTED",
                                  self.paused_all: "FULL_TRANSFER_STARTED"})
        self.stop_ok(srv)

    def test_same_batch_twice_leaves_the_same_registry(self):
        batch = [(jid, "all") for jid in self.pausable.values()] + [
            (self.paused_target, "all"), (self.fwd, "target"), (self.parent, "all"), (UNKNOWN_ID, "all"),
            (self.deleted, "target"), (self.not_pausable["STARTJOBING"], "all")]
        srv = self.start_server(fleet=self.fleet, data_dir=self.data_dir())
        after = []
        for _ in (1, 2):
            r = srv.pause(batch)
            self.assertEqual(r.status, 200, str(r))
            after.append((r.json, srv.registry_view(self.fleet), self.journal_records(srv)))
        self.assertEqual(after[0][0], after[1][0], "the same per-item results")
        self.assertEqual(after[0][1], after[1][1], "applying the batch a second time changed a status")
        self.assertEqual(after[0][2], after[1][2], "applying the batch a second time changed the registry")
        self.stop_ok(srv)


class ResumeTests(E2ECase):

    def setUp(self):
        f = self.fleet = Fleet("res0")
        self.paused = {s: f.task("PAUSING", pause_mode="target" if n % 2 else "all", paused_from=s)
                       for n, s in enumerate(PAUSABLE)}
        self.resumable = {s: f.task(s) for s in RESUME_OF}
        self.refused = {s: f.task(s) for s in ("CONFIGURATION", "STARTJOBING", "RELEASE_RESOURCE_STARTED",
                                               "RELEASE_RESOURCE_COMPLETE")}
        self.deleted = f.task("DELETED")
        self.parent, self.fwd, self.bwd = f.family("PAUSING", "FULL_TRANSFER_FAILED",
                                                   forward_pause=("target", "INCRE_TRANSFER_STARTED"))
        self.other = f.task("PAUSING", PROJECT_B, pause_mode="all", paused_from="FULL_TRANSFER_STARTED")

    def test_paused_goes_back_to_the_state_it_left_and_failed_transfer_to_running(self):
        srv = self.start_server(fleet=self.fleet)
        ids = list(self.paused.values())
        self.assertBatch(srv.retry(ids), [(i, None) for i in ids])
        self.assertStatuses(srv, {self.paused[s]: RESUME_FROM_PAUSE[s] for s in PAUSABLE})
        self.stop_ok(srv)

    def test_failed_and_running_states(self):
        srv = self.start_server(fleet=self.fleet)
        ids = list(self.resumable.values())
        self.assertBatch(srv.retry(ids), [(i, None) for i in ids])
        self.assertStatuses(srv, {self.resumable[s]: RESUME_OF[s] for s in RESUME_OF})
        # Once more: running is success with no change; starting (was start failed) is M00304.
        self.assertBatch(srv.retry(ids), [(i, "DRS.M00304" if s == "START_JOB_FAILED" else None)
                                          for s, i in self.resumable.items()])
        self.assertStatuses(srv, {self.resumable[s]: RESUME_OF[s] for s in RESUME_OF})
        self.stop_ok(srv)

    def test_refusals(self):
        srv = self.start_server(fleet=self.fleet)
        plan = [(i, "DRS.M00304") for i in self.refused.values()] + [
            (self.deleted, "DRS.M05004"), (UNKNOWN_ID, "DRS.M05003"), (self.other, "DRS.M05003"),
            (self.parent, "DRS.M00307")]
        self.assertBatch(srv.retry([i for i, _ in plan]), plan)
        self.assertStatuses(srv, {**{i: s for s, i in self.refused.items()}, self.deleted: "DELETED",
                                  self.parent: "FULL_TRANSFER_FAILED", self.fwd: "PAUSING",
                                  self.bwd: "FULL_TRANSFER_FAILED"})
        self.assertStatuses(srv, {self.other: "PAUSING"}, token=TOKEN_B, project=PROJECT_B)
        self.stop_ok(srv)

    def test_children_resume_individually(self):
        srv = self.start_server(fleet=self.fleet)
        self.assertBatch(srv.retry([self.fwd]), [(self.fwd, None)])
        self.assertStatuses(srv, {self.fwd: "INCRE_TRANSFER_STARTED", self.bwd: "FULL_TRANSFER_FAILED",
                                  self.parent: "FULL_TRANSFER_FAILED"})
        self.assertBatch(srv.retry([self.bwd]), [(self.bwd, None)])
        self.assertStatuses(srv, {self.fwd: "INCRE_TRANSFER_STARTED", self.bwd: "FULL_TRANSFER_STARTED",
                                  self.parent: "INCRE_TRANSFER_STARTED"})
        self.stop_ok(srv)

    def test_pause_then_resume_round_trip(self):
        srv = self.start_server(fleet=self.fleet)
        running = [self.resumable[s] for s in ("FULL_TRANSFER_STARTED", "FULL_TRANSFER_COMPLETE",
                                               "INCRE_TRANSFER_STARTED")]
        for mode in ("target", "all"):
            self.assertBatch(srv.pause([(i, mode) for i in running]), [(i, None) for i in running])
            self.assertStatuses(srv, {i: "PAUSING" for i in running})
            self.assertBatch(srv.retry(running), [(i, None) for i in running])
            self.assertStatuses(srv, {i: s for i, s in zip(running, ("FULL_TRANSFER_STARTED",
                                                                     "FULL_TRANSFER_COMPLETE",
                                                                     "INCRE_TRANSFER_STARTED"))})
        self.stop_ok(srv)

    def test_is_sync_re_edit_is_validated_and_ignored(self):
        srv = self.start_server(fleet=self.fleet)
        # Invalid values refuse the whole request (nothing applied).
        for value in ("true", 1, 0, [], {}, "false"):
            with self.subTest(value=value):
                r = srv.retry([{"job_id": self.paused["FULL_TRANSFER_STARTED"]},
                               {"job_id": self.resumable["START_JOB_FAILED"], "is_sync_re_edit": value}])
                self.assertError(r, 400, "DRS.M00202")
        self.assertStatuses(srv, {self.paused["FULL_TRANSFER_STARTED"]: "PAUSING",
                                  self.resumable["START_JOB_FAILED"]: "START_JOB_FAILED"})
        # true, false and null are accepted and change nothing about what a resume does.
        jobs = [{"job_id": self.paused["FULL_TRANSFER_FAILED"], "is_sync_re_edit": True},
                {"job_id": self.paused["INCRE_TRANSFER_FAILED"], "is_sync_re_edit": False},
                {"job_id": self.resumable["START_JOB_FAILED"], "is_sync_re_edit": None},
                {"job_id": self.refused["CONFIGURATION"], "is_sync_re_edit": True},
                {"job_id": self.deleted, "is_sync_re_edit": False}]
        self.assertBatch(srv.retry(jobs), [(self.paused["FULL_TRANSFER_FAILED"], None),
                                           (self.paused["INCRE_TRANSFER_FAILED"], None),
                                           (self.resumable["START_JOB_FAILED"], None),
                                           (self.refused["CONFIGURATION"], "DRS.M00304"),
                                           (self.deleted, "DRS.M05004")])
        self.assertStatuses(srv, {self.paused["FULL_TRANSFER_FAILED"]: "FULL_TRANSFER_STARTED",
                                  self.paused["INCRE_TRANSFER_FAILED"]: "INCRE_TRANSFER_STARTED",
                                  self.resumable["START_JOB_FAILED"]: "STARTJOBING",
                                  self.refused["CONFIGURATION"]: "CONFIGURATION"})
        self.stop_ok(srv)


class FamilyTests(E2ECase):
    """Dual-active DR families: children pausable individually, parent refused, aggregate status."""

    COMBOS = [
        ("FULL_TRANSFER_STARTED", "INCRE_TRANSFER_STARTED", None, None),
        ("INCRE_TRANSFER_STARTED", "FULL_TRANSFER_COMPLETE", None, None),
        ("INCRE_TRANSFER_STARTED", "FULL_TRANSFER_FAILED", None, None),
        ("START_JOB_FAILED", "INCRE_TRANSFER_FAILED", None, None),
        ("FULL_TRANSFER_FAILED", "START_JOB_FAILED", None, None),
        ("PAUSING", "PAUSING", ("target", "INCRE_TRANSFER_STARTED"), ("all", "FULL_TRANSFER_FAILED")),
        ("PAUSING", "INCRE_TRANSFER_STARTED", ("all", "FULL_TRANSFER_STARTED"), None),
        ("INCRE_TRANSFER_STARTED", "PAUSING", None, ("target", "INCRE_TRANSFER_STARTED")),
        ("PAUSING", "START_JOB_FAILED", ("target", "INCRE_TRANSFER_STARTED"), None),
        ("CONFIGURATION", "STARTJOBING", None, None),
        ("RELEASE_RESOURCE_COMPLETE", "DELETED", None, None),
    ]

    def setUp(self):
        self.fleet = Fleet("fam0")
        self.families = [(self.fleet.family(f, b, forward_pause=fp, backward_pause=bp), f, b)
                         for f, b, fp, bp in self.COMBOS]
        self.other_family = self.fleet.family("INCRE_TRANSFER_STARTED", "INCRE_TRANSFER_STARTED", PROJECT_B)

    def test_parent_status_is_the_aggregate_of_its_children(self):
        srv = self.start_server(fleet=self.fleet)
        expected = {}
        for (parent, fwd, bwd), f, b in self.families:
            expected.update({parent: aggregate_status(f, b), fwd: f, bwd: b})
        self.assertStatuses(srv, expected)
        # A few spelled out, so that a mistake in aggregate_status cannot hide one in the server.
        parents = [p for (p, _, _), _, _ in self.families]
        self.assertEqual(srv.statuses(parents[:9]), dict(zip(parents[:9], [
            "FULL_TRANSFER_STARTED", "INCRE_TRANSFER_STARTED", "FULL_TRANSFER_FAILED", "START_JOB_FAILED",
            "FULL_TRANSFER_FAILED", "PAUSING", "PAUSING", "INCRE_TRANSFER_STARTED", "START_JOB_FAILED"])))
        self.stop_ok(srv)

    def test_parent_is_refused_whatever_its_children(self):
        srv = self.start_server(fleet=self.fleet)
        parents = [p for (p, _, _), _, _ in self.families]
        before = srv.statuses(self.fleet.ids(PROJECT_A))
        for mode in ("target", "all"):
            self.assertBatch(srv.pause([(p, mode) for p in parents]), [(p, "DRS.M00307") for p in parents])
        self.assertBatch(srv.retry(parents), [(p, "DRS.M00307") for p in parents])
        self.assertEqual(srv.statuses(self.fleet.ids(PROJECT_A)), before)
        # Another project's family is unknown, parent and children alike.
        other = list(self.other_family)
        self.assertBatch(srv.pause([(i, "all") for i in other]), [(i, "DRS.M05003") for i in other])
        self.assertStatuses(srv, {i: "INCRE_TRANSFER_STARTED" for i in other}, token=TOKEN_B, project=PROJECT_B)
        self.assertBatch(srv.pause([(other[0], "all")], token=TOKEN_B, project=PROJECT_B), [(other[0], "DRS.M00307")])
        self.stop_ok(srv)

    def test_children_pause_individually_and_the_parent_follows(self):
        srv = self.start_server(fleet=self.fleet)
        (parent, fwd, bwd), _, _ = self.families[0]  # forward FULL_TRANSFER_STARTED, backward INCRE_TRANSFER_STARTED
        self.assertBatch(srv.pause([(bwd, "target")]), [(bwd, None)])
        self.assertStatuses(srv, {parent: "FULL_TRANSFER_STARTED", fwd: "FULL_TRANSFER_STARTED", bwd: "PAUSING"})
        self.assertBatch(srv.pause([(fwd, "all")]), [(fwd, None)])
        self.assertStatuses(srv, {parent: "PAUSING", fwd: "PAUSING", bwd: "PAUSING"})
        self.assertBatch(srv.pause([(parent, "all")]), [(parent, "DRS.M00307")])
        self.assertBatch(srv.retry([bwd]), [(bwd, None)])
        self.assertStatuses(srv, {parent: "PAUSING", fwd: "PAUSING", bwd: "INCRE_TRANSFER_STARTED"})
        self.assertBatch(srv.retry([fwd]), [(fwd, None)])
        self.assertStatuses(srv, {parent: "FULL_TRANSFER_STARTED", fwd: "FULL_TRANSFER_STARTED",
                                  bwd: "INCRE_TRANSFER_STARTED"})
        # Forward child paused alone: the parent shows the forward child's status.
        (parent2, fwd2, bwd2), _, _ = self.families[1]
        self.assertBatch(srv.pause([(fwd2, "target"), (parent2, "target")]), [(fwd2, None), (parent2, "DRS.M00307")])
        self.assertStatuses(srv, {parent2: "PAUSING", fwd2: "PAUSING", bwd2: "FULL_TRANSFER_COMPLETE"})
        self.stop_ok(srv)


class MatrixTests(E2ECase):
    """Token project x path project x job owner: no cross-project change, ever."""

    def test_token_path_owner_matrix(self):
        fleet = Fleet("mat0")
        tokens = {PROJECT_A: TOKEN_A, PROJECT_B: TOKEN_B}
        combos = [(t, p, o) for t in (PROJECT_A, PROJECT_B) for p in (PROJECT_A, PROJECT_B) for o in (PROJECT_A, PROJECT_B)]
        pause_job = {c: fleet.task("INCRE_TRANSFER_STARTED", c[2]) for c in combos}
        retry_job = {c: fleet.task("PAUSING", c[2], pause_mode="all", paused_from="FULL_TRANSFER_STARTED")
                     for c in combos}
        srv = self.start_server(fleet=fleet)
        expected = dict(fleet.initial)
        for c in combos:
            token_project, path_project, owner = c
            with self.subTest(token=token_project, path=path_project, owner=owner):
                token = tokens[token_project]
                pr = srv.pause([(pause_job[c], "all")], token=token, project=path_project)
                rr = srv.retry([retry_job[c]], token=token, project=path_project)
                sr = srv.status([pause_job[c]], token=token, project=path_project)
                if token_project != path_project:
                    for r in (pr, rr, sr):
                        self.assertError(r, 403, "DRS.M00261")
                elif owner != path_project:
                    self.assertBatch(pr, [(pause_job[c], "DRS.M05003")])
                    self.assertBatch(rr, [(retry_job[c], "DRS.M05003")])
                    self.assertEqual(sr.json["results"][0]["error_code"], "DRS.M05003")
                else:
                    self.assertBatch(pr, [(pause_job[c], None)])
                    self.assertBatch(rr, [(retry_job[c], None)])
                    expected[pause_job[c]] = "PAUSING"
                    expected[retry_job[c]] = "FULL_TRANSFER_STARTED"
        self.assertEqual(srv.registry_view(fleet), expected)
        # Mixed batches with every job of both projects: only the token's own project's tasks move.
        for token_project, token in tokens.items():
            ids = list(pause_job.values()) + list(retry_job.values())
            r = srv.pause([(i, "target") for i in ids], token=token, project=token_project)
            self.assertBatch(r, [(i, None if fleet.owner[i] == token_project else "DRS.M05003") for i in ids])
            for i in ids:
                if fleet.owner[i] == token_project:
                    expected[i] = "PAUSING"
            self.assertEqual(srv.registry_view(fleet), expected)
        self.stop_ok(srv)


class StatusTests(E2ECase):

    def setUp(self):
        f = self.fleet = Fleet("sta0")
        self.by_status = {s: f.task(s, kind=k) for s, k in
                          zip(["CONFIGURATION", "STARTJOBING", "START_JOB_FAILED", "FULL_TRANSFER_STARTED",
                               "FULL_TRANSFER_COMPLETE", "INCRE_TRANSFER_STARTED", "FULL_TRANSFER_FAILED",
                               "INCRE_TRANSFER_FAILED", "RELEASE_RESOURCE_STARTED", "RELEASE_RESOURCE_COMPLETE",
                               "DELETED"], ["migration", "sync", "cloudDataGuard"] * 4)}
        self.by_status["PAUSING"] = f.task("PAUSING", pause_mode="all", paused_from="FULL_TRANSFER_COMPLETE")
        self.parent, self.fwd, self.bwd = f.family("INCRE_TRANSFER_FAILED", "PAUSING",
                                                   backward_pause=("target", "INCRE_TRANSFER_STARTED"))
        self.other = f.task("FULL_TRANSFER_STARTED", PROJECT_B)
        self.many = [f.task("INCRE_TRANSFER_STARTED") for _ in range(23)]

    def test_items_carry_status_or_error_code_and_error_message(self):
        srv = self.start_server(fleet=self.fleet)
        ids = list(self.by_status.values()) + [UNKNOWN_ID, self.parent, self.fwd, self.bwd, self.other]
        r = srv.status(ids)
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(set(r.json), {"results", "count"})
        self.assertEqual(r.json["count"], len(ids))
        results = r.json["results"]
        self.assertEqual([x["id"] for x in results], ids)
        expected_status = {i: s for s, i in self.by_status.items()}
        expected_status.update({self.parent: "INCRE_TRANSFER_FAILED", self.fwd: "INCRE_TRANSFER_FAILED",
                                self.bwd: "PAUSING"})
        for item in results:
            if item["id"] in expected_status:
                self.assertEqual(item, {"id": item["id"], "status": expected_status[item["id"]]})
            else:
                self.assertEqual(set(item), {"id", "error_code", "error_message"}, item)
                self.assertEqual(item["error_code"], "DRS.M05003")
                self.assertTrue(item["error_message"])
        self.stop_ok(srv)

    def test_page_req_paging(self):
        srv = self.start_server(fleet=self.fleet)
        ids = self.many[:10] + [UNKNOWN_ID] + self.many[10:]  # 24 ids
        n = len(ids)
        cases = [
            (None, ids),
            ({}, ids),
            ({"cur_page": 1}, ids),
            ({"per_page": 0}, ids),
            ({"cur_page": 3, "per_page": 0}, ids),
            ({"per_page": 5}, ids[:5]),
            ({"cur_page": 1, "per_page": 5}, ids[:5]),
            ({"cur_page": 2, "per_page": 5}, ids[5:10]),
            ({"cur_page": 3, "per_page": 5}, ids[10:15]),
            ({"cur_page": 5, "per_page": 5}, ids[20:24]),
            ({"cur_page": 6, "per_page": 5}, []),
            ({"cur_page": 1000, "per_page": 5}, []),
            ({"cur_page": 2 ** 62, "per_page": 100}, []),
            ({"cur_page": 2 ** 63 - 1, "per_page": 100}, []),
            ({"cur_page": 2 ** 63 - 1, "per_page": 1}, []),
            ({"cur_page": 1, "per_page": 100}, ids),
            ({"cur_page": 2, "per_page": 100}, []),
            ({"cur_page": 1, "per_page": 24}, ids),
            ({"cur_page": 2, "per_page": 24}, []),
            ({"cur_page": 2, "per_page": 23}, ids[23:]),
            ({"cur_page": 24, "per_page": 1}, ids[23:]),
            ({"cur_page": 11, "per_page": 1}, [UNKNOWN_ID]),
        ]
        for page_req, page in cases:
            with self.subTest(page_req=page_req):
                r = srv.status(ids, page_req)
                self.assertEqual(r.status, 200, str(r))
                self.assertEqual(r.json["count"], n, "count is the number of requested ids")
                self.assertEqual([x["id"] for x in r.json["results"]], page)
        self.stop_ok(srv)

    def test_status_changes_nothing(self):
        srv = self.start_server(fleet=self.fleet)
        for _ in range(3):
            self.assertEqual(srv.registry_view(self.fleet), self.fleet.initial)
        self.stop_ok(srv)


if __name__ == "__main__":
    unittest.main()
