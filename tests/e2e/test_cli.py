"""The command line of taskorch-server (issue 8, defect 10).

Every bad flag or value stops the start with exactly one line on stderr, starting
"taskorch-server: ", and a non-zero exit; nothing hangs (a FIFO as the fleet), nothing exhausts
memory (/dev/zero), nothing escapes as an uncaught exception. Names and bracketed IPv6 addresses
are accepted by --listen.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import tempfile
import unittest

from e2e_support import (PROJECT_A, SEED_JOB, STATUS, E2ECase, api_path, connect, read_response, request_bytes,
                         server_binary)

TIMEOUT = 20.0


def refuse_big_allocations() -> None:
    """A preexec_fn: caps the child's address space, so that a server that tried to read an
    endless file fails instead of eating the machine (not for sanitizer builds, which reserve
    terabytes of address space)."""
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def binary_is_sanitized() -> bool:
    import mmap
    with open(server_binary(), "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        return m.find(b"__asan_init") >= 0 or m.find(b"__tsan_init") >= 0


class CommandLineTests(E2ECase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="taskorch-e2e-cli-")
        self.addCleanup(self.tmp.cleanup)

    def run_server(self, *args: str) -> subprocess.CompletedProcess:
        # In a temporary folder: a start that gets as far as the default data directory
        # (taskorch-data) makes it there, not in the source tree.
        cmd = [server_binary(), "--listen", "127.0.0.1:0", *args]
        try:
            return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT,
                                  cwd=self.tmp.name,
                                  preexec_fn=None if binary_is_sanitized() else refuse_big_allocations)
        except subprocess.TimeoutExpired as e:
            self.fail(f"{args}: still running after {TIMEOUT} s (stdout {e.stdout!r})")

    def refused(self, *args: str, says: str | None = None) -> str:
        """Runs with `args`; expects a refusal: exit code 2, one stderr line, no "listening on"."""
        p = self.run_server(*args)
        err = p.stderr.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 2, f"{args}: exit {p.returncode}, stderr {err!r}")
        self.assertNotIn(b"listening on", p.stdout)
        lines = err.splitlines()
        self.assertEqual(len(lines), 1, f"{args}: stderr {err!r}")
        self.assertTrue(lines[0].startswith("taskorch-server: "), lines[0])
        if says is not None:
            self.assertIn(says, lines[0])
        return lines[0]

    def test_unknown_flags_and_missing_values(self):
        self.refused("--nope", "1", says="--nope")
        self.refused("--fleet", says="--fleet")
        self.refused("-x", says="-x")

    def test_empty_values_are_refused(self):
        for flag in ("--fleet", "--data-dir", "--durability", "--token", "--listen", "--threads", "--max-body"):
            with self.subTest(flag=flag):
                self.refused(flag, "", says=flag)

    def test_numbers_out_of_range_or_not_numbers(self):
        for flag, value in (("--threads", "0"), ("--threads", "abc"), ("--threads", "100000"),
                            ("--engine-threads", "100000"), ("--max-jobs", "0"), ("--max-body", "0"),
                            ("--max-connections", "0"), ("--read-timeout-ms", "0"),
                            ("--read-timeout-ms", "99999999999999999999"), ("--idle-timeout-ms", "-1"),
                            ("--max-body", "1e6"), ("--threads", " 1")):
            with self.subTest(flag=flag, value=value):
                self.refused(flag, value, says=flag)

    def test_a_flag_given_twice_is_refused(self):
        self.refused("--threads", "1", "--threads", "2", says="--threads")
        self.refused("--fleet", "a.json", "--fleet", "b.json", says="--fleet")

    def test_a_token_bound_twice_is_refused_without_showing_it(self):
        b = "6a1f0c8e2b4d4f7e9c3a5b7d9e1f2a3b"
        for second in (f"tk-secret:{b}", f"tk-secret:{PROJECT_A}"):
            with self.subTest(second=second):
                line = self.refused("--token", f"tk-secret:{PROJECT_A}", "--token", second, says="--token")
                self.assertNotIn("tk-secret", line)

    def test_an_unknown_token_role_is_refused_without_showing_the_token(self):
        for role in ("admin", "Operator", "READER", "", "reader ", "op"):
            with self.subTest(role=role):
                line = self.refused("--token", f"tk-secret:{PROJECT_A}:{role}", says="--token")
                self.assertIn("ROLE must be operator, worker or reader", line)
                self.assertIn(f'got "{role}"', line)
                self.assertNotIn("tk-secret", line)
        # A bad project is still named as such, with or without a role.
        for value in ("tk-secret:not-a-project:reader", "tk-secret:not-a-project", f"tk-secret:{PROJECT_A[:-1]}:admin"):
            with self.subTest(value=value):
                line = self.refused("--token", value, says="PROJECT_ID must be 32 lowercase hexadecimal")
                self.assertNotIn("tk-secret", line)
        self.refused("--token", f"{PROJECT_A}:reader", says="PROJECT_ID")
        self.refused("--token", f":{PROJECT_A}:reader", says="--token needs TOKEN:PROJECT_ID[:ROLE]")

    def test_the_help_names_the_roles(self):
        p = self.run_server("--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        text = p.stdout.decode("utf-8")
        self.assertIn("--token TOKEN:PROJECT_ID[:ROLE]", text)
        for role in ("operator", "worker", "reader", "TASKORCH.0403"):
            self.assertIn(role, text)

    def test_paths_that_cannot_be_examined(self):
        long_path = os.path.join(self.tmp.name, "a" * 5000, "fleet.json")
        loop = os.path.join(self.tmp.name, "loop")
        os.symlink(loop, loop)
        for path in (long_path, os.path.join(loop, "x.json")):
            with self.subTest(flag="--fleet", path=path[:60]):
                self.refused("--in-memory", "--fleet", path, says="--fleet")
            with self.subTest(flag="--data-dir", path=path[:60]):
                self.refused("--data-dir", path, says="data directory")

    def test_fleet_files_that_are_not_regular_files(self):
        fifo = os.path.join(self.tmp.name, "fifo")
        os.mkfifo(fifo)
        for path in ("/dev/zero", fifo, self.tmp.name):
            with self.subTest(path=path):
                self.refused("--fleet", path, says="not a regular file")

    def test_a_fleet_file_over_the_size_cap(self):
        big = os.path.join(self.tmp.name, "big.json")
        with open(big, "wb") as f:
            f.truncate(300 << 20)  # sparse: no disk used
        self.refused("--fleet", big, says="larger than")

    def test_listen_needs_host_and_port(self):
        for value in ("127.0.0.1", "127.0.0.1:", ":8080", "[::1]", "[::1", "::1:0", "127.0.0.1:65536",
                      "host name:0", "no-such-host.invalid:0"):
            with self.subTest(value=value):
                self.refused("--listen", value, says="--listen")

    def check_listens(self, listen: str, shown: str, family: int, address: str):
        cmd = [server_binary(), "--listen", listen, "--in-memory", "--token", f"cli-token:{PROJECT_A}"]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            first = proc.stdout.readline().decode().strip()
            m = re.fullmatch(r"listening on http://" + re.escape(shown) + r":(\d+)", first)
            self.assertIsNotNone(m, f"first line {first!r}")
            port = int(m.group(1))
            s = socket.socket(family, socket.SOCK_STREAM)
            s.settimeout(TIMEOUT)
            with s:
                s.connect((address, port))
                s.sendall(request_bytes("POST", api_path(PROJECT_A, STATUS), ('{"jobs":["%s"]}' % SEED_JOB).encode(),
                                        {"X-Auth-Token": "cli-token", "Content-Type": "application/json"}))
                self.assertEqual(read_response(s).status, 200)
        finally:
            proc.terminate()
            proc.communicate(timeout=TIMEOUT)
        self.assertEqual(proc.returncode, 0)

    def test_listen_accepts_a_host_name(self):
        self.check_listens("localhost:0", "127.0.0.1", socket.AF_INET, "127.0.0.1")

    def test_listen_accepts_a_bracketed_ipv6_address(self):
        try:
            with socket.socket(socket.AF_INET6) as probe:
                probe.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback here")
        self.check_listens("[::1]:0", "[::1]", socket.AF_INET6, "::1")


if __name__ == "__main__":
    unittest.main()
