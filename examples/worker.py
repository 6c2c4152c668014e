#!/usr/bin/env python3
"""A small taskorch worker (Python 3.9+, standard library only): docs/workers.md explains it.

It follows the project's event stream (GET /v3/{project}/events) and carries out every
command that awaits a worker, here simulated: a start (or a scheduled start) is reported
`start_succeeded`, a terminate `stopped`; a pause, resume or force terminate is confirmed
(`"event":"confirmed"` naming the command). It keeps its position in memory and resumes after
it (Last-Event-ID) when the connection drops; it lists the tasks (list-then-watch) when it has
no position yet or the server no longer keeps it (410). One line per step on stdout.

  python3 examples/worker.py --url http://127.0.0.1:8080 \
      --project 054ba152d480d55b2f5dc0069e7ddef0 --token worker-token
"""

import argparse
import http.client
import json
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

# What the worker does for each command a task awaits: the report that carries it out.
CARRY_OUT = {"start": "start_succeeded", "start_due": "start_succeeded", "stop": "stopped",
             "pause": "confirmed", "resume": "confirmed", "force_stop": "confirmed"}


def log(*words):
    print(*words, flush=True)


class Worker:
    def __init__(self, args):
        self.url = urllib.parse.urlsplit(args.url)
        self.base = f"{args.url.rstrip('/')}/v3/{args.project}"
        self.args = args
        self.position = args.last_event_id  # the last event handled (None: none yet)
        self.seen = {}  # job id -> the highest version handled (list or event)
        self.events = 0
        self.stopping = False
        self.sock = None

    # -- HTTP calls (JSON in, JSON out), retried while the server cannot be reached

    def post(self, path, body):
        data = json.dumps(body).encode()
        for attempt in range(8):
            req = urllib.request.Request(self.base + path, data=data, method="POST", headers={
                "Content-Type": "application/json", "X-Auth-Token": self.args.token})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    return json.load(r)
            except urllib.error.HTTPError as e:
                if e.code < 500:
                    raise
            except OSError:
                pass
            time.sleep(min(0.1 * 2 ** attempt, 5))  # 5xx or no connection: try again
        raise RuntimeError(f"POST {path}: the server did not answer")

    def carry_out(self, job, command, version, position=None):
        """Does what `command` asks of `job` (simulated), then tells the server."""
        if version is not None and self.seen.get(job, -1) >= version:
            log(f"skip pos={position} job={job} version={version} (already handled)")
            return
        self.seen[job] = max(version or 0, self.seen.get(job, -1))
        report = CARRY_OUT[command]
        item = {"job_id": job, "event": report}
        if report == "confirmed":  # only this change's command: not one that replaced it since
            item["command"] = command
            if version is not None:
                item["version"] = version
        (result,) = self.post("/jobs/batch-report", {"jobs": [item]})["results"]
        outcome = "ok" if result["status"] == "success" else result["error_code"]
        log(f"done pos={position} job={job} command={command} via={report} result={outcome}")

    def list_waits(self):
        """list-then-watch: carries out every command awaiting now (tasks and children)."""
        tasks = self.post("/jobs", {"cur_page": 0})["jobs"]
        tasks += [c for t in tasks for c in t.get("children", [])]
        waiting = [t for t in tasks if "awaiting_confirmation" in t]
        log(f"listed tasks={len(tasks)} awaiting={len(waiting)}")
        for t in waiting:
            self.carry_out(t["id"], t["awaiting_confirmation"]["command"], t["version"])

    # -- the event stream

    def open_stream(self):
        """Connects; returns the response once the server sent its 200 head, or None after a
        410 (the position is no longer kept: it moves to the oldest one kept)."""
        conn = http.client.HTTPConnection(self.url.hostname, self.url.port or 80,
                                          timeout=self.args.idle_timeout)
        headers = {"X-Auth-Token": self.args.token, "Accept": "text/event-stream"}
        if self.position is not None:
            headers["Last-Event-ID"] = str(self.position)
        conn.request("GET", urllib.parse.urlsplit(self.base).path + "/events", headers=headers)
        self.sock = conn.sock  # kept to cut the connection when stopping
        response = conn.getresponse()
        if response.status == 410:
            self.position = json.load(response)["oldest"]
            log(f"gone oldest={self.position}")
            return None
        if response.status != 200:
            raise RuntimeError(f"events: HTTP {response.status} {response.read()[:200]!r}")
        return response

    def follow(self, response):
        """Handles the stream's frames until it ends; returns False when the worker is done."""
        frame = {}
        while not self.stopping:
            line = response.readline()
            if not line:
                return not self.stopping  # the connection dropped: reconnect
            line = line.decode().rstrip("\r\n")
            if line:
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name:  # a line starting with ":" is a comment (keep-alive)
                    frame[name] = frame[name] + "\n" + value if name in frame else value
                continue
            if "id" in frame and frame.get("event") != "change":
                self.position = int(frame["id"])  # a keep-alive moving the position along
            if frame.get("event") == "change":
                self.on_change(int(frame["id"]), json.loads(frame["data"]))
                if self.args.max_events and self.events >= self.args.max_events:
                    return False
            elif frame.get("event") == "cut_off":
                log(f"cut_off resume_after={json.loads(frame['data'])['resume_after']}")
                return True
            frame = {}
        return False

    def on_change(self, position, change):
        self.events += 1
        waiting = change["awaiting"]
        log(f"event pos={position} job={change['job_id']} {change['from']}->{change['to']} "
            f"cause={change['cause']} awaiting={waiting} version={change['version']}")
        if waiting is not None:  # carry this command out, then confirm it
            self.carry_out(change["job_id"], waiting, change["version"], position)
        self.position = position  # handled: a reconnection resumes after it

    def run(self):
        if self.args.stop_after_seconds:
            timer = threading.Timer(self.args.stop_after_seconds, self.stop)
            timer.daemon = True
            timer.start()
        must_list = self.position is None
        while not self.stopping:
            try:
                response = self.open_stream()
                if response is None:
                    must_list = True
                    time.sleep(0.1)
                    continue
                log(f"stream after={self.position if self.position is not None else 'now'}")
                if must_list:  # after the stream is open, so that no change falls between
                    self.list_waits()
                    must_list = False
                if not self.follow(response):
                    break
                log(f"dropped pos={self.position}")
            except (OSError, http.client.HTTPException) as e:
                if self.stopping:
                    break
                log(f"dropped pos={self.position} error={e!r}")
                time.sleep(0.2)
            must_list = must_list or self.position is None  # never saw an event: list again
        log(f"exit pos={self.position} events={self.events}")

    def stop(self):
        self.stopping = True
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)  # wakes the read of the stream
            except OSError:
                pass


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8080")
    p.add_argument("--project", required=True, help="the project id (32 hex digits)")
    p.add_argument("--token", required=True, help="a token with the worker role")
    p.add_argument("--last-event-id", type=int, help="resume after this position")
    p.add_argument("--idle-timeout", type=float, default=45.0,
                   help="seconds without a byte (keep-alives included) before reconnecting")
    p.add_argument("--stop-after-seconds", type=float, help="stop after this many seconds")
    p.add_argument("--max-events", type=int, help="stop after handling this many events")
    worker = Worker(p.parse_args())
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())  # ends after the event in hand
    worker.run()


if __name__ == "__main__":
    sys.exit(main())
