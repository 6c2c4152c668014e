#!/usr/bin/env python3
"""taskorch-server --postgres measured side by side in one run (docs/benchmarks.md, "Scale-out"):

1. Commit latency of one batch: a client pauses then resumes windows of B running tasks
   (B = 10 and 10 000), one request at a time on one connection, against a node whose journal
   is PostgreSQL and against the same server in memory (--in-memory). The difference is what
   the commit of one batch costs; beside it, the database's own floor: pgbench's latency of one
   transaction inserting one row, on the same cluster (fsync on).
2. HTTP throughput with wrk (bench/pause_resume10.lua: every request pauses or resumes 10
   tasks): one node holding every partition; in a three-node cluster, wrk sent to the project's
   owner, and to a node that does not own it (every request forwarded). On a two-core machine
   the three nodes share the cores: the figures show the cluster's overhead, not its scaling.

A throwaway PostgreSQL 15 cluster with fsync and full_page_writes on is started under
--data-parent (a disk, not tmpfs). Usage: bench/cluster_http.py [--server PATH] [--help].
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import postgres_cluster  # noqa: E402
import e2e_support as e2e  # noqa: E402

PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"
TOKEN = "bench-token"


def write_fleet(path: str, ids_path: str, tasks: int) -> list[str]:
    ids = [e2e.job_id(n, "b0c4") for n in range(tasks)]
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"jobs": [{"id": i, "project_id": PROJECT, "name": f"bench-{n}", "db_use_type": "sync",
                             "status": "INCRE_TRANSFER_STARTED"} for n, i in enumerate(ids)]}, f)
    with open(ids_path, "w", encoding="utf-8") as f:
        f.write("\n".join(ids) + "\n")
    return ids


class Process(e2e.Server):
    """taskorch-server in memory, or with --postgres as `name`."""

    def __init__(self, server: str, fleet: str | None, conninfo: str | None = None, name: str = "",
                 partitions: int = 16) -> None:
        super().__init__(tokens=[(TOKEN, PROJECT)], fleet=fleet, engine_threads=1)
        self.server = server
        self.conninfo = conninfo
        self.name = name
        self.partitions = partitions

    def command(self) -> list[str]:
        cmd = [self.server, "--listen", "127.0.0.1:0", "--engine-threads", "1", "--token", f"{TOKEN}:{PROJECT}"]
        if self.fleet_path:
            cmd += ["--fleet", self.fleet_path]
        if self.conninfo:
            cmd += ["--postgres", self.conninfo, "--node-name", self.name, "--partitions", str(self.partitions)]
        else:
            cmd += ["--in-memory"]
        return cmd


def batch_latencies(port: int, ids: list[str], size: int, requests: int) -> list[float]:
    """Milliseconds of each of `requests` batches of `size` items, pause and resume in turn."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    windows = [ids[i:i + size] for i in range(0, len(ids) - size + 1, size)]
    headers = {"Content-Type": "application/json", "X-Auth-Token": TOKEN}
    took = []
    for n in range(requests):
        window = windows[(n // 2) % len(windows)]
        if n % 2 == 0:
            action, jobs = "batch-pause-task", [{"job_id": j, "pause_mode": "target"} for j in window]
        else:
            action, jobs = "batch-retry-task", [{"job_id": j} for j in window]
        body = json.dumps({"jobs": jobs})
        start = time.perf_counter()
        conn.request("POST", f"/v3/{PROJECT}/jobs/{action}", body=body, headers=headers)
        r = conn.getresponse()
        answer = r.read()
        took.append((time.perf_counter() - start) * 1000)
        if r.status != 200 or answer.count(b'"success"') != size:
            raise SystemExit(f"cluster_http: batch {n} answered {r.status}: {answer[:300]!r}")
    conn.close()
    return took


def pgbench_floor_ms(pg: postgres_cluster.PostgresCluster, seconds: int) -> float:
    """pgbench's mean latency of one transaction inserting one row (one WAL flush)."""
    pg.psql("CREATE TABLE IF NOT EXISTS bench_floor (n bigint, payload text)")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("INSERT INTO bench_floor VALUES (1, repeat('x', 200));\n")
        script = f.name
    try:
        run = subprocess.run([postgres_cluster.find_program("pgbench"), "-n", "-c", "1", "-T", str(seconds),
                              "-f", script, pg.conninfo], capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(script)
    m = re.search(r"latency average = ([\d.]+) ms", run.stdout)
    if run.returncode != 0 or not m:
        raise SystemExit(f"cluster_http: pgbench failed: {run.stdout}{run.stderr}")
    return float(m.group(1))


def wrk_rps(port: int, ids_path: str, connections: int, seconds: int) -> float:
    env = dict(os.environ, TASKORCH_IDS=ids_path, TASKORCH_TOKEN=TOKEN)
    run = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s",
                          os.path.join(ROOT, "bench", "pause_resume10.lua"),
                          f"http://127.0.0.1:{port}/v3/{PROJECT}/jobs/"],
                         capture_output=True, text=True, env=env, timeout=seconds + 60)
    if run.returncode != 0 or "Non-2xx" in run.stdout:
        raise SystemExit(f"cluster_http: wrk failed: {run.stdout}{run.stderr}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", run.stdout).group(1))


def summary(ms: list[float]) -> str:
    ordered = sorted(ms)
    return (f"median {statistics.median(ordered):8.2f} ms, p90 {ordered[int(len(ordered) * 0.9)]:8.2f} ms "
            f"({len(ordered)} batches)")


def serving_node(nodes: dict[str, Process]) -> str:
    """The node that serves the project itself: a request marked as forwarded already is
    answered only there (every other node refuses it, 503, rather than send it on again)."""
    for name, node in nodes.items():
        r = e2e.http_call(node.port, "POST", f"/v3/{PROJECT}/jobs/batch-status", {"jobs": []}, token=TOKEN,
                          headers={"X-Taskorch-Forwarded": "1"})
        if r.status != 503:
            return name
    return ""


def settled_owner(nodes: dict[str, Process]) -> str:
    """The project's owner once the same node has served it for three looks a second apart."""
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seen.append(serving_node(nodes))
        if len(seen) >= 3 and seen[-1] and seen[-3:] == [seen[-1]] * 3:
            return seen[-1]
        time.sleep(1)
    raise SystemExit(f"cluster_http: the project's partition did not settle: {seen}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.path.join(ROOT, "build", "release", "server", "taskorch-server"))
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--small-batches", type=int, default=400, help="batches of 10 timed")
    parser.add_argument("--large-batches", type=int, default=20, help="batches of 10 000 timed")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--data-parent", default=os.path.join(ROOT, "build", "bench-results"))
    args = parser.parse_args()
    for tool in ("wrk",):
        if not shutil.which(tool):
            raise SystemExit(f"cluster_http: {tool} is missing (Debian: apt-get install {tool})")
    os.environ["TASKORCH_SERVER"] = args.server
    os.makedirs(args.data_parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix="cluster-http-", dir=args.data_parent)
    fleet, ids_path = os.path.join(work, "fleet.json"), os.path.join(work, "ids.txt")
    ids = write_fleet(fleet, ids_path, args.tasks)
    settings = {"fsync": "on", "full_page_writes": "on", "shared_buffers": "'256MB'"}
    pg = postgres_cluster.PostgresCluster(parent_dir=work, settings=settings).start()
    try:
        print(f"server: {args.server}; {args.tasks} running tasks in one project; "
              f"PostgreSQL 15 with fsync on under {work}")
        floor = pgbench_floor_ms(pg, 5)
        print(f"floor: one PostgreSQL transaction inserting one row (pgbench -c1): {floor:.2f} ms")
        memory = Process(args.server, fleet).start()
        node = Process(args.server, fleet, pg.conninfo, "node-1").start()
        try:
            for size, count in ((10, args.small_batches), (10000, args.large_batches)):
                for label, proc in (("in memory", memory), ("PostgreSQL", node)):
                    batch_latencies(proc.port, ids, size, max(count // 10, 2))  # warm-up
                    before = proc.metric_values()
                    timed = summary(batch_latencies(proc.port, ids, size, count))
                    after = proc.metric_values()
                    key = "taskorch_storage_journal_commits_total"
                    per_batch = (after.get(key, 0) - before.get(key, 0)) / count
                    print(f"batch {size:>5}, {label:<10}: {timed}"
                          + (f", {per_batch:.2f} transactions a batch" if proc.conninfo else ""))
            one = wrk_rps(node.port, ids_path, args.connections, args.duration)
            print(f"wrk -c{args.connections}, one node holding every partition: {one:8.0f} req/s")
            others = [Process(args.server, None, pg.conninfo, f"node-{n}").start() for n in (2, 3)]
            try:
                nodes = {"node-1": node, "node-2": others[0], "node-3": others[1]}
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    held = pg.psql("SELECT count(DISTINCT owner) FROM taskorch_partitions "
                                   "WHERE lease_until > now()").strip()
                    if held == "3":
                        break
                    time.sleep(0.5)
                owner = nodes[settled_owner(nodes)]
                time.sleep(3)  # every node has read who owns what
                stranger = next(n for n in nodes.values() if n is not owner)
                at_owner = wrk_rps(owner.port, ids_path, args.connections, args.duration)
                forwarded = wrk_rps(stranger.port, ids_path, args.connections, args.duration)
                print(f"wrk -c{args.connections}, three nodes, sent to the owner:     {at_owner:8.0f} req/s")
                print(f"wrk -c{args.connections}, three nodes, sent to another node: {forwarded:8.0f} req/s "
                      "(every request forwarded)")
            finally:
                for n in others:
                    n.close()
        finally:
            memory.close()
            node.close()
    finally:
        pg.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
