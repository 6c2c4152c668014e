"""taskorch-server at the edges of its resources (issue 8, defects 9 and 10).

The file-descriptor limit (`ulimit -n 64`, set on the child with setrlimit): the accept loop
must not spin, clients over the cap get 503 (or service), and both are counted in /metrics. A
huge body is parsed off the HTTP thread: other clients are answered meanwhile, and the memory it
took is given back. No wall-clock thresholds: CPU use is a share of the time measured, latency is
compared with the huge request's own time, memory with the body's size.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import unittest

from e2e_support import (PROJECT_A, STATUS, TOKEN_A, E2ECase, Fleet, api_path, connect, cpu_seconds, head_of,
                         limit_descriptors, read_response, request_bytes, resident_bytes, sanitized, wait_closed)

SLACK = 30.0


def small_fleet() -> Fleet:
    f = Fleet("lim0")
    for _ in range(5):
        f.task("INCRE_TRANSFER_STARTED")
    return f


def metric(text: str, name: str) -> float:
    """The sum of every sample of `name` (any labels)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


class DescriptorLimitTests(E2ECase):
    """ulimit -n 64 and 80 idle connections."""

    IDLE = 80

    def run_at_the_limit(self, args):
        fleet = small_fleet()
        srv = self.start_server(fleet=fleet, args=args, preexec=limit_descriptors(64))
        ids = fleet.ids()
        idle = []
        self.addCleanup(lambda: [s.close() for s in idle])
        for _ in range(self.IDLE):
            idle.append(connect(srv.port))
        time.sleep(1.0)  # let the server take them in (not a timing assertion)

        # The accept loop does not spin: CPU time over a window is a small share of it.
        cpu0, wall0 = cpu_seconds(srv.proc.pid), time.monotonic()
        time.sleep(2.0)
        share = (cpu_seconds(srv.proc.pid) - cpu0) / (time.monotonic() - wall0)
        self.assertLess(share, 0.3, f"the server used {share:.0%} of a core with every descriptor taken")

        # A new client is answered: 503 (over the cap), or served.
        with connect(srv.port) as s:
            s.sendall(request_bytes("POST", api_path(PROJECT_A, STATUS), json.dumps({"jobs": ids[:1]}).encode(),
                                    {"X-Auth-Token": TOKEN_A, "Content-Type": "application/json",
                                     "Connection": "close"}))
            closed, got = wait_closed(s, SLACK)
        self.assertIn(head_of(got), (200, 503), f"a new client got {got[:200]!r}")

        for s in idle:
            s.close()
        idle.clear()
        deadline = time.monotonic() + SLACK
        while True:
            r = srv.metrics()
            if r.status == 200:
                break
            self.assertLess(time.monotonic(), deadline, "the server did not serve again")
            time.sleep(0.1)
        text = r.raw.decode()
        refused = metric(text, "taskorch_http_connections_refused_total")
        self.assertGreater(refused, 0, text)
        self.stop_ok(srv)
        return srv

    def test_default_cap_follows_the_descriptor_limit(self):
        self.run_at_the_limit([])

    def test_a_cap_over_the_descriptor_limit_is_lowered_with_a_warning(self):
        srv = self.run_at_the_limit(["--max-connections", "1024"])
        warnings = [line for line in srv.stderr_lines if "--max-connections" in line]
        self.assertEqual(len(warnings), 1, srv.stderr_lines)
        self.assertIn("lowered", warnings[0])


class HugeBodyTests(E2ECase):
    """--max-body 64 MiB and one HTTP thread: a huge body does not hold the HTTP thread."""

    def test_others_are_answered_while_a_huge_body_is_parsed_and_its_memory_is_returned(self):
        fleet = small_fleet()
        srv = self.start_server(fleet=fleet, args=["--max-body", str(64 << 20), "--threads", "1"])
        ids = fleet.ids()
        small = request_bytes("POST", api_path(PROJECT_A, STATUS), json.dumps({"jobs": ids[:1]}).encode(),
                              {"X-Auth-Token": TOKEN_A, "Content-Type": "application/json"})
        # About 20 MB of JSON with 10 million numbers in an ignored field: a long parse.
        huge = ('{"jobs":["%s"],"zeros":[%s]}' % (ids[0], ",".join(["0"] * 10_000_000))).encode()

        def small_round_trip(sock) -> float:
            start = time.monotonic()
            sock.sendall(small)
            self.assertEqual(read_response(sock).status, 200)
            return time.monotonic() - start

        with connect(srv.port) as warm:
            for _ in range(20):
                small_round_trip(warm)
        before = resident_bytes(srv.proc.pid)

        sent = threading.Event()
        result = {}

        def send_huge():
            with connect(srv.port) as s:
                s.sendall(request_bytes("POST", api_path(PROJECT_A, STATUS), huge,
                                        {"X-Auth-Token": TOKEN_A, "Content-Type": "application/json"}))
                sent.set()
                start = time.monotonic()
                result["status"] = read_response(s).status
                result["after_send"] = time.monotonic() - start

        huge_client = threading.Thread(target=send_huge)
        huge_client.start()
        self.assertTrue(sent.wait(SLACK * 4), "the huge body could not be sent")
        # The time of every small request sent while the huge one was pending (the last one
        # may end after it).
        latencies = []
        with connect(srv.port) as other:
            while huge_client.is_alive():
                latencies.append(small_round_trip(other))
        huge_client.join()
        self.assertEqual(result.get("status"), 200)
        # While the huge body was read and parsed, small requests kept being answered, each in
        # a small part of the time the huge one took.
        self.assertGreaterEqual(len(latencies), 3, result)
        self.assertLess(max(latencies), result["after_send"] / 3,
                        f"a small request took {max(latencies):.3f} s while the huge one took "
                        f"{result['after_send']:.3f} s after it was sent")

        # The memory of the huge request is given back (sanitizer runtimes keep freed memory).
        if sanitized(srv.proc.pid):
            self.skipTest("the memory check needs a build without sanitizers")
        after = resident_bytes(srv.proc.pid)
        self.assertLess(after - before, len(huge) // 4,
                        f"resident {before >> 20} MiB before, {after >> 20} MiB after a {len(huge) >> 20} MiB body")
        self.stop_ok(srv)


if __name__ == "__main__":
    unittest.main()
