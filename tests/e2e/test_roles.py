"""End-to-end tests of roles on tokens (`--token TOKEN:PROJECT_ID[:ROLE]`).

An operator (the default) may call commands, queries and the event stream; a worker worker
reports, queries and the event stream; a reader queries and the event stream only. Any other
call is `403 TASKORCH.0403`, checked after the token (401) and the project (403 DRS.M00261) and
before Content-Type and the body, so nothing is applied. The lifecycle routes (batch-starting,
batch-jobs, batch-detail, jobs) and the workers' routes (batch-report, batch-progress, both
served: test_worker_reports.py tests their handlers) are only checked for not being refused by
role, apart from one report a worker makes; every role may open the event stream (GET events,
200; test_event_stream.py tests the stream itself).
"""

from __future__ import annotations

import unittest

from e2e_support import (stop_shared_server, PAUSE, PROJECT_A, PROJECT_B, RETRY, STATUS, TOKEN_A, TOKEN_B, E2ECase, Fleet,
                         Server, api_path, connect, head_of, headers_only, read_response, read_until)

OPERATOR = "e2e-role-operator-5c0b8e1d"   # `:operator` given explicitly
WORKER = "e2e-role-worker-a93f2c70"
READER = "e2e-role-reader-17d4e6b2"
COLON_READER = "e2e:role:reader:4b1f"    # a token holding colons, with a role
READER_B = "e2e-role-reader-b-6e20d9c3"  # a reader of the neighbour project

GARBAGE = b"\x00\xffthis is { not [ json"

ROLE_CODE = "TASKORCH.0403"


def role_message(role: str, zh: bool = False) -> str:
    """The refusal's message, written from the issue (not read from the error table)."""
    return f"调用者的角色（{role}）无权调用该接口。" if zh else f"The caller's role ({role}) may not call this API."


def role_fleet() -> tuple[Fleet, dict[str, str]]:
    fleet = Fleet("role")
    ids = {
        # Refused calls must leave these as they are.
        "running": fleet.task("INCRE_TRANSFER_STARTED", PROJECT_A),
        "failed": fleet.task("FULL_TRANSFER_FAILED", PROJECT_A),
        "config": fleet.task("CONFIGURATION", PROJECT_A),
        "paused": fleet.task("PAUSING", PROJECT_A, pause_mode="target", paused_from="FULL_TRANSFER_STARTED"),
        "neighbour": fleet.task("INCRE_TRANSFER_STARTED", PROJECT_B),
        # Only the operator's allowed calls change these.
        "to_pause": fleet.task("FULL_TRANSFER_STARTED", PROJECT_A),
        "to_retry": fleet.task("INCRE_TRANSFER_FAILED", PROJECT_A),
        # Only the worker's allowed report changes this one.
        "to_report": fleet.task("STARTJOBING", PROJECT_A),
    }
    return fleet, ids


class RoleCase(E2ECase):
    """One server for the class, with a token of each role for project A."""

    srv: Server

    @classmethod
    def setUpClass(cls):
        cls.fleet, cls.ids = role_fleet()
        # e2e_support writes each pair as TOKEN:PROJECT; a role rides on the project field.
        cls.srv = Server(fleet=cls.fleet, tokens=[
            (TOKEN_A, PROJECT_A),                 # no role: operator
            (TOKEN_B, PROJECT_B),
            (OPERATOR, f"{PROJECT_A}:operator"),
            (WORKER, f"{PROJECT_A}:worker"),
            (READER, f"{PROJECT_A}:reader"),
            (COLON_READER, f"{PROJECT_A}:reader"),
            (READER_B, f"{PROJECT_B}:reader"),
        ])
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        stop_shared_server(cls.srv)

    # -- the calls, each with a body that would change the canaries if it were applied

    def calls(self) -> dict[str, tuple[str, str, dict]]:
        """name -> (method, action, body)."""
        i = self.ids
        return {
            "pause": ("POST", PAUSE, {"jobs": [{"job_id": i["running"], "pause_mode": "all"},
                                               {"job_id": i["failed"], "pause_mode": "target"}]}),
            "retry": ("POST", RETRY, {"jobs": [{"job_id": i["failed"]}, {"job_id": i["paused"]}]}),
            "starting": ("POST", "batch-starting", {"jobs": [{"job_id": i["config"]}]}),
            "batch-jobs": ("DELETE", "batch-jobs", {"jobs": [{"job_id": i["running"], "delete_type": "force_terminate"},
                                                             {"job_id": i["config"], "delete_type": "delete"}]}),
            "report": ("POST", "batch-report", {"jobs": [{"job_id": i["running"], "event": "transfer_failed",
                                                          "progress": 40, "incre_trans_delay": 5}]}),
            "status": ("POST", STATUS, {"jobs": [i["running"]]}),
            "detail": ("POST", "batch-detail", {"jobs": [i["running"]]}),
            "progress": ("POST", "batch-progress", {"jobs": [i["running"]]}),
            "list": ("POST", "", {"cur_page": 1, "per_page": 10}),
        }

    def send(self, name: str, token: str | None, project: str = PROJECT_A, **kw):
        method, action, body = self.calls()[name]
        path = api_path(project, action) if action else f"/v3/{project}/jobs"
        kw.setdefault("body", body)
        return self.srv.call(method, path, kw.pop("body"), token=token, **kw)

    def events_status(self, token: str, project: str = PROJECT_A) -> int:
        """The status of GET /v3/{project}/events (only the status line is read: an allowed
        call may start a stream that does not end)."""
        with connect(self.srv.port) as s:
            s.sendall(f"GET /v3/{project}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: {token}\r\n"
                      "Connection: close\r\n\r\n".encode("latin-1"))
            got = read_until(s, b"\r\n", 30.0)
        status = head_of(got)
        self.assertIsNotNone(status, f"no status line: {got[:200]!r}")
        return status

    def assertRoleRefused(self, r, role: str, zh: bool = False):
        self.assertError(r, 403, ROLE_CODE)
        self.assertEqual(r.json["error_msg"], role_message(role, zh), str(r))

    def assertNotRoleRefused(self, r):
        if r.status == 403:
            self.assertNotEqual(r.json.get("error_code"), ROLE_CODE, str(r))
        self.assertNotEqual(r.status, 403, str(r))

    def assertRegistryUntouched(self):
        view = self.srv.registry_view(self.fleet)
        for key in ("running", "failed", "config", "paused", "neighbour"):
            i = self.ids[key]
            self.assertEqual(view[i], self.fleet.initial[i], key)


class RoleMatrixTests(RoleCase):

    MATRIX = {
        # role: (its tokens, the calls it is refused)
        "reader": ((READER, COLON_READER), ("pause", "retry", "starting", "batch-jobs", "report")),
        "worker": ((WORKER,), ("pause", "retry", "starting", "batch-jobs")),
        "operator": ((TOKEN_A, OPERATOR), ("report",)),
    }

    def test_calls_outside_the_role_are_403_in_english_and_chinese_and_change_nothing(self):
        for role, (tokens, refused) in self.MATRIX.items():
            for token in tokens:
                for name in refused:
                    with self.subTest(role=role, token=token, call=name):
                        self.assertRoleRefused(self.send(name, token), role)
                        self.assertRoleRefused(self.send(name, token, lang="zh-cn"), role, zh=True)
                        self.assertRoleRefused(self.send(name, token, lang="ZH-CN"), role, zh=True)
        self.assertRegistryUntouched()

    def test_calls_within_the_role_are_not_refused_by_role(self):
        everything = set(self.calls())
        for role, (tokens, refused) in self.MATRIX.items():
            allowed = sorted(everything - set(refused) - {"pause", "retry"})  # commands: see below
            for token in tokens:
                for name in allowed:
                    with self.subTest(role=role, token=token, call=name):
                        r = self.send(name, token, body={"jobs": []} if name != "list" else {})
                        self.assertNotRoleRefused(r)
                with self.subTest(role=role, token=token, call="events"):
                    # Every role may follow the stream.
                    self.assertEqual(self.events_status(token), 200)

    def test_queries_succeed_for_every_role(self):
        running = self.ids["running"]
        for token in (TOKEN_A, OPERATOR, WORKER, READER, COLON_READER):
            with self.subTest(token=token):
                r = self.srv.status([running], token=token)
                self.assertEqual(r.status, 200, str(r))
                self.assertEqual(r.json["results"], [{"id": running, "status": "INCRE_TRANSFER_STARTED"}])

    def test_a_worker_reports(self):
        to_report = self.ids["to_report"]
        r = self.send("report", WORKER, body={"jobs": [{"job_id": to_report, "event": "start_succeeded"}]})
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json, {"results": [{"id": to_report, "status": "success"}], "count": 1})
        self.assertEqual(self.srv.statuses([to_report]), {to_report: "FULL_TRANSFER_STARTED"})
        # batch-progress: a query, answered for every role (no figures were reported).
        for token in (TOKEN_A, OPERATOR, WORKER, READER, COLON_READER):
            with self.subTest(token=token):
                r = self.send("progress", token, body={"jobs": [to_report]})
                self.assertEqual(r.status, 200, str(r))
                item = r.json["results"][0]
                self.assertEqual(set(item), {"job_id", "transfer_status", "process_time"}, str(r))
                self.assertEqual(item["transfer_status"], "FULL_TRANSFER_STARTED", str(r))
        self.assertRegistryUntouched()

    def test_an_operator_pauses_and_resumes(self):
        to_pause, to_retry = self.ids["to_pause"], self.ids["to_retry"]
        for token in (TOKEN_A, OPERATOR):
            with self.subTest(token=token):
                r = self.srv.pause([(to_pause, "target")], token=token)
                self.assertEqual(r.status, 200, str(r))
                self.assertEqual(r.json["results"], [{"id": to_pause, "status": "success"}])
                self.assertEqual(self.srv.statuses([to_pause]), {to_pause: "PAUSING"})
                r = self.srv.retry([to_pause], token=token)
                self.assertEqual(r.status, 200, str(r))
                self.assertEqual(r.json["results"], [{"id": to_pause, "status": "success"}])
                self.assertEqual(self.srv.statuses([to_pause]), {to_pause: "FULL_TRANSFER_STARTED"})
        r = self.srv.retry([to_retry], token=OPERATOR)
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(self.srv.statuses([to_retry]), {to_retry: "INCRE_TRANSFER_STARTED"})
        self.assertRegistryUntouched()


class RoleOrderTests(RoleCase):
    """The role is checked after the token and the project, before Content-Type and the body."""

    def test_a_bad_token_is_401_not_the_role_refusal(self):
        for name in ("pause", "report", "batch-jobs"):
            for token in (None, "nope", READER + "x", "reader", f"{READER}:{PROJECT_A}"):
                with self.subTest(call=name, token=token):
                    self.assertError(self.send(name, token), 401, "APIGW.0301")

    def test_a_repeated_reader_token_is_401(self):
        path = api_path(PROJECT_A, PAUSE)
        body = b'{"jobs":[]}'
        with connect(self.srv.port) as s:
            s.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: {READER}\r\n"
                       f"X-Auth-Token: {READER}\r\nContent-Type: application/json\r\n"
                       f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode("latin-1") + body)
            r = read_response(s)
        self.assertError(r, 401, "APIGW.0301")

    def test_another_project_is_403_m00261_not_the_role_refusal(self):
        for name, token, project in (("pause", READER, PROJECT_B), ("report", TOKEN_A, PROJECT_B),
                                     ("batch-jobs", WORKER, PROJECT_B), ("starting", READER_B, PROJECT_A),
                                     ("pause", READER, "not-a-project")):
            for lang in (None, "zh-cn"):
                with self.subTest(call=name, token=token, project=project, lang=lang):
                    self.assertError(self.send(name, token, project=project, lang=lang), 403, "DRS.M00261")
        self.assertRegistryUntouched()

    def test_the_role_comes_before_content_type_and_the_body(self):
        for name, token, role in (("pause", READER, "reader"), ("batch-jobs", WORKER, "worker"),
                                  ("report", OPERATOR, "operator"), ("starting", READER, "reader")):
            with self.subTest(call=name, token=token, what="invalid body"):
                self.assertRoleRefused(self.send(name, token, body=GARBAGE), role)
            with self.subTest(call=name, token=token, what="empty jobs"):
                self.assertRoleRefused(self.send(name, token, body={"jobs": []}), role)
            with self.subTest(call=name, token=token, what="Content-Type text/plain"):
                self.assertRoleRefused(self.send(name, token, body=GARBAGE, content_type="text/plain"), role)
            with self.subTest(call=name, token=token, what="Content-Length over --max-body, no body sent"):
                method, action, _ = self.calls()[name]
                r = headers_only(self.srv.port, method, api_path(PROJECT_A, action), 1 << 30,
                                 {"X-Auth-Token": token, "Content-Type": "application/json"})
                self.assertRoleRefused(r, role)
        # The same bodies are refused for what they are when the role allows the call.
        self.assertError(self.send("pause", TOKEN_A, body=GARBAGE), 400, "DRS.M00200")
        self.assertError(self.send("status", READER, body=GARBAGE, content_type="text/plain"), 400, "DRS.M00202")
        self.assertRegistryUntouched()

    def test_the_route_and_method_come_before_the_role(self):
        r = self.srv.call("GET", api_path(PROJECT_A, PAUSE), None, token=READER)
        self.assertError(r, 405, "TASKORCH.0405")
        r = self.srv.call("POST", api_path(PROJECT_A, "batch-jobs"), {"jobs": []}, token=READER)
        self.assertError(r, 405, "TASKORCH.0405")
        self.assertEqual(r.header("allow"), "DELETE")
        r = self.srv.call("POST", f"/v3/{PROJECT_A}/jobs/batch-nothing", {"jobs": []}, token=READER)
        self.assertError(r, 404, "TASKORCH.0404")

    def test_metrics_need_no_token(self):
        self.assertEqual(self.srv.call("GET", "/metrics", None, token=READER).status, 200)
        self.assertEqual(self.srv.call("GET", "/metrics").status, 200)


if __name__ == "__main__":
    unittest.main()
