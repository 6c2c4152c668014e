"""End-to-end tests of AK/SK request signing with Huawei Cloud's official SDK.

The client is the real `@huaweicloud/huaweicloud-sdk-core` (pinned by sdk/package-lock.json,
installed by the ctest fixture e2e-sdk-install): sdk/pause_with_sdk.js builds an HcClient with
BasicCredentials(AK, SK, project) as a generated DRS client does, and sends one request, signed
by the SDK's own AKSKSigner (SDK-HMAC-SHA256 over the method, path, query string, the headers it
signs and the body's SHA-256). The server is started with `--credential AK:SK:PROJECT_ID[:ROLE]`.

What is checked: the seed's pause is answered exactly as the seed document prints it; retry,
status, the lifecycle's batch-starting and batch-detail and the task list answer as they do for a
token (the SDK's HTTP client asks for `Accept-Encoding: gzip, compress, deflate, br` each time:
the answers come uncompressed, which it reads); a signed query string (GET events?since=) is
verified; and every refusal (an unknown AK, a wrong SK, the body or a signed header changed after
signing, a signed header removed, an X-Sdk-Date outside the window, X-Project-Id or the key's
project not the path's, a token and a signature together, a reader's key on a command) is
answered 401 (or 403) with its code and message, in English and Chinese, and changes nothing. Secret keys appear in no output of
the server.

Run by hand (after `npm ci` in a copy of tests/e2e/sdk):
  TASKORCH_SERVER=... TASKORCH_SDK_CLIENT=/copy/pause_with_sdk.js python3 -m unittest -v test_sdk_signing
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import unittest

from e2e_support import (PAUSE, PROJECT_A, PROJECT_B, RETRY, SEED_JOB, STATUS, TOKEN_A, E2ECase, Fleet,
                         Server, api_path)

NODE = os.environ.get("TASKORCH_NODE", "node")
SDK_CLIENT = os.environ.get("TASKORCH_SDK_CLIENT", "")

AK = "HPUAE2EOPERATOR7Q2ZK1"
SK = "e2eOperatorSecretKey0123456789abcdefghij"
READER_AK = "HPUAE2EREADER0000001"
READER_SK = "e2eReaderSecretKey0123456789abcdefghijkl"
AK_B = "HPUAE2EPROJECTB00001"
SK_B = "e2eProjectBSecretKey0123456789abcdefghij"
SECRETS = (SK, READER_SK, SK_B)

SEED_PAUSE = {"jobs": [{"job_id": SEED_JOB, "pause_mode": "target"}]}
# The seed document's example response, byte for byte.
SEED_ANSWER = '{"results":[{"id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","status":"success"}],"count":1}'

GATEWAY = "APIGW.0301"
PREFIX_EN = "Incorrect IAM authentication information: "
PREFIX_ZH = "IAM认证信息错误："


def sdk_date(offset: datetime.timedelta) -> str:
    """An X-Sdk-Date `offset` away from now."""
    t = datetime.datetime.now(datetime.timezone.utc) + offset
    return t.strftime("%Y%m%dT%H%M%SZ")


class SdkCase(E2ECase):
    """A server with the demo's seed job, a few tasks, one token and three access keys."""

    extra_args: tuple[str, ...] = ()

    def setUp(self) -> None:
        if not SDK_CLIENT:
            self.skipTest("TASKORCH_SDK_CLIENT is not set (see the module's docstring)")
        fleet = Fleet("sdk0")
        self.running = [fleet.task("INCRE_TRANSFER_STARTED") for _ in range(3)]
        self.configured = fleet.task("CONFIGURATION")
        self.neighbour = fleet.task("INCRE_TRANSFER_STARTED", PROJECT_B)
        doc = fleet.document()
        doc["jobs"].append({"id": SEED_JOB, "project_id": PROJECT_A, "name": "drs-example",
                            "db_use_type": "migration", "status": "INCRE_TRANSFER_STARTED"})
        self.srv = self.start_server(
            tokens=[(TOKEN_A, PROJECT_A)], fleet=doc,
            args=["--credential", f"{AK}:{SK}:{PROJECT_A}",
                  "--credential", f"{READER_AK}:{READER_SK}:{PROJECT_A}:reader",
                  "--credential", f"{AK_B}:{SK_B}:{PROJECT_B}:operator", *self.extra_args])

    def sdk(self, *args: str, ak: str = AK, sk: str = SK, project: str = PROJECT_A,
            body: object = SEED_PAUSE, path: str = api_path("{project_id}", PAUSE),
            method: str = "POST") -> tuple[int, str]:
        """Sends one request through the SDK; returns (status, body as received)."""
        cmd = [NODE, SDK_CLIENT, "--url", f"http://127.0.0.1:{self.srv.port}", "--ak", ak, "--sk", sk,
               "--project", project, "--method", method, "--path", path, "--body", json.dumps(body), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        self.assertEqual(done.returncode, 0, f"{cmd}: {done.stderr}")
        text, _, status = done.stdout.rstrip("\n").rpartition(" [")
        return int(status.rstrip("]")), text

    def assertRefused(self, answer: tuple[int, str], status: int, code: str, message: str) -> None:
        self.assertEqual(answer[0], status, answer)
        self.assertEqual(json.loads(answer[1]), {"error_code": code, "error_msg": message}, answer)

    def assertUnchanged(self) -> None:
        ids = [SEED_JOB, *self.running, self.configured]
        expected = {i: "INCRE_TRANSFER_STARTED" for i in [SEED_JOB, *self.running]}
        expected[self.configured] = "CONFIGURATION"
        self.assertEqual(self.srv.statuses(ids), expected)

    def tearDown(self) -> None:
        output = "\n".join(self.srv.stdout_lines + self.srv.stderr_lines)
        for secret in SECRETS:
            self.assertNotIn(secret, output, "a secret key was written by the server")


class SignedCalls(SdkCase):
    def test_the_seed_pause_is_answered_as_printed(self):
        self.assertEqual(self.sdk(), (200, SEED_ANSWER))
        self.assertEqual(self.srv.statuses([SEED_JOB]), {SEED_JOB: "PAUSING"})

    def test_retry_and_status_answer_as_for_a_token(self):
        retry = {"jobs": [{"job_id": SEED_JOB}, {"job_id": self.configured}]}
        signed = self.sdk(path=api_path("{project_id}", RETRY), body=retry)
        self.assertEqual(signed[0], 200, signed)
        self.assertEqual(json.loads(signed[1]), self.srv.post(RETRY, retry).json)
        status_body = {"jobs": [SEED_JOB, *self.running]}
        signed = self.sdk(path=api_path("{project_id}", STATUS), body=status_body)
        self.assertEqual(signed[0], 200, signed)
        self.assertEqual(json.loads(signed[1]), self.srv.status([SEED_JOB, *self.running]).json)

    def test_lifecycle_start_and_detail(self):
        started = self.sdk(path=api_path("{project_id}", "batch-starting"),
                           body={"jobs": [{"job_id": self.configured}]})
        self.assertEqual(started, (202, json.dumps({"results": [{"id": self.configured, "status": "success"}],
                                                    "count": 1}, separators=(",", ":"))))
        detail = self.sdk(path=api_path("{project_id}", "batch-detail"), body={"jobs": [self.configured]})
        self.assertEqual(detail[0], 200, detail)
        self.assertEqual(json.loads(detail[1])["results"][0]["status"], "STARTJOBING")
        listed = self.sdk(path="/v3/{project_id}/jobs", body={"page_req": {"cur_page": 1, "per_page": 10}})
        self.assertEqual(listed[0], 200, listed)
        self.assertEqual(json.loads(listed[1]), self.srv.list_jobs({"page_req": {"cur_page": 1, "per_page": 10}}).json)

    def test_a_signed_query_string_is_verified(self):
        # GET events with ?since= far ahead: answered at once (410), after the signature over the
        # query string was checked.
        gone = self.sdk(path="/v3/{project_id}/events?since=999999999", method="GET", body=None)
        self.assertEqual(gone[0], 410, gone)
        self.assertEqual(json.loads(gone[1])["error_code"], "TASKORCH.0410")

    def test_headers_nobody_signed_may_be_added(self):
        # Only what SignedHeaders lists is covered: a proxy's header added later is no change.
        self.assertEqual(self.sdk("--tamper-header", "X-Forwarded-For:10.0.0.1"), (200, SEED_ANSWER))

    def test_chinese_answers_follow_x_language(self):
        self.assertEqual(self.sdk("--language", "zh-cn"), (200, SEED_ANSWER))
        refused = self.sdk("--language", "zh-cn", sk="not-the-secret-key")
        self.assertRefused(refused, 401, GATEWAY,
                           PREFIX_ZH + "AK/SK签名校验失败：签名与请求不符（密钥错误，或请求在签名后被修改）。")


class Refusals(SdkCase):
    """Each refusal is answered before anything is applied: the registry is unchanged."""

    MISMATCH = PREFIX_EN + ("verify aksk signature fail: the signature does not match the request "
                            "(a wrong secret key, or the request changed after it was signed).")

    def test_a_wrong_secret_key(self):
        self.assertRefused(self.sdk(sk="not-the-secret-key"), 401, GATEWAY, self.MISMATCH)
        self.assertUnchanged()

    def test_an_unknown_access_key(self):
        self.assertRefused(self.sdk(ak="HPUAUNKNOWNKEY000000"), 401, GATEWAY,
                           PREFIX_EN + "the access key (Access) is not known.")
        self.assertUnchanged()

    def test_the_body_changed_after_signing(self):
        other = json.dumps({"jobs": [{"job_id": self.running[0], "pause_mode": "all"}]})
        self.assertRefused(self.sdk("--tamper-body", other), 401, GATEWAY, self.MISMATCH)
        self.assertUnchanged()

    def test_a_signed_header_changed_after_signing(self):
        self.assertRefused(self.sdk("--language", "en-us", "--tamper-header", "X-Language:zh-cn"),
                           401, GATEWAY,
                           PREFIX_ZH + "AK/SK签名校验失败：签名与请求不符（密钥错误，或请求在签名后被修改）。")
        self.assertUnchanged()

    def test_a_signed_header_removed(self):
        self.assertRefused(self.sdk("--language", "en-us", "--drop-header", "X-Language"), 401, GATEWAY,
                           PREFIX_EN + "the header x-language of SignedHeaders is missing from the request "
                                       "or given more than once.")
        self.assertRefused(self.sdk("--drop-header", "X-Sdk-Date"), 401, GATEWAY,
                           PREFIX_EN + "the X-Sdk-Date header is missing or not a UTC time of the form "
                                       "YYYYMMDDTHHMMSSZ.")
        self.assertUnchanged()

    def test_a_signing_time_outside_the_window(self):
        expired = PREFIX_EN + "the signing time (X-Sdk-Date) is more than 900 seconds away from the server's clock."
        for offset in (datetime.timedelta(minutes=-20), datetime.timedelta(minutes=20)):
            self.assertRefused(self.sdk("--sdk-date", sdk_date(offset)), 401, GATEWAY, expired)
        self.assertUnchanged()
        # An old date inside the window is accepted (the SDK signs it: nothing was changed).
        self.assertEqual(self.sdk("--sdk-date", sdk_date(datetime.timedelta(minutes=-10))), (200, SEED_ANSWER))

    def test_another_project(self):
        # X-Project-Id is signed by the SDK; set to another project it is refused as such first.
        self.assertRefused(self.sdk("--tamper-header", f"X-Project-Id:{PROJECT_B}"), 403, "DRS.M00261",
                           "Invalid project ID.")
        # A key of project B on project A's path (the SDK fills the path with its own project:
        # the path is written out here).
        self.assertRefused(self.sdk(ak=AK_B, sk=SK_B, project=PROJECT_B, path=api_path(PROJECT_A, PAUSE)),
                           403, "DRS.M00261", "Invalid project ID.")
        self.assertUnchanged()
        # Its own project works.
        neighbour = {"jobs": [{"job_id": self.neighbour, "pause_mode": "target"}]}
        answer = self.sdk(ak=AK_B, sk=SK_B, project=PROJECT_B, body=neighbour)
        self.assertEqual(answer[0], 200, answer)

    def test_a_token_and_a_signature_together(self):
        self.assertRefused(self.sdk("--tamper-header", f"X-Auth-Token:{TOKEN_A}"), 401, GATEWAY,
                           PREFIX_EN + "send either X-Auth-Token or an AK/SK signature (Authorization), not both.")
        self.assertUnchanged()

    def test_a_readers_key_may_not_command(self):
        self.assertRefused(self.sdk(ak=READER_AK, sk=READER_SK), 403, "TASKORCH.0403",
                           "The caller's role (reader) may not call this API.")
        self.assertUnchanged()
        status = self.sdk(ak=READER_AK, sk=READER_SK, path=api_path("{project_id}", STATUS),
                          body={"jobs": [SEED_JOB]})
        self.assertEqual(status[0], 200, status)


class NarrowWindow(SdkCase):
    extra_args = ("--signature-window", "60")

    def test_the_window_follows_the_flag(self):
        self.assertRefused(self.sdk("--sdk-date", sdk_date(datetime.timedelta(minutes=-2))), 401, GATEWAY,
                           PREFIX_EN + "the signing time (X-Sdk-Date) is more than 60 seconds away from the "
                                       "server's clock.")
        self.assertUnchanged()
        self.assertEqual(self.sdk("--sdk-date", sdk_date(datetime.timedelta(seconds=-30))), (200, SEED_ANSWER))


class CredentialFlag(E2ECase):
    """`--credential` refusals name the flag and never show the secret key."""

    def refused(self, value: str) -> str:
        srv = Server(tokens=[], args=["--credential", value])
        self.addCleanup(srv.close)
        done = subprocess.run(srv.command(), capture_output=True, text=True, timeout=60, check=False)
        self.assertEqual(done.returncode, 2, done)
        self.assertEqual(done.stdout, "")
        self.assertNotIn("TopSecret", done.stderr)
        prefix = "taskorch-server: "
        self.assertTrue(done.stderr.startswith(prefix), done.stderr)
        return done.stderr[len(prefix):].strip()

    def test_bad_values_are_refused(self):
        self.assertEqual(self.refused("AK:TopSecret"), "--credential needs AK:SK:PROJECT_ID[:ROLE]")
        self.assertEqual(self.refused(f"AK::{PROJECT_A}"), "--credential needs AK:SK:PROJECT_ID[:ROLE]")
        self.assertEqual(self.refused(f"AK:TopSecret:{PROJECT_A}:reader:x"),
                         "--credential needs AK:SK:PROJECT_ID[:ROLE]")
        self.assertEqual(self.refused("AK:TopSecret:not-a-project"),
                         "--credential: PROJECT_ID must be 32 lowercase hexadecimal characters "
                         "(AK:SK:PROJECT_ID[:ROLE])")
        self.assertEqual(self.refused(f"AK:TopSecret:{PROJECT_A}:king"),
                         '--credential: ROLE must be operator, worker or reader (AK:SK:PROJECT_ID[:ROLE]), got "king"')
        self.assertEqual(self.refused(f"A K:TopSecret:{PROJECT_A}"),
                         "--credential: AK must be 1 to 128 letters, digits, '-', '_' or '.' "
                         "(AK:SK:PROJECT_ID[:ROLE])")

    def test_an_access_key_given_twice(self):
        srv = Server(tokens=[], args=["--credential", f"AK1:TopSecret:{PROJECT_A}",
                                      "--credential", f"AK1:TopSecret2:{PROJECT_B}"])
        self.addCleanup(srv.close)
        done = subprocess.run(srv.command(), capture_output=True, text=True, timeout=60, check=False)
        self.assertEqual(done.returncode, 2, done)
        self.assertEqual(done.stderr.strip(), "taskorch-server: --credential: the access key AK1 is given twice")


if __name__ == "__main__":
    unittest.main()
