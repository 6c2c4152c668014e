"""The operator console's files as the real server serves them (docs/console.md): /console/ and
its files with their Content-Type and the strict Content-Security-Policy, a redirect from
/console, the API's 404 and 405 for what the console does not hold, and no token needed.
What the console does in a browser is tested by tests/browser."""

from __future__ import annotations

import os
import re
import unittest

from e2e_support import E2ECase, PROJECT_A, TOKEN_A, Server, api_path, stop_shared_server

CONSOLE_SOURCES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "console")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class ConsoleFiles(E2ECase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = Server().start()

    @classmethod
    def tearDownClass(cls) -> None:
        stop_shared_server(cls.srv)

    def assertConsoleHeaders(self, r) -> None:
        self.assertEqual(r.header("content-security-policy"), CSP, str(r.headers))
        self.assertEqual(r.header("x-content-type-options"), "nosniff")
        self.assertEqual(r.header("cache-control"), "no-cache")
        self.assertIsNone(r.header("set-cookie"))

    def test_index_and_files_need_no_token(self):
        index = self.srv.call("GET", "/console/")
        self.assertEqual(index.status, 200, str(index))
        self.assertEqual(index.header("content-type"), "text/html; charset=utf-8")
        self.assertConsoleHeaders(index)
        html = index.raw.decode("utf-8")
        # No inline script or style: every script and style sheet is a file of the console.
        self.assertNotRegex(html, r"<script(?![^>]*\bsrc=)[^>]*>")
        self.assertNotIn("<style", html)
        self.assertNotRegex(html, r"\son[a-z]+=")
        self.assertNotRegex(html, r"\sstyle=")
        referenced = re.findall(r'(?:src|href)="([a-z_]+\.(?:js|css|png))"', html)
        self.assertIn("console.js", referenced)
        self.assertIn("console.css", referenced)
        kinds = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
                 "png": "image/png"}
        for name in referenced + ["api.js", "event_stream.js", "i18n.js"]:
            with self.subTest(name=name):
                r = self.srv.call("GET", f"/console/{name}?v=1")
                self.assertEqual(r.status, 200, str(r))
                self.assertEqual(r.header("content-type"), kinds[name.rsplit(".", 1)[1]])
                self.assertConsoleHeaders(r)
                self.assertTrue(r.raw)
        # The same bytes under /console/index.html.
        self.assertEqual(self.srv.call("GET", "/console/index.html").raw, index.raw)

    def test_files_are_the_sources_byte_for_byte(self):
        names = sorted(os.listdir(CONSOLE_SOURCES))
        self.assertIn("index.html", names)
        for name in names:
            with self.subTest(name=name):
                with open(os.path.join(CONSOLE_SOURCES, name), "rb") as f:
                    source = f.read()
                r = self.srv.call("GET", f"/console/{name}")
                self.assertEqual(r.status, 200, f"console/{name} is not served: list it in service/CMakeLists.txt")
                self.assertEqual(r.raw, source)

    def test_head_is_get_without_body(self):
        get = self.srv.call("GET", "/console/console.js")
        head = self.srv.call("HEAD", "/console/console.js")
        self.assertEqual(head.status, 200)
        self.assertEqual(head.raw, b"")
        self.assertEqual(head.header("content-length"), str(len(get.raw)))
        self.assertConsoleHeaders(head)

    def test_console_without_slash_redirects(self):
        r = self.srv.call("GET", "/console")
        self.assertEqual(r.status, 308, str(r))
        self.assertEqual(r.header("location"), "/console/")
        self.assertConsoleHeaders(r)

    def test_unknown_file_is_the_apis_404(self):
        for target in ("/console/nothing.js", "/console/../metrics", "/console/sub/index.html"):
            with self.subTest(target=target):
                r = self.srv.call("GET", target)
                self.assertError(r, 404, "TASKORCH.0404")
                self.assertConsoleHeaders(r)
        zh = self.srv.call("GET", "/console/nothing.js", lang="zh-cn")
        self.assertEqual(zh.status, 404)
        self.assertRegex(zh.json["error_msg"], r"[\u4e00-\u9fff]")
        # Not the console: a path that only begins with its name.
        self.assertError(self.srv.call("GET", "/consoles"), 404, "TASKORCH.0404")

    def test_other_methods_are_405(self):
        r = self.srv.call("POST", "/console/", body="{}")
        self.assertError(r, 405, "TASKORCH.0405")
        self.assertEqual(r.header("allow"), "GET, HEAD")

    def test_api_unchanged_beside_the_console(self):
        r = self.srv.call("POST", api_path(PROJECT_A, "batch-status"), {"jobs": []}, token=TOKEN_A)
        self.assertError(r, 400, "DRS.M00201")
        self.assertIsNone(r.header("content-security-policy"))


if __name__ == "__main__":
    unittest.main()
