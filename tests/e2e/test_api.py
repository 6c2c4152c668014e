"""End-to-end tests of the request-level rules of taskorch-server (docs/behaviour.md).

The DRS seed example, routing (404/405), authentication (401/403), Content-Type, the
whole-request rejections of the three batch endpoints (M00200/M00201/M00202/M00301), the
item-count and body-size limits (400/413), the order of those checks and X-Language.
"""

from __future__ import annotations

import json
import unittest

from e2e_support import (stop_shared_server, CJK, PAUSE, PROJECT_A, PROJECT_B, RETRY, SEED_JOB, STATUS, TOKEN_A, TOKEN_B,
                         E2ECase, Fleet, Server, api_path, connect, headers_only, read_response,
                         request_bytes)

SEED_REQUEST = ('{ "jobs" : [ { "job_id" : "8d0e8e36-a618-490d-8a46-8c61ac9jb502", '
                '"pause_mode" : "target" } ] }')
SEED_RESPONSE = ('{ "results" : [ { "id" : "8d0e8e36-a618-490d-8a46-8c61ac9jb502", '
                 '"status" : "success" } ], "count" : 1 }')

GARBAGE = b"\x00\xffthis is { not [ json"
BAD_ID = "8D0E8E36-A618-490D-8A46-8C61AC9JB502"  # uppercase: not the DRS shape
UNKNOWN_ID = "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"  # the DRS shape, not a hex UUID, unknown


class SeedExampleTest(E2ECase):
    """The DRS page's example request, against the built-in demo fleet."""

    def test_seed_example_request_gives_the_seed_example_response(self):
        srv = self.start_server(tokens=[(TOKEN_A, PROJECT_A)])
        self.assertEqual(srv.statuses([SEED_JOB]), {SEED_JOB: "FULL_TRANSFER_STARTED"})
        r = srv.call("POST", f"/v3/{PROJECT_A}/jobs/batch-pause-task", SEED_REQUEST.encode(),
                     token=TOKEN_A, content_type="application/json")
        self.assertEqual(r.status, 200, str(r))
        self.assertTrue(r.header("content-type").startswith("application/json"))
        # The same JSON document: same keys and values, no extra field, no repeated key.
        self.assertEqual(r.json, json.loads(SEED_RESPONSE))
        self.assertEqual(srv.statuses([SEED_JOB]), {SEED_JOB: "PAUSING"})
        # Idempotent: the same request again succeeds and changes nothing.
        again = srv.call("POST", f"/v3/{PROJECT_A}/jobs/batch-pause-task", SEED_REQUEST.encode(),
                         token=TOKEN_A, content_type="application/json")
        self.assertEqual(again.status, 200, str(again))
        self.assertEqual(again.json, json.loads(SEED_RESPONSE))
        self.assertEqual(srv.statuses([SEED_JOB]), {SEED_JOB: "PAUSING"})
        self.stop_ok(srv)


def standard_fleet() -> tuple[Fleet, dict[str, str]]:
    """A small fleet with a pausable canary per project (rejected requests must not touch it)."""
    fleet = Fleet("api0")
    ids = {
        "canary_a": fleet.task("INCRE_TRANSFER_STARTED", PROJECT_A),
        "canary_a2": fleet.task("FULL_TRANSFER_FAILED", PROJECT_A),
        "canary_b": fleet.task("INCRE_TRANSFER_STARTED", PROJECT_B),
        "paused_a": fleet.task("PAUSING", PROJECT_A, pause_mode="target", paused_from="FULL_TRANSFER_STARTED"),
    }
    return fleet, ids


class SharedServerCase(E2ECase):
    """One server for the class; its tests only send requests that must change nothing."""

    server_args: list[str] = []
    srv: Server

    @classmethod
    def setUpClass(cls):
        cls.fleet, cls.ids = standard_fleet()
        cls.srv = Server(fleet=cls.fleet, args=cls.server_args)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        stop_shared_server(cls.srv)

    def assertRegistryUntouched(self):
        self.assertEqual(self.srv.registry_view(self.fleet), self.fleet.initial)


class RoutingAndAuthTests(SharedServerCase):
    """404, 405, 401, 403, Content-Type and the order of these checks."""

    ACTIONS = (PAUSE, RETRY, STATUS)

    def test_unknown_paths_are_404_with_a_json_body_before_the_token(self):
        # (`/v3/{PROJECT_A}/jobs` is served now: the task list.)
        paths = ["/", "/v3", "/v3/", f"/v3/{PROJECT_A}", f"/v3/{PROJECT_A}/jobz",
                 f"/v3/{PROJECT_A}/jobs/", f"/v3/{PROJECT_A}/jobs/batch-pause",
                 f"/v3/{PROJECT_A}/jobs/batch-pause-task/", f"/v3/{PROJECT_A}/jobs/batch-pause-task/x",
                 f"/v2/{PROJECT_A}/jobs/batch-pause-task", f"/V3/{PROJECT_A}/jobs/batch-pause-task",
                 f"/v3//jobs/batch-pause-task", "/v3/jobs/batch-pause-task", "/metrics/", "/metricsx",
                 f"/v3/{PROJECT_A}/jobs/BATCH-PAUSE-TASK", "/favicon.ico"]
        for path in paths:
            for method in ("POST", "GET"):
                for token in (None, TOKEN_A, "nope"):
                    with self.subTest(path=path, method=method, token=token):
                        r = self.srv.call(method, path, GARBAGE if method == "POST" else None,
                                          token=token, content_type="text/plain")
                        self.assertError(r, 404, "TASKORCH.0404")
        self.assertRegistryUntouched()

    def test_wrong_method_is_405_with_allow_before_the_token(self):
        for action in self.ACTIONS:
            for method in ("GET", "PUT", "DELETE", "PATCH", "OPTIONS"):
                for token in (None, TOKEN_A, TOKEN_B):
                    with self.subTest(action=action, method=method, token=token):
                        r = self.srv.call(method, api_path(PROJECT_A, action), None, token=token)
                        self.assertError(r, 405, "TASKORCH.0405")
                        self.assertEqual(r.header("allow"), "POST")
        for method in ("POST", "PUT", "DELETE"):
            with self.subTest(path="/metrics", method=method):
                r = self.srv.call(method, "/metrics", GARBAGE, token=None)
                self.assertError(r, 405, "TASKORCH.0405")
                self.assertEqual(r.header("allow"), "GET, HEAD")
        self.assertRegistryUntouched()

    def test_missing_or_unknown_token_is_401_before_the_body(self):
        bad_tokens = [None, "", "nope", TOKEN_A + "x", TOKEN_A[:-1], TOKEN_A.upper(), " " + TOKEN_A + "x",
                      f"{TOKEN_A}:{PROJECT_A}", PROJECT_A]
        for action in self.ACTIONS:
            for token in bad_tokens:
                for body, ctype in ((GARBAGE, "text/plain"), (GARBAGE, "application/json"),
                                    (b'{"jobs":[{"job_id":"%s","pause_mode":"target"}]}'
                                     % self.ids["canary_a"].encode(), "application/json")):
                    with self.subTest(action=action, token=token, body=body[:20], ctype=ctype):
                        r = self.srv.post(action, body, token=token, content_type=ctype)
                        msg = self.assertError(r, 401, "APIGW.0301")["error_msg"]
                        self.assertTrue(msg.startswith("Incorrect IAM authentication information"), msg)
        # A token that is not the token's project's, on a malformed path: still 401 first.
        r = self.srv.post(PAUSE, GARBAGE, token="nope", project="not-a-project")
        self.assertError(r, 401, "APIGW.0301")
        self.assertRegistryUntouched()

    def test_401_is_answered_without_waiting_for_the_body(self):
        # Content-Length announces 100000 bytes that never come: the server must answer at once
        # (its read timeout is 10 s; a server reading the body first would cut us off instead).
        with connect(self.srv.port) as s:
            s.sendall(request_bytes("POST", api_path(PROJECT_A, PAUSE), b"{\"jobs\":",
                                    {"Content-Type": "application/json"}, content_length=100000))
            r = read_response(s)
        self.assertError(r, 401, "APIGW.0301")

    def test_other_projects_token_is_403(self):
        for action in self.ACTIONS:
            for token, project in ((TOKEN_B, PROJECT_A), (TOKEN_A, PROJECT_B)):
                with self.subTest(action=action, token=token, project=project):
                    # Project is checked before Content-Type and body.
                    r = self.srv.post(action, GARBAGE, token=token, project=project, content_type="text/plain")
                    self.assertError(r, 403, "DRS.M00261")
                    r = self.srv.post(action, {"jobs": [{"job_id": self.ids["canary_a"], "pause_mode": "all"}]},
                                      token=token, project=project)
                    self.assertError(r, 403, "DRS.M00261")
        self.assertRegistryUntouched()

    def test_malformed_path_project_is_403(self):
        projects = ["ABC", PROJECT_A.upper(), PROJECT_A[:-1], PROJECT_A + "0",
                    "054ba152-d480-d55b-2f5d-c0069e7ddef0", "g" * 32, "%30" + PROJECT_A[1:],
                    PROJECT_A[:16] + " " + PROJECT_A[17:], "0"]
        for action in self.ACTIONS:
            for project in projects:
                with self.subTest(action=action, project=project):
                    r = self.srv.call("POST", api_path(project, action).replace(" ", "%20"), GARBAGE,
                                      token=TOKEN_A, content_type="text/plain")
                    self.assertError(r, 403, "DRS.M00261")
        self.assertRegistryUntouched()

    def test_content_type_must_be_json(self):
        body = {"jobs": [{"job_id": self.ids["canary_a"], "pause_mode": "target"}]}
        for ctype in ("text/plain", "application/xml", "application/jsonp", "application/json-patch+json",
                      "multipart/form-data", "application/x-www-form-urlencoded", "text/json",
                      "json", "*/*", "application/*"):
            for action in self.ACTIONS:
                with self.subTest(ctype=ctype, action=action):
                    # Content-Type is checked before the body: garbage still gets M00202.
                    r = self.srv.post(action, GARBAGE, content_type=ctype)
                    self.assertError(r, 400, "DRS.M00202", "Content-Type")
                    r = self.srv.post(action, body, content_type=ctype)
                    self.assertError(r, 400, "DRS.M00202", "Content-Type")
        self.assertRegistryUntouched()

    def test_json_content_type_with_parameters_or_absent_is_accepted(self):
        ids = [self.ids["canary_a"], self.ids["paused_a"]]
        for ctype in ("application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8",
                      "application/json ; charset=utf-8", None):
            with self.subTest(ctype=ctype):
                r = self.srv.post(STATUS, {"jobs": ids}, content_type=ctype)
                self.assertEqual(r.status, 200, str(r))
                self.assertEqual(r.json["count"], 2)
                # A garbage body with an acceptable (or absent) type reaches the body check.
                r = self.srv.post(STATUS, GARBAGE, content_type=ctype)
                self.assertError(r, 400, "DRS.M00200")

    def test_order_of_checks_route_token_project_content_type_body(self):
        p = PROJECT_A
        cases = [
            # (method, path, token, content type, body) -> (status, code)
            (("GET", f"/v3/{p}/jobs/nope", None, "text/plain", GARBAGE), (404, "TASKORCH.0404")),
            (("GET", api_path(p, PAUSE), None, "text/plain", GARBAGE), (405, "TASKORCH.0405")),
            (("POST", api_path("BAD", PAUSE), None, "text/plain", GARBAGE), (401, "APIGW.0301")),
            (("POST", api_path("BAD", PAUSE), "nope", "text/plain", GARBAGE), (401, "APIGW.0301")),
            (("POST", api_path("BAD", PAUSE), TOKEN_A, "text/plain", GARBAGE), (403, "DRS.M00261")),
            (("POST", api_path(PROJECT_B, PAUSE), TOKEN_A, "text/plain", GARBAGE), (403, "DRS.M00261")),
            (("POST", api_path(p, PAUSE), TOKEN_A, "text/plain", GARBAGE), (400, "DRS.M00202")),
            (("POST", api_path(p, PAUSE), TOKEN_A, "application/json", GARBAGE), (400, "DRS.M00200")),
            (("POST", api_path(p, PAUSE), TOKEN_A, "application/json", b"{}"), (400, "DRS.M00201")),
        ]
        for (method, path, token, ctype, body), (status, code) in cases:
            with self.subTest(method=method, path=path, token=token, ctype=ctype):
                r = self.srv.call(method, path, body, token=token, content_type=ctype)
                self.assertError(r, status, code)
        self.assertRegistryUntouched()


class BodyValidationTests(SharedServerCase):
    """Whole-request rejections (HTTP 400, nothing applied) of the three batch endpoints."""

    def check(self, action: str, cases: list[tuple[object, str]]):
        for body, code in cases:
            with self.subTest(action=action, body=body if isinstance(body, (bytes, str)) else json.dumps(body)[:300]):
                r = self.srv.post(action, body)
                self.assertError(r, 400, code)

    def common_cases(self) -> list[tuple[object, str]]:
        c = self.ids["canary_a"]
        return [
            # Not JSON, or not an object: M00200.
            (b"", "DRS.M00200"),
            (b" ", "DRS.M00200"),
            (GARBAGE, "DRS.M00200"),
            (b"{", "DRS.M00200"),
            (b'{"jobs":[]', "DRS.M00200"),
            (b'{"jobs":[],}', "DRS.M00200"),
            (b"{'jobs':[]}", "DRS.M00200"),
            (b'{"jobs":[]} {}', "DRS.M00200"),
            (b"[]", "DRS.M00200"),
            (b'[{"jobs":[]}]', "DRS.M00200"),
            (b'"jobs"', "DRS.M00200"),
            (b"null", "DRS.M00200"),
            (b"42", "DRS.M00200"),
            (b"true", "DRS.M00200"),
            (b'{"jobs":[\xff]}', "DRS.M00200"),
            (b'{"jobs":["\xc3\x28"]}', "DRS.M00200"),  # invalid UTF-8
            # A repeated key anywhere: M00200.
            (b'{"jobs":[],"jobs":[]}', "DRS.M00200"),
            ('{"jobs":[{"job_id":"%s","pause_mode":"target"}],"jobs":[{"job_id":"%s","pause_mode":"target"}]}'
             % (c, c), "DRS.M00200"),
            ('{"jobs":[{"job_id":"%s","job_id":"%s","pause_mode":"target"}]}' % (c, c), "DRS.M00200"),
            ('{"jobs":[{"job_id":"%s","pause_mode":"target","x":{"a":1,"a":2}}]}' % c, "DRS.M00200"),
            ('{"x":1,"x":1,"jobs":[{"job_id":"%s","pause_mode":"target"}]}' % c, "DRS.M00200"),
            # jobs missing, not an array, or empty: M00201.
            ({}, "DRS.M00201"),
            ({"job": []}, "DRS.M00201"),
            ({"JOBS": [{"job_id": c, "pause_mode": "target"}]}, "DRS.M00201"),
            ({"jobs": None}, "DRS.M00201"),
            ({"jobs": []}, "DRS.M00201"),
            ({"jobs": {}}, "DRS.M00201"),
            ({"jobs": {"job_id": c, "pause_mode": "target"}}, "DRS.M00201"),
            ({"jobs": "x"}, "DRS.M00201"),
            ({"jobs": ""}, "DRS.M00201"),
            ({"jobs": 1}, "DRS.M00201"),
            ({"jobs": True}, "DRS.M00201"),
        ]

    def test_batch_pause_task_rejections(self):
        c, c2 = self.ids["canary_a"], self.ids["canary_a2"]
        ok = {"job_id": c, "pause_mode": "all"}
        cases = self.common_cases() + [
            # An item that is not an object, is {}, lacks or nulls or empties a field: M00201.
            ({"jobs": [1]}, "DRS.M00201"),
            ({"jobs": [c]}, "DRS.M00201"),
            ({"jobs": [None]}, "DRS.M00201"),
            ({"jobs": [[]]}, "DRS.M00201"),
            ({"jobs": [[c, "target"]]}, "DRS.M00201"),
            ({"jobs": [{}]}, "DRS.M00201"),
            ({"jobs": [ok, {}]}, "DRS.M00201"),
            ({"jobs": [{"pause_mode": "target"}]}, "DRS.M00201"),
            ({"jobs": [{"job_id": c}]}, "DRS.M00201"),
            ({"jobs": [{"job_id": None, "pause_mode": "target"}]}, "DRS.M00201"),
            ({"jobs": [{"job_id": "", "pause_mode": "target"}]}, "DRS.M00201"),
            ({"jobs": [{"job_id": c, "pause_mode": None}]}, "DRS.M00201"),
            ({"jobs": [{"job_id": c, "pause_mode": ""}]}, "DRS.M00201"),
            ({"jobs": [{"jobid": c, "pausemode": "target"}]}, "DRS.M00201"),
            # Within one item the M00201 checks of all fields come before the M00202 checks.
            ({"jobs": [{"job_id": BAD_ID, "pause_mode": ""}]}, "DRS.M00201"),
            ({"jobs": [{"job_id": 12, "pause_mode": None}]}, "DRS.M00201"),
            ({"jobs": [{"job_id": "", "pause_mode": "stop"}]}, "DRS.M00201"),
            # Wrong job_id shape or type: M00202.
            ({"jobs": [{"job_id": BAD_ID, "pause_mode": "target"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": c.upper(), "pause_mode": "target"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": c[:-1], "pause_mode": "target"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": c + "0", "pause_mode": "target"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": c.replace("-", ""), "pause_mode": "target"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": c.replace("-", "_"), "pause_mode": "target"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": " " + c[1:], "pause_mode": "target"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": "{" + c[1:-1] + "}", "pause_mode": "target"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": c[:8] + c[9:13] + "-" + c[8] + c[13:], "pause_mode": "target"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": "8d0e8e36-a618-490d-8a46-8c61ac9jb50\u00e9", "pause_mode": "target"}]},
             "DRS.M00202"),
            ({"jobs": [{"job_id": c[:-1] + "\u0000", "pause_mode": "target"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": 12345, "pause_mode": "target"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": True, "pause_mode": "target"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": [c], "pause_mode": "target"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": {"id": c}, "pause_mode": "target"}]}, "DRS.M00202"),
            # pause_mode other than the strings target / all: M00202.
            ({"jobs": [{"job_id": c, "pause_mode": "TARGET"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": c, "pause_mode": "All"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": c, "pause_mode": "stop"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": c, "pause_mode": "target "}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": c, "pause_mode": 1}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": c, "pause_mode": True}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": c, "pause_mode": ["target"]}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": c, "pause_mode": {"mode": "all"}}]}, "DRS.M00202"),
            # Duplicates: M00301, at the second occurrence; items are checked in request order.
            ({"jobs": [ok, ok]}, "DRS.M00301"),
            ({"jobs": [{"job_id": c, "pause_mode": "target"}, {"job_id": c, "pause_mode": "all"}]}, "DRS.M00301"),
            ({"jobs": [ok, {"job_id": c2, "pause_mode": "all"}, ok]}, "DRS.M00301"),
            ({"jobs": [ok, ok, {}]}, "DRS.M00301"),
            ({"jobs": [ok, ok, {"job_id": BAD_ID, "pause_mode": "target"}]}, "DRS.M00301"),
            ({"jobs": [ok, {}, ok]}, "DRS.M00201"),
            ({"jobs": [ok, {"job_id": BAD_ID, "pause_mode": "target"}, ok]}, "DRS.M00202"),
            ({"jobs": [{"job_id": BAD_ID, "pause_mode": "target"}, {}]}, "DRS.M00202"),
            ({"jobs": [{}, {"job_id": BAD_ID, "pause_mode": "target"}]}, "DRS.M00201"),
            ({"jobs": [ok, {"job_id": c2, "pause_mode": "bad"}]}, "DRS.M00202"),
        ]
        self.check(PAUSE, cases)
        self.assertRegistryUntouched()

    def test_batch_retry_task_rejections(self):
        p = self.ids["paused_a"]
        ok = {"job_id": p}
        cases = self.common_cases() + [
            ({"jobs": [1]}, "DRS.M00201"),
            ({"jobs": [p]}, "DRS.M00201"),
            ({"jobs": [None]}, "DRS.M00201"),
            ({"jobs": [{}]}, "DRS.M00201"),
            ({"jobs": [ok, {}]}, "DRS.M00201"),
            ({"jobs": [{"job_id": None}]}, "DRS.M00201"),
            ({"jobs": [{"job_id": ""}]}, "DRS.M00201"),
            ({"jobs": [{"is_sync_re_edit": True}]}, "DRS.M00201"),
            ({"jobs": [{"job_id": "", "is_sync_re_edit": "x"}]}, "DRS.M00201"),
            ({"jobs": [{"job_id": BAD_ID}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": 7}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": [p]}]}, "DRS.M00202"),
            # is_sync_re_edit: a boolean when present (null counts as absent).
            ({"jobs": [{"job_id": p, "is_sync_re_edit": "true"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": p, "is_sync_re_edit": ""}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": p, "is_sync_re_edit": 1}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": p, "is_sync_re_edit": 0}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": p, "is_sync_re_edit": []}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": p, "is_sync_re_edit": {}}]}, "DRS.M00202"),
            ({"jobs": [ok, {"job_id": self.ids["canary_a2"], "is_sync_re_edit": "no"}]}, "DRS.M00202"),
            ({"jobs": [ok, ok]}, "DRS.M00301"),
            ({"jobs": [{"job_id": p, "is_sync_re_edit": True}, {"job_id": p, "is_sync_re_edit": False}]},
             "DRS.M00301"),
            ({"jobs": [ok, {"job_id": p, "is_sync_re_edit": "x"}]}, "DRS.M00202"),
        ]
        self.check(RETRY, cases)
        self.assertRegistryUntouched()

    def test_batch_status_rejections(self):
        c = self.ids["canary_a"]
        cases = self.common_cases() + [
            ({"jobs": [None]}, "DRS.M00201"),
            ({"jobs": [""]}, "DRS.M00201"),
            ({"jobs": [c, None]}, "DRS.M00201"),
            ({"jobs": [c, ""]}, "DRS.M00201"),
            ({"jobs": [1]}, "DRS.M00202"),
            ({"jobs": [True]}, "DRS.M00202"),
            ({"jobs": [[c]]}, "DRS.M00202"),
            ({"jobs": [{"job_id": c}]}, "DRS.M00202"),
            ({"jobs": [{}]}, "DRS.M00202"),
            ({"jobs": [BAD_ID]}, "DRS.M00202"),
            ({"jobs": [c, c.upper()]}, "DRS.M00202"),
            ({"jobs": [c, c]}, "DRS.M00301"),
            ({"jobs": [c, UNKNOWN_ID, c]}, "DRS.M00301"),
            ({"jobs": [c, c, BAD_ID]}, "DRS.M00301"),
            ({"jobs": [c, BAD_ID, c]}, "DRS.M00202"),
            ({"jobs": [BAD_ID, None]}, "DRS.M00202"),
            ({"jobs": [None, BAD_ID]}, "DRS.M00201"),
            # page_req: cur_page >= 1, per_page 0..100, integers.
            ({"jobs": [c], "page_req": {"cur_page": 0}}, "DRS.M00202"),
            ({"jobs": [c], "page_req": {"cur_page": -1}}, "DRS.M00202"),
            ({"jobs": [c], "page_req": {"cur_page": "1"}}, "DRS.M00202"),
            ({"jobs": [c], "page_req": {"cur_page": 1.5}}, "DRS.M00202"),
            ({"jobs": [c], "page_req": {"cur_page": True}}, "DRS.M00202"),
            ({"jobs": [c], "page_req": {"per_page": 101}}, "DRS.M00202"),
            ({"jobs": [c], "page_req": {"per_page": -1}}, "DRS.M00202"),
            ({"jobs": [c], "page_req": {"per_page": "10"}}, "DRS.M00202"),
            ({"jobs": [c], "page_req": {"per_page": 10.5}}, "DRS.M00202"),
            ({"jobs": [c], "page_req": "1"}, "DRS.M00202"),
            ({"jobs": [c], "page_req": [1, 10]}, "DRS.M00202"),
            ({"jobs": [c], "page_req": 1}, "DRS.M00202"),
        ]
        self.check(STATUS, cases)
        self.assertRegistryUntouched()

    def test_nothing_is_applied_when_a_later_item_is_invalid(self):
        c, c2, p = self.ids["canary_a"], self.ids["canary_a2"], self.ids["paused_a"]
        for body, code in (
            ({"jobs": [{"job_id": c, "pause_mode": "all"}, {"job_id": c2, "pause_mode": "all"},
                       {"job_id": BAD_ID, "pause_mode": "all"}]}, "DRS.M00202"),
            ({"jobs": [{"job_id": c, "pause_mode": "all"}, {"job_id": c2, "pause_mode": "all"}, {}]}, "DRS.M00201"),
            ({"jobs": [{"job_id": c, "pause_mode": "all"}, {"job_id": c2, "pause_mode": "all"},
                       {"job_id": c, "pause_mode": "all"}]}, "DRS.M00301"),
        ):
            self.assertError(self.srv.post(PAUSE, body), 400, code)
        self.assertError(self.srv.post(RETRY, {"jobs": [{"job_id": p}, {"job_id": c2}, {"job_id": None}]}),
                         400, "DRS.M00201")
        self.assertRegistryUntouched()

    def test_unknown_fields_and_null_optionals_are_accepted(self):
        # Extra fields are ignored; the items still run (a no-op and unknown ids here).
        p = self.ids["paused_a"]
        r = self.srv.post(PAUSE, {"jobs": [{"job_id": p, "pause_mode": "target", "extra": {"a": [1, 2]},
                                            "is_sync_re_edit": "whatever"},
                                           {"job_id": UNKNOWN_ID, "pause_mode": "all", "job_ids": 1}],
                                  "page_req": "ignored", "x-extra": None})
        self.assertBatch(r, [(p, None), (UNKNOWN_ID, "DRS.M05003")])
        r = self.srv.post(RETRY, {"jobs": [{"job_id": UNKNOWN_ID, "is_sync_re_edit": None, "pause_mode": 5}],
                                  "other": True})
        self.assertBatch(r, [(UNKNOWN_ID, "DRS.M05003")])
        r = self.srv.post(STATUS, {"jobs": [p], "page_req": None, "extra": [1]})
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json, {"results": [{"id": p, "status": "PAUSING"}], "count": 1})
        r = self.srv.post(STATUS, {"jobs": [p], "page_req": {"cur_page": None, "per_page": None, "x": 1}})
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["count"], 1)
        self.assertRegistryUntouched()

    def test_non_hex_ids_of_the_drs_shape_are_valid_input(self):
        # Real DRS ids are not hex UUIDs (the seed's ends in 9jb502): unknown, not invalid.
        for jid in (UNKNOWN_ID, "8d0e8e36-a618-490d-8a46-8c61ac9jb503", "00000000-0000-0000-0000-000000000000"):
            with self.subTest(id=jid):
                self.assertBatch(self.srv.pause([(jid, "target")]), [(jid, "DRS.M05003")])
                self.assertBatch(self.srv.retry([jid]), [(jid, "DRS.M05003")])


class LimitTests(SharedServerCase):
    """--max-jobs 3 and --max-body 2048."""

    server_args = ["--max-jobs", "3", "--max-body", "2048"]

    def test_more_items_than_the_limit_is_400_naming_it(self):
        c, c2, p = self.ids["canary_a"], self.ids["canary_a2"], self.ids["paused_a"]
        four = [c, c2, p, UNKNOWN_ID]
        for action, body in (
            (PAUSE, {"jobs": [{"job_id": i, "pause_mode": "all"} for i in four]}),
            (RETRY, {"jobs": [{"job_id": i} for i in four]}),
            (STATUS, {"jobs": four}),
            # The limit is checked before the items.
            (PAUSE, {"jobs": [{}, {}, {}, {}]}),
            (PAUSE, {"jobs": [{"job_id": c, "pause_mode": "all"}] * 4}),
            (RETRY, {"jobs": [{"job_id": BAD_ID}] * 4}),
            (STATUS, {"jobs": [None, None, None, None]}),
            (STATUS, {"jobs": [c] * 4}),
        ):
            with self.subTest(action=action, body=json.dumps(body)[:120]):
                msg = self.assertError(self.srv.post(action, body), 400, "DRS.M00202")["error_msg"]
                self.assertRegex(msg, r"\b3\b", "the message names the limit")
                zh = self.assertError(self.srv.post(action, body, lang="zh-cn"), 400, "DRS.M00202")["error_msg"]
                self.assertRegex(zh, r"3")
        # The limit is enforced while the body is read: a document that breaks after the item
        # past the limit is refused for the limit; one that breaks before it is M00200, and an
        # empty list M00201.
        self.assertError(self.srv.post(STATUS, b'{"jobs":[1,2,3,4'), 400, "DRS.M00202")
        self.assertError(self.srv.post(STATUS, b'{"jobs":[1,2,3'), 400, "DRS.M00200")
        self.assertError(self.srv.post(STATUS, {"jobs": []}), 400, "DRS.M00201")
        self.assertRegistryUntouched()

    def test_the_limit_itself_is_accepted(self):
        r = self.srv.status([self.ids["canary_a"], self.ids["paused_a"], UNKNOWN_ID])
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["count"], 3)
        r = self.srv.retry([self.ids["canary_a"], UNKNOWN_ID, "00000000-0000-0000-0000-000000000000"])
        self.assertEqual(r.status, 200, str(r))
        self.assertRegistryUntouched()

    def padded_status(self, size: int) -> bytes:
        """A valid batch-status body of exactly `size` bytes."""
        head = '{"jobs":["%s"],"pad":"' % self.ids["canary_a"]
        body = head + "x" * (size - len(head) - 2) + '"}'
        assert len(body) == size
        return body.encode()

    def test_body_at_the_limit_is_accepted(self):
        r = self.srv.post(STATUS, self.padded_status(2048))
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json, {"results": [{"id": self.ids["canary_a"], "status": "INCRE_TRANSFER_STARTED"}],
                                  "count": 1})

    def test_body_over_the_limit_is_413_with_a_json_body(self):
        for size in (2049, 4000, 100000):
            with self.subTest(size=size):
                msg = self.assertError(self.srv.post(STATUS, self.padded_status(size)), 413, "DRS.M00202")
                self.assertIn("2048", msg["error_msg"])
        zh = self.assertError(self.srv.post(STATUS, self.padded_status(5000), lang="zh-cn"), 413, "DRS.M00202")
        self.assertRegex(zh["error_msg"], CJK)
        # A pause over the limit changes nothing.
        items = [{"job_id": self.ids["canary_a"], "pause_mode": "all", "pad": "y" * 3000}]
        self.assertError(self.srv.post(PAUSE, {"jobs": items}), 413, "DRS.M00202")
        self.assertRegistryUntouched()

    def test_413_is_answered_from_content_length_without_the_body(self):
        with connect(self.srv.port) as s:
            s.sendall(request_bytes("POST", api_path(PROJECT_A, STATUS), b"",
                                    {"Content-Type": "application/json", "X-Auth-Token": TOKEN_A},
                                    content_length=10_000_000))
            r = read_response(s)
        self.assertError(r, 413, "DRS.M00202")

    def test_chunked_body_over_the_limit_is_413(self):
        body = self.padded_status(6000)
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 1000]), body[i:i + 1000])
                          for i in range(0, len(body), 1000)) + b"0\r\n\r\n"
        head = (f"POST {api_path(PROJECT_A, STATUS)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"X-Auth-Token: {TOKEN_A}\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n").encode()
        with connect(self.srv.port) as s:
            s.sendall(head + chunks)
            r = read_response(s)
        self.assertError(r, 413, "DRS.M00202")
        # A small chunked body is fine.
        small = self.padded_status(500)
        with connect(self.srv.port) as s:
            s.sendall(head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(small), small))
            r = read_response(s)
        self.assertEqual(r.status, 200, str(r))

    def test_token_is_checked_before_the_body_size(self):
        big = self.padded_status(50000)
        self.assertError(self.srv.post(STATUS, big, token=None), 401, "APIGW.0301")
        self.assertError(self.srv.post(STATUS, big, token=TOKEN_B), 403, "DRS.M00261")
        self.assertError(self.srv.post(STATUS, big, content_type="text/plain"), 400, "DRS.M00202")
        self.assertError(self.srv.call("GET", api_path(PROJECT_A, STATUS), big, token=TOKEN_A), 405,
                         "TASKORCH.0405")


class LanguageTests(SharedServerCase):
    """X-Language: zh-cn gives Chinese messages for every error; anything else English."""

    def error_requests(self):
        """(name, function(lang) -> Response, status, code) for every error class."""
        c = self.ids["canary_a"]
        big = json.dumps({"jobs": [c], "pad": "x" * (1 << 20)}).encode()
        too_many = {"jobs": [f"{i:08x}-0000-0000-0000-{i:012x}" for i in range(10001)]}
        return [
            ("404", lambda l: self.srv.call("POST", "/v3/nope", GARBAGE, lang=l), 404, "TASKORCH.0404"),
            ("405", lambda l: self.srv.call("GET", api_path(PROJECT_A, PAUSE), lang=l), 405, "TASKORCH.0405"),
            ("401 missing", lambda l: self.srv.post(PAUSE, GARBAGE, token=None, lang=l), 401, "APIGW.0301"),
            ("401 unknown", lambda l: self.srv.post(PAUSE, GARBAGE, token="nope", lang=l), 401, "APIGW.0301"),
            ("403", lambda l: self.srv.post(PAUSE, GARBAGE, token=TOKEN_B, lang=l), 403, "DRS.M00261"),
            ("403 malformed", lambda l: self.srv.post(PAUSE, GARBAGE, project="x", lang=l), 403, "DRS.M00261"),
            ("content type", lambda l: self.srv.post(PAUSE, GARBAGE, content_type="text/plain", lang=l), 400,
             "DRS.M00202"),
            ("M00200", lambda l: self.srv.post(PAUSE, GARBAGE, lang=l), 400, "DRS.M00200"),
            ("M00201 jobs", lambda l: self.srv.post(PAUSE, {}, lang=l), 400, "DRS.M00201"),
            ("M00201 item", lambda l: self.srv.post(PAUSE, {"jobs": [{"job_id": c}]}, lang=l), 400, "DRS.M00201"),
            ("M00202 id", lambda l: self.srv.pause([(BAD_ID, "all")], lang=l), 400, "DRS.M00202"),
            ("M00202 mode", lambda l: self.srv.pause([(c, "stop")], lang=l), 400, "DRS.M00202"),
            ("M00202 re-edit", lambda l: self.srv.retry([{"job_id": c, "is_sync_re_edit": 1}], lang=l), 400,
             "DRS.M00202"),
            ("M00202 page", lambda l: self.srv.status([c], {"per_page": 1000}, lang=l), 400, "DRS.M00202"),
            ("M00301", lambda l: self.srv.status([c, c], lang=l), 400, "DRS.M00301"),
            ("M00202 limit", lambda l: self.srv.post(STATUS, too_many, lang=l), 400, "DRS.M00202"),
            ("413", lambda l: headers_only(self.srv.port, "POST", api_path(PROJECT_A, STATUS), len(big),
                                           {"X-Auth-Token": TOKEN_A, "Content-Type": "application/json",
                                            **({} if l is None else {"X-Language": l})}), 413, "DRS.M00202"),
        ]

    def test_every_request_error_in_chinese_and_english(self):
        for name, send, status, code in self.error_requests():
            with self.subTest(error=name):
                en = self.assertError(send(None), status, code)["error_msg"]
                zh = self.assertError(send("zh-cn"), status, code)["error_msg"]
                self.assertNotRegex(en, CJK, f"{name}: English message has CJK characters")
                self.assertTrue(en.isascii(), en)
                self.assertRegex(zh, CJK, f"{name}: no Chinese in {zh!r}")
                self.assertNotEqual(en, zh)
                for other in ("en-us", "EN-US", "fr-fr", "zh", "zh-tw", "zh-cn-x", "*", "", "zh_cn"):
                    self.assertEqual(self.assertError(send(other), status, code)["error_msg"], en,
                                     f"{name}: X-Language {other!r} must fall back to English")

    def test_item_errors_in_chinese(self):
        fleet_ids = [self.ids["paused_a"], UNKNOWN_ID, self.ids["canary_b"]]
        en = self.srv.retry(fleet_ids[1:])
        zh = self.srv.retry(fleet_ids[1:], lang="zh-cn")
        self.assertBatch(en, [(UNKNOWN_ID, "DRS.M05003"), (self.ids["canary_b"], "DRS.M05003")])
        self.assertBatch(zh, [(UNKNOWN_ID, "DRS.M05003"), (self.ids["canary_b"], "DRS.M05003")])
        for e, z in zip(en.json["results"], zh.json["results"]):
            self.assertTrue(e["error_msg"].isascii(), e)
            self.assertRegex(z["error_msg"], CJK)
        fr = self.srv.retry(fleet_ids[1:], lang="fr-fr")
        self.assertEqual(fr.json, en.json)
        # batch-status items: error_message, in the requested language.
        en = self.srv.status(fleet_ids)
        zh = self.srv.status(fleet_ids, lang="zh-cn")
        self.assertEqual(en.status, 200)
        self.assertEqual(zh.status, 200)
        self.assertEqual(zh.json["results"][0], {"id": self.ids["paused_a"], "status": "PAUSING"})
        for e, z in zip(en.json["results"][1:], zh.json["results"][1:]):
            self.assertEqual(set(e), {"id", "error_code", "error_message"})
            self.assertTrue(e["error_message"].isascii(), e)
            self.assertRegex(z["error_message"], CJK)
        self.assertRegistryUntouched()


if __name__ == "__main__":
    unittest.main()
