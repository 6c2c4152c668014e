"""The operator console (docs/console.md) in a real browser: Debian's headless Chromium, driven
through /usr/bin/chromedriver by Python's selenium (python3-selenium), against the real
taskorch-server. Nothing downloads a browser.

One server serves the console on a fleet made for it: running tasks, a task in CONFIGURATION
(a wrong state for pause), a dual-active family, a task named `<img src=x onerror=alert(1)>`
and enough tasks for two pages. A twin server on the same fleet answers the same batch sent by
Python, so that the per-item results the console shows can be compared with what the API
answers. Screenshots go to $TASKORCH_BROWSER_ARTIFACTS (ctest: the build folder's
tests/browser/artifacts), else a temporary folder; their paths are printed.

Run by ctest (TASKORCH_BROWSER_REQUIRED=1) a missing browser fails the test; run by hand it is
skipped with a message:  cd tests/browser && /usr/bin/python3 -m unittest -v test_console
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

from e2e_support import CJK, PROJECT_A, TOKEN_A, Fleet, Server, stop_shared_server  # noqa: E402

try:
    from selenium import webdriver
    from selenium.common.exceptions import (NoAlertPresentException,
                                            StaleElementReferenceException, TimeoutException)
    from selenium.webdriver.chrome.service import Service as DriverService
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
    SELENIUM = None
except ImportError as e:  # reported by setUpClass
    SELENIUM = e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT = float(os.environ.get("TASKORCH_BROWSER_WAIT", "30"))
XSS = "<img src=x onerror=alert(1)>"
WORKER_TOKEN = "browser-worker-token-5c2e81"

# The rows a script reads in one go (no stale elements): what each row of the table shows.
READ_ROWS = """
return [...document.querySelectorAll('#task-rows tr')].map((r) => ({
  id: r.dataset.id, status: r.dataset.status, role: r.dataset.role,
  name: r.querySelector('th button').textContent,
  badge: r.querySelector('td.status .badge').textContent,
  pending: r.querySelector('td.pending').textContent,
  paused: r.querySelector('td.paused').textContent,
  result: r.querySelector('td.result').dataset.result ?? null,
  resultText: r.querySelector('td.result').textContent,
  selected: r.querySelector('input[type=checkbox]').checked,
}));
"""
READ_BATCH = """
return [...document.querySelectorAll('#batch-rows tr')].map((r) => ({
  id: r.dataset.id, name: r.querySelector('th').textContent,
  result: r.querySelector('td.result').dataset.result,
  text: r.querySelector('td.result').textContent,
}));
"""
# Every form control has a name a screen reader reads: a <label for> or aria-label.
UNLABELLED = """
return [...document.querySelectorAll('input, select')].filter((c) =>
  !c.getAttribute('aria-label') && !(c.id && document.querySelector(`label[for="${c.id}"]`))
).map((c) => c.outerHTML);
"""


class SamePortServer(Server):
    """A server that, once started, starts again on the same port (the console's origin)."""

    def command(self) -> list[str]:
        cmd = super().command()
        if self.port:
            cmd[cmd.index("--listen") + 1] = f"127.0.0.1:{self.port}"
        return cmd


def build_fleet() -> tuple[Fleet, dict[str, str]]:
    f = Fleet("brws")
    ids = {
        "run1": f.task("INCRE_TRANSFER_STARTED", name="ops-run-1"),
        "run2": f.task("FULL_TRANSFER_STARTED", name="ops-run-2"),
        "conf": f.task("CONFIGURATION", name="ops-conf"),
    }
    ids["family"], ids["forward"], ids["backward"] = f.family(
        "INCRE_TRANSFER_STARTED", "INCRE_TRANSFER_STARTED", name="ops-family")
    ids["live"] = f.task("INCRE_TRANSFER_STARTED", name="live-1")
    ids["xss"] = f.task("FULL_TRANSFER_STARTED", name=XSS)
    ids["zh"] = f.task("CONFIGURATION", name="zh-conf")
    for i in range(2):
        ids[f"sync{i}"] = f.task("INCRE_TRANSFER_STARTED", kind="sync", name=f"sync-{i}")
    for i in range(25):
        f.task("FULL_TRANSFER_COMPLETE", name=f"bulk-{i:02}")
    ids["to_start"] = f.task("CONFIGURATION", name="cmd-start")
    ids["to_terminate"] = f.task("INCRE_TRANSFER_STARTED", name="cmd-terminate")
    return f, ids


def item_results(body: dict) -> dict[str, tuple]:
    """id -> (status, error_code, error_msg) of a batch answer."""
    return {r["id"]: (r["status"], r.get("error_code"), r.get("error_msg")) for r in body["results"]}


class ConsoleInBrowser(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls) -> None:
        missing = []
        if SELENIUM is not None:
            missing.append(f"Python's selenium ({SELENIUM}; Debian: python3-selenium, run with /usr/bin/python3)")
        for program in (CHROMIUM, CHROMEDRIVER):
            if not os.access(program, os.X_OK):
                missing.append(f"{program} (Debian: chromium, chromium-driver)")
        if missing:
            message = "the browser test needs " + ", ".join(missing) + " (scripts/install-deps.sh installs them)"
            if os.environ.get("TASKORCH_BROWSER_REQUIRED") == "1":
                raise RuntimeError(message)
            raise unittest.SkipTest(message)

        cls.fleet, cls.ids = build_fleet()
        cls.srv = Server(fleet=cls.fleet, args=["--token", f"{WORKER_TOKEN}:{PROJECT_A}:worker"]).start()
        cls.twin = Server(fleet=cls.fleet).start()
        cls.artifacts = os.environ.get("TASKORCH_BROWSER_ARTIFACTS") or tempfile.mkdtemp(prefix="taskorch-browser-")
        os.makedirs(cls.artifacts, exist_ok=True)
        cls.profile = tempfile.TemporaryDirectory(prefix="taskorch-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1280,1000", "--lang=en-US", "--hide-scrollbars",
                    f"--user-data-dir={cls.profile.name}"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        try:
            cls.driver = webdriver.Chrome(service=DriverService(CHROMEDRIVER), options=options)
        except Exception:
            cls.stop_servers()
            raise
        cls.driver.set_page_load_timeout(WAIT)
        cls.driver.set_script_timeout(WAIT)
        cls.base = f"http://127.0.0.1:{cls.srv.port}"
        cls.sign_in()

    @classmethod
    def stop_servers(cls) -> None:
        try:
            stop_shared_server(cls.srv)
        finally:
            stop_shared_server(cls.twin)

    @classmethod
    def tearDownClass(cls) -> None:
        try:
            cls.driver.quit()
        finally:
            cls.profile.cleanup()
            cls.stop_servers()

    def tearDown(self) -> None:
        # Whatever a test did, the browser logged no error: no Content-Security-Policy
        # violation, no failed request (but those a stopped server cut or refused).
        errors = self.browser_errors()
        if getattr(self, "server_stopped", False):  # requests cut or refused while it was down
            errors = [e for e in errors if "net::ERR_" not in e]
        self.assertEqual(errors, [], "the browser logged errors")

    # ------------------------------------------------------------------ helpers

    @classmethod
    def wait(cls, condition, message: str, timeout: float = WAIT):
        def check(driver):
            try:
                return condition(driver)
            except StaleElementReferenceException:
                return False
        try:
            return WebDriverWait(cls.driver, timeout, poll_frequency=0.1).until(check)
        except TimeoutException:
            # What the page showed, for the report: a picture, the list's error, the stream.
            cls.timeouts = getattr(cls, "timeouts", 0) + 1
            path = os.path.join(cls.artifacts, f"timeout-{cls.timeouts}.png")
            cls.driver.save_screenshot(path)
            shown = cls.driver.execute_script(
                "return [document.getElementById('list-error').textContent,"
                " document.getElementById('stream-state').textContent]")
            raise AssertionError(f"waited {timeout} s for {message}; the list's error {shown[0]!r}, "
                                 f"the stream {shown[1]!r}; screenshot {path}") from None

    @classmethod
    def sign_in(cls, base: str | None = None) -> None:
        d = cls.driver
        d.get(f"{base or cls.base}/console/")
        # The tab keeps the token of an origin it signed in to: the console then opens at once.
        cls.wait(lambda d: d.find_element(By.ID, "project").is_displayed() or len(cls.rows()) > 0,
                 "the sign-in form or the task table")
        if d.find_element(By.ID, "project").is_displayed():
            project = d.find_element(By.ID, "project")
            project.clear()
            project.send_keys(PROJECT_A)
            token = d.find_element(By.ID, "token")
            token.send_keys(TOKEN_A)
            token.send_keys(Keys.ENTER)  # the keyboard submits the form
        cls.wait(lambda d: len(cls.rows()) > 0, "the task table")
        cls.wait_live()

    @classmethod
    def wait_live(cls) -> None:
        cls.wait(lambda d: d.find_element(By.ID, "stream-state").get_attribute("class") == "stream live",
                 "the event stream to be live")

    @classmethod
    def rows(cls) -> list[dict]:
        return cls.driver.execute_script(READ_ROWS)

    def row(self, job: str) -> dict:
        found = [r for r in self.rows() if r["id"] == job]
        self.assertEqual(len(found), 1, f"{job} in {self.rows()}")
        return found[0]

    def shot(self, name: str) -> str:
        path = os.path.join(self.artifacts, name)
        self.driver.save_screenshot(path)
        print(f"screenshot: {path}", flush=True)
        return path

    def filter_by(self, name: str = "", status: str = "", kind: str = "") -> list[dict]:
        d = self.driver
        d.execute_script(
            "document.getElementById('filter-status').value = arguments[0];"
            "document.getElementById('filter-type').value = arguments[1];", status, kind)
        box = d.find_element(By.ID, "filter-name")
        box.clear()
        if name:
            box.send_keys(name)
        box.send_keys(Keys.ENTER)
        expected = self.listed(name=name, status=status, kind=kind)
        self.wait(lambda d: sorted(r["id"] for r in self.rows() if r["role"] != "child") == sorted(expected),
                  f"the rows of filter name={name!r} status={status!r} type={kind!r}: {expected}")
        return self.rows()

    def listed(self, name: str = "", status: str = "", kind: str = "", page: int = 1,
               per_page: int = 20) -> list[str]:
        """The ids of the tasks the API lists for these filters (top level: parents, tasks)."""
        query: dict = {"cur_page": page, "per_page": per_page}
        if name:
            query["name"] = name
        if status:
            query["status"] = status
        if kind:
            query["db_use_type"] = kind
        r = self.srv.call("POST", f"/v3/{PROJECT_A}/jobs", query, token=TOKEN_A)
        self.assertEqual(r.status, 200, str(r))
        return [j["id"] for j in r.json["jobs"]]

    def tick(self, job: str, keyboard: bool = False) -> None:
        """Selects a task's row, with the mouse or with the space key."""
        for _ in range(50):
            try:
                box = self.driver.find_element(By.ID, f"select-{job}")
                if box.is_selected():
                    return
                if keyboard:
                    box.send_keys(Keys.SPACE)
                else:
                    box.click()
                self.wait(lambda d: d.find_element(By.ID, f"select-{job}").is_selected(), f"{job} selected", 5)
                return
            except (StaleElementReferenceException, AssertionError):
                time.sleep(0.1)  # the table was drawn again meanwhile: look the row up again
        self.fail(f"could not select {job}")

    def press(self, button_id: str) -> None:
        button = self.driver.find_element(By.ID, button_id)
        self.assertTrue(button.is_enabled(), button_id)
        button.click()

    def clear_selection(self) -> None:
        button = self.driver.find_element(By.ID, "clear-selection")
        if button.is_enabled():
            button.click()
        self.wait(lambda d: d.find_element(By.ID, "selection-count").text in ("0 selected", "已选择0个"),
                  "no task selected")

    def assertNoAlert(self) -> None:
        try:
            text = self.driver.switch_to.alert.text
        except NoAlertPresentException:
            return
        self.fail(f"an alert is open: {text!r}")

    def browser_errors(self) -> list[str]:
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def use_language(self, lang: str) -> None:
        heading = {"en": "Tasks", "zh": "任务"}[lang]
        if self.driver.find_element(By.ID, "tasks-heading").text != heading:
            self.driver.find_element(By.ID, "language").click()
        self.wait(lambda d: d.find_element(By.ID, "tasks-heading").text == heading, f"the {lang} labels")

    # ------------------------------------------------------------------ tests

    def test_1_signed_in_with_the_token_in_a_header_only(self):
        d = self.driver
        self.assertNotIn(TOKEN_A, d.current_url)
        self.assertEqual(d.get_cookies(), [])
        self.assertEqual(d.execute_script("return sessionStorage.getItem('taskorch.token')"), TOKEN_A)
        self.assertEqual(d.execute_script(UNLABELLED), [])
        self.assertEqual(d.execute_script("return document.querySelectorAll('script:not([src])').length"), 0)
        # Counts per status: what the API counts.
        self.use_language("en")
        self.filter_by()
        for status in ("INCRE_TRANSFER_STARTED", "CONFIGURATION", "FULL_TRANSFER_COMPLETE"):
            r = self.srv.call("POST", f"/v3/{PROJECT_A}/jobs", {"status": status, "per_page": 1},
                              token=TOKEN_A)
            total = r.json["total_record"]
            self.wait(lambda d: d.find_element(By.CSS_SELECTOR, f"#count-list [data-status={status}]")
                      .get_attribute("data-count") == str(total), f"count {total} of {status}")

    def test_2_filters_and_paging(self):
        d = self.driver
        self.use_language("en")
        self.filter_by()
        self.assertEqual([r["id"] for r in self.rows() if r["role"] != "child"], self.listed())
        self.wait(lambda d: d.find_element(By.ID, "page-info").text.startswith("Page 1 of 2"), "page 1 of 2")
        self.press("next-page")
        second = self.listed(page=2)
        self.wait(lambda d: [r["id"] for r in self.rows() if r["role"] != "child"] == second, "page 2")
        self.wait(lambda d: d.find_element(By.ID, "page-info").text.startswith("Page 2 of 2"), "page 2 of 2")

        rows = self.filter_by(kind="sync")
        self.assertEqual({r["name"] for r in rows}, {"sync-0", "sync-1"})
        rows = self.filter_by(status="CONFIGURATION")
        self.assertTrue(rows and all(r["status"] == "CONFIGURATION" for r in rows), rows)
        # A dual-active family: the parent with its aggregate status, then its two children.
        rows = self.filter_by(name="ops-family")
        self.assertEqual([(r["id"], r["role"]) for r in rows],
                         [(self.ids["family"], "parent"), (self.ids["forward"], "child"),
                          (self.ids["backward"], "child")])
        self.assertEqual(rows[0]["status"], "INCRE_TRANSFER_STARTED")
        # A filter by ids (the API's `name` with ids).
        rows = self.filter_by(name=f"{self.ids['run1']},{self.ids['conf']}")
        self.assertEqual({r["id"] for r in rows}, {self.ids["run1"], self.ids["conf"]})

        # A shift-click ticks every row from the last one ticked.
        self.clear_selection()
        rows = self.filter_by(name="bulk-")
        self.tick(rows[2]["id"])
        last = d.find_element(By.ID, f"select-{rows[9]['id']}")
        ActionChains(d).key_down(Keys.SHIFT).click(last).key_up(Keys.SHIFT).perform()
        self.wait(lambda d: d.find_element(By.ID, "selection-count").text == "8 selected", "8 selected")
        self.assertEqual([r["id"] for r in self.rows() if r["selected"]], [r["id"] for r in rows[2:10]])
        self.clear_selection()

    def test_3_batch_pause_shows_the_apis_per_item_results(self):
        d = self.driver
        self.use_language("en")
        self.clear_selection()
        self.filter_by(name="ops-")
        chosen = [self.ids["run1"], self.ids["run2"], self.ids["conf"], self.ids["forward"], self.ids["family"]]
        for job in chosen:
            self.tick(job, keyboard=job == self.ids["conf"])
        self.wait(lambda d: d.find_element(By.ID, "selection-count").text == "5 selected", "5 selected")
        self.press("pause-target")
        self.wait(lambda d: len(d.execute_script(READ_BATCH)) == len(chosen), "the batch's results")

        # The same batch, sent by another client to the twin server (same fleet): the API's answer.
        expected = self.twin.pause([(job, "target") for job in chosen])
        self.assertEqual(expected.status, 200, str(expected))
        api = item_results(expected.json)
        self.assertEqual(api[self.ids["run1"]][0], "success")
        self.assertEqual(api[self.ids["conf"]][1], "DRS.M00304")
        self.assertEqual(api[self.ids["family"]][1], "DRS.M00307")
        self.assertEqual(api[self.ids["forward"]][0], "success")

        shown = {r["id"]: r for r in d.execute_script(READ_BATCH)}
        self.assertEqual(set(shown), set(chosen))
        for job, (status, code, message) in api.items():
            with self.subTest(job=job):
                self.assertEqual(shown[job]["result"], "success" if status == "success" else code)
                if status != "success":
                    self.assertIn(code, shown[job]["text"])
                    self.assertIn(message, shown[job]["text"])
        summary = d.find_element(By.ID, "batch-summary").text
        self.assertEqual(summary, "Pause (target): 3 succeeded, 2 failed")
        # Next to the rows too, and the rows show the pause and the command no worker confirmed.
        self.wait(lambda d: self.row(self.ids["run1"])["status"] == "PAUSING", "run-1 paused in the table")
        rows = {r["id"]: r for r in self.rows()}
        for job, (status, code, message) in api.items():
            self.assertEqual(rows[job]["result"], "success" if status == "success" else code)
        self.assertIn("pause", rows[self.ids["run1"]]["pending"])
        self.assertIn("target", rows[self.ids["run1"]]["paused"])
        self.assertEqual(rows[self.ids["conf"]]["status"], "CONFIGURATION")
        status = self.srv.status(chosen[:4]).json
        self.assertEqual([r["status"] for r in status["results"]],
                         ["PAUSING", "PAUSING", "CONFIGURATION", "PAUSING"])
        self.shot("console-batch.png")

        # The child's detail: its actions, the command awaiting a worker and its age, its events.
        d.find_element(By.CSS_SELECTOR, f"[data-key='{self.ids['forward']}:open']").click()
        self.wait(lambda d: d.find_element(By.ID, "detail").is_displayed(), "the detail")
        self.wait(lambda d: "PAUSING" in d.find_element(By.ID, "detail-fields").text, "the detail's status")
        fields = d.find_element(By.ID, "detail-fields").text
        self.assertIn("Awaiting worker confirmation", fields)
        self.assertRegex(fields, r"pause \d+ .*ago")
        self.wait(lambda d: "PAUSING" in d.find_element(By.ID, "detail-events").text, "the pause in the events")
        actions = [b.get_attribute("data-detail-action")
                   for b in d.find_elements(By.CSS_SELECTOR, "#detail-actions button")]
        detail = self.srv.detail([self.ids["forward"]]).json["results"][0]
        self.assertEqual(actions, [a for a in detail["job_action"]["available_actions"]
                                   if a in ("PAUSE", "RETRY", "START", "TERMINATE")])
        self.shot("console-detail.png")
        d.find_element(By.ID, "detail-heading").send_keys(Keys.ESCAPE)
        self.wait(lambda d: not d.find_element(By.ID, "detail").is_displayed(), "the detail closed")
        self.clear_selection()

    def test_4_a_change_by_another_client_appears_live(self):
        d = self.driver
        self.use_language("en")
        self.filter_by(name="live-")
        d.execute_script("window.notReloaded = true;")
        self.assertEqual(self.row(self.ids["live"])["status"], "INCRE_TRANSFER_STARTED")
        r = self.srv.pause([(self.ids["live"], "all")])
        self.assertEqual(item_results(r.json)[self.ids["live"]][0], "success")
        self.wait(lambda d: self.row(self.ids["live"])["status"] == "PAUSING", "the pause to appear live")
        self.assertIn("all", self.row(self.ids["live"])["paused"])
        self.assertTrue(d.execute_script("return window.notReloaded === true"), "the page was reloaded")

    def test_5_a_hostile_name_is_text(self):
        d = self.driver
        self.use_language("en")
        rows = self.filter_by(name="onerror")
        self.assertEqual([r["name"] for r in rows], [XSS])
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "#task-rows img, #detail img, #batch img"), [])
        d.find_element(By.CSS_SELECTOR, f"[data-key='{self.ids['xss']}:open']").click()
        self.wait(lambda d: d.find_element(By.ID, "detail-heading").text == XSS, "the name as the detail's heading")
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "img"), [])
        self.assertNoAlert()
        self.shot("console-xss.png")
        d.find_element(By.ID, "detail-close").click()

    def test_6_chinese(self):
        d = self.driver
        self.use_language("zh")
        try:
            self.assertEqual(d.execute_script("return document.documentElement.lang"), "zh-CN")
            self.assertEqual(d.find_element(By.ID, "pause-target").text, "暂停（目标端）")
            rows = self.filter_by(name="zh-conf")
            self.assertEqual(rows[0]["badge"], "配置中")
            self.tick(self.ids["zh"])
            self.press("resume")
            self.wait(lambda d: len(d.execute_script(READ_BATCH)) == 1 and
                      d.execute_script(READ_BATCH)[0]["id"] == self.ids["zh"], "the resume's result")
            expected = self.twin.retry([self.ids["zh"]], lang="zh-cn")
            status, code, message = item_results(expected.json)[self.ids["zh"]]
            self.assertEqual((status, code), ("failed", "DRS.M00304"))
            self.assertRegex(message, CJK)
            shown = d.execute_script(READ_BATCH)[0]
            self.assertEqual(shown["result"], code)
            self.assertIn(message, shown["text"])
            self.assertEqual(d.find_element(By.ID, "batch-summary").text, "续传：0个成功，1个失败")
            self.shot("console-zh.png")
            self.clear_selection()
        finally:
            self.use_language("en")

    def test_8_detail_shows_a_workers_progress(self):
        d = self.driver
        self.use_language("en")
        self.filter_by(name="sync-0")
        job = self.ids["sync0"]
        r = self.srv.report([(job, "progress", "62", "3")], token=WORKER_TOKEN)
        self.assertEqual(item_results(r.json)[job][0], "success", str(r))
        d.find_element(By.CSS_SELECTOR, f"[data-key='{job}:open']").click()
        self.wait(lambda d: "62 %" in d.find_element(By.ID, "detail-fields").text, "the reported progress")
        fields = d.find_element(By.ID, "detail-fields").text
        self.assertIn("Incremental delay\n3 s", fields)
        self.assertIn("Last report", fields)
        d.find_element(By.ID, "detail-close").click()
        self.wait(lambda d: not d.find_element(By.ID, "detail").is_displayed(), "the detail closed")

    def test_10_start_and_terminate_asking_first(self):
        d = self.driver
        self.use_language("en")
        self.clear_selection()
        self.filter_by(name="cmd-")
        start, terminate = self.ids["to_start"], self.ids["to_terminate"]
        self.tick(start)
        self.press("start")
        self.wait(lambda d: [r["id"] for r in d.execute_script(READ_BATCH)] == [start], "the start's result")
        expected = item_results(self.twin.start_jobs([start]).json)[start]
        self.assertEqual(expected[0], "success")
        self.assertEqual(d.execute_script(READ_BATCH)[0]["result"], "success")
        self.wait(lambda d: self.row(start)["status"] != "CONFIGURATION", "the task started")
        self.assertEqual(self.row(start)["status"], self.twin.status([start]).json["results"][0]["status"])
        self.clear_selection()

        self.tick(terminate)
        self.press("terminate")
        WebDriverWait(d, WAIT).until(expected_conditions.alert_is_present())
        self.assertEqual(d.switch_to.alert.text, "Terminate 1 selected tasks?")
        d.switch_to.alert.dismiss()  # nothing is sent
        self.assertEqual(self.srv.status([terminate]).json["results"][0]["status"], "INCRE_TRANSFER_STARTED")
        self.assertEqual([r["id"] for r in d.execute_script(READ_BATCH)], [start])
        self.press("terminate")
        WebDriverWait(d, WAIT).until(expected_conditions.alert_is_present())
        d.switch_to.alert.accept()
        self.wait(lambda d: [r["id"] for r in d.execute_script(READ_BATCH)] == [terminate], "the terminate's result")
        expected = item_results(self.twin.delete_jobs([(terminate, "terminate")]).json)[terminate]
        self.assertEqual(expected[0], "success")
        self.assertEqual(d.execute_script(READ_BATCH)[0]["result"], "success")
        self.wait(lambda d: self.row(terminate)["status"] == "RELEASE_RESOURCE_STARTED", "the task terminating")
        self.clear_selection()

    def test_9_the_stream_resumes_after_a_restart(self):
        """The server stops (SIGTERM closes the stream) and starts again on the same data
        directory and port: the console reconnects with Last-Event-ID and shows a change made
        meanwhile, without a reload."""
        d = self.driver
        fleet = Fleet("rsme")
        first = fleet.task("INCRE_TRANSFER_STARTED", name="resume-first")
        second = fleet.task("INCRE_TRANSFER_STARTED", name="resume-second")
        data = tempfile.TemporaryDirectory(prefix="taskorch-browser-data-")
        self.addCleanup(data.cleanup)
        srv = SamePortServer(fleet=fleet, data_dir=os.path.join(data.name, "data")).start()
        self.addCleanup(srv.close)
        try:
            base = f"http://127.0.0.1:{srv.port}"
            self.sign_in(base)
            d.execute_script("window.notReloaded = true;")
            self.assertEqual(item_results(srv.pause([(first, "target")]).json)[first][0], "success")
            self.wait(lambda d: self.row(first)["status"] == "PAUSING", "the first pause, live")

            self.server_stopped = True
            self.assertEqual(srv.stop(), 0)
            self.wait(lambda d: d.find_element(By.ID, "stream-state").get_attribute("class")
                      == "stream reconnecting", "the console to notice the stream ended")
            srv.restart()
            self.assertEqual(item_results(srv.pause([(second, "all")]).json)[second][0], "success")
            self.wait_live()
            self.wait(lambda d: self.row(second)["status"] == "PAUSING", "the change made while reconnecting")
            self.assertTrue(d.execute_script("return window.notReloaded === true"), "the page was reloaded")
            d.find_element(By.CSS_SELECTOR, f"[data-key='{second}:open']").click()
            self.wait(lambda d: "PAUSING" in d.find_element(By.ID, "detail-events").text,
                      "the change among the task's events")
            streams = srv.call("GET", "/metrics").raw.decode()
            self.assertRegex(streams, r'taskorch_http_requests_total\{endpoint="events",code="200"\} [1-9]')
            self.shot("console-resumed.png")
        finally:
            self.sign_in()  # back to the shared server (this tab keeps its token there)
            self.assertEqual(srv.stop(), 0)

    def test_7_readme_screenshot(self):
        """The small picture docs/console.png is copied from (README.md): a resume of three
        tasks, one of them in a wrong state, with its per-item results next to the rows."""
        d = self.driver
        self.use_language("en")
        self.clear_selection()
        self.filter_by(name="ops-")
        chosen = [self.ids["run1"], self.ids["conf"], self.ids["backward"]]
        for job in chosen:
            self.tick(job)
        self.press("resume")
        self.wait(lambda d: {r["id"] for r in d.execute_script(READ_BATCH)} == set(chosen), "the resume's results")
        self.wait(lambda d: all(self.row(job)["result"] for job in chosen), "the results next to the rows")
        d.set_window_size(1100, 700)
        try:
            d.execute_script("document.activeElement.blur(); window.scrollTo(0, 0);")
            self.shot("console.png")
        finally:
            d.set_window_size(1280, 1000)
            self.clear_selection()

if __name__ == "__main__":
    unittest.main()
