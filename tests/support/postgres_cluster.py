#!/usr/bin/env python3
"""A throwaway PostgreSQL cluster for tests: a module and a command-line tool (Python 3, standard
library only).

A cluster lives in a fresh temporary directory, `$TMPDIR/taskorch-pg-XXXXXXXX/`:

    data/            the data directory (initdb)
    sock/            the unix socket directory (nothing else's socket directory is touched)
    postgres.log     the server's log (pg_ctl -l); errors quote its tail
    cluster.json     what this file knows about the cluster (see "Leftovers" below)

It listens on 127.0.0.1 only, on a free port (bind port 0, close, use it; another port is tried
when the server then cannot bind it), with trust authentication (throwaway: anyone on this host
may connect), fsync=off, full_page_writes=off, a small shared_buffers and jit=off. Committed
data survives a stop, a restart and a SIGKILL of the postmaster (crash recovery replays the
WAL); only a crash of the machine itself could lose it, which a test never does.

Roles: the bootstrap superuser `postgres`, and `taskorch`, a plain LOGIN role that owns the
database `taskorch` (so whatever it creates is its own, as for a real deployment that does not
hand the application a superuser). `conninfo` is the libpq URI for taskorch/taskorch.

PostgreSQL refuses to run as root. As root, initdb/pg_ctl run as the `postgres` account
(Debian's postgresql-common creates it; TASKORCH_PG_USER names another) through `runuser`, in a
directory that account owns; otherwise they run as the current user. Clients (psql) run as the
caller and connect over TCP. The binaries come from TASKORCH_PG_BINDIR, else
/usr/lib/postgresql/15/bin, else the newest /usr/lib/postgresql/*/bin, else PATH.

Every subprocess call has a time limit; a call that overruns is killed with its process group
and reported as an error.

Module use:

    from postgres_cluster import PostgresCluster
    with PostgresCluster() as pg:                # start() ... close()
        pg.psql("create table t (x int)")       # as taskorch, on database taskorch
        pg.conninfo                             # postgresql://taskorch@127.0.0.1:PORT/taskorch?...
        pg.kill(); pg.start()                   # SIGKILL the postmaster, start again (recovery)
        pg.terminate_backends("taskorch-node-1")

Command line (for ctest fixtures, FIXTURES_SETUP / FIXTURES_CLEANUP, and for a person):

    postgres_cluster.py start --state-file FILE   starts a detached cluster, writes FILE (JSON:
                                                  conninfo, port, data_dir, pid, owner, ...),
                                                  prints the conninfo
    postgres_cluster.py stop --state-file FILE    stops it, removes its directory and FILE
    postgres_cluster.py run -- CMD ARGS...        starts one, runs CMD with
                                                  TASKORCH_TEST_POSTGRES=<conninfo>, stops it,
                                                  exits with CMD's status
    postgres_cluster.py reap [--all]              stops leftovers (see below)

Leftovers. A cluster must not outlive whoever started it:
  * `start --state-file FILE` refuses to overwrite a FILE whose postmaster is alive (exit 1; it
    says how to stop it), unless given --replace, which stops it first (what a ctest fixture's
    setup wants: a run killed before its cleanup leaves one); a FILE whose postmaster is dead is
    taken as a leftover: its directory is removed and a new cluster replaces it. `stop --state-file FILE` finds the cluster through
    FILE alone (data_dir, pid), so the cleanup fixture needs nothing else; a missing FILE is not
    an error (the setup may have failed before writing it).
  * A cluster created by the module (and by `run`) gets a watchdog: a small detached process
    (`postgres_cluster.py _watch`, in its own session) that stops the cluster and removes its
    directory as soon as the creating process is gone, even when that process was SIGKILLed
    (say by a ctest TIMEOUT); close() ends the watchdog. Interpreter exit closes any cluster left
    open.
  * Every cluster directory holds cluster.json; `reap` stops those whose creating process is
    gone (the watchdog's job, in case the watchdog was killed too), `reap --all` every
    taskorch-pg-* cluster in the temporary folder (detached ones included).
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from typing import Any, Optional, Sequence

SUPERUSER = "postgres"
ROLE = "taskorch"
DATABASE = "taskorch"
DIR_PREFIX = "taskorch-pg-"
CLUSTER_FILE = "cluster.json"
ENV_CONNINFO = "TASKORCH_TEST_POSTGRES"

# Time limits, in seconds.
INITDB_TIMEOUT = 120
START_TIMEOUT = 60
STOP_TIMEOUT = 60
PSQL_TIMEOUT = 60
KILL_TIMEOUT = 30
PORT_ATTEMPTS = 5

SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "full_page_writes": "off",
    "shared_buffers": "'32MB'",
    "huge_pages": "off",
    "jit": "off",
    "max_connections": "100",
    "logging_collector": "off",
    "log_line_prefix": "'%m [%p] %a '",
    "log_min_messages": "warning",
}


class PostgresError(RuntimeError):
    """A step of the cluster's life failed; the message says which, with the log's tail."""


class PostgresNotInstalled(PostgresError):
    """A PostgreSQL program is missing; the message names the Debian package."""


# --- processes ---------------------------------------------------------------------------------

def _proc_stat(pid: int) -> Optional[tuple[str, int, int]]:
    """(state, ppid, start time in clock ticks) of a process, None when there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name is in parentheses and may hold spaces or parentheses itself.
    rest = raw[raw.rfind(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[19])


def _alive(pid: Optional[int], start_time: Optional[int] = None) -> bool:
    """A process with that pid runs (a zombie does not count); with start_time, the same one."""
    if not pid or pid <= 0:
        return False
    st = _proc_stat(pid)
    if st is None or st[0] in ("Z", "X", "x"):
        return False
    return start_time is None or st[2] == start_time


def _start_time(pid: int) -> Optional[int]:
    st = _proc_stat(pid)
    return st[2] if st else None


def _children(pid: int) -> list[tuple[int, int]]:
    """(pid, start time) of each live child of pid."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _proc_stat(int(entry))
            if st and st[1] == pid and st[0] not in ("Z", "X", "x"):
                found.append((int(entry), st[2]))
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _is_postmaster(pid: Optional[int], data_dir: str) -> bool:
    """pid is a live postmaster of data_dir (not some other process that got the pid)."""
    if not _alive(pid):
        return False
    cmd = _cmdline(pid)
    return "postgres" in cmd and bool(data_dir) and data_dir in cmd


def _wait_gone(procs: Sequence[tuple[int, Optional[int]]], limit: float) -> bool:
    deadline = time.monotonic() + limit
    while any(_alive(p, t) for p, t in procs):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _reap(pids: Sequence[int]) -> None:
    """Collects the exit status of those pids that are our dead children (see _adopt_orphans)."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


_subreaper = False


def _adopt_orphans() -> None:
    """Makes this process a child subreaper (Linux prctl), once.

    pg_ctl starts the postmaster and exits, so the postmaster (and, once it is SIGKILLed, its
    children) is re-parented. Where process 1 does not collect dead processes (some container
    init programs do not), each would stay a zombie; a zombie postmaster's pid still looks alive
    to the next postmaster, which then refuses to start. As subreaper, those processes come to
    us instead and _reap() collects the ones we know about (never waitpid(-1): that would steal
    the exit status of the caller's own subprocesses)."""
    global _subreaper
    if _subreaper:
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        _subreaper = libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _clean_env() -> dict[str, str]:
    """The caller's environment without the PG* variables that would redirect a client."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    env.pop("LANG", None)
    return env


def _run(argv: Sequence[str], timeout: float, what: str, *, cwd: Optional[str] = None,
         env: Optional[dict[str, str]] = None, input_text: Optional[str] = None
         ) -> subprocess.CompletedProcess:
    """Runs argv within timeout seconds (its whole process group is killed past it)."""
    try:
        proc = subprocess.Popen(list(argv), cwd=cwd, env=env if env is not None else _clean_env(),
                                stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
    except FileNotFoundError as e:
        raise PostgresNotInstalled(f"{what}: {e}") from None
    try:
        out, err = proc.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise PostgresError(f"{what}: no answer within {timeout:g} s: {' '.join(argv)}") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


# --- programs ----------------------------------------------------------------------------------

_PACKAGES = {"initdb": "postgresql-15", "pg_ctl": "postgresql-15", "postgres": "postgresql-15",
             "psql": "postgresql-client-15 (pulled in by postgresql-15)"}


def _bin_dirs() -> list[str]:
    dirs = []
    if os.environ.get("TASKORCH_PG_BINDIR"):
        dirs.append(os.environ["TASKORCH_PG_BINDIR"])
    dirs.append("/usr/lib/postgresql/15/bin")

    def version(d: str) -> float:
        try:
            return float(d.split("/")[-2])
        except ValueError:
            return 0.0
    dirs += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    return dirs


def find_program(name: str) -> str:
    """The path of a PostgreSQL program; PostgresNotInstalled, naming the package, if none."""
    for d in _bin_dirs():
        path = os.path.join(d, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    path = shutil.which(name)
    if path:
        return path
    raise PostgresNotInstalled(
        f"{name} not found (looked in {', '.join(_bin_dirs())} and PATH): on Debian 12 it comes "
        f"with the package {_PACKAGES.get(name, 'postgresql-15')} "
        f"(apt-get install postgresql-15), or set TASKORCH_PG_BINDIR")


def _owner_account() -> tuple[str, Optional[pwd.struct_passwd]]:
    """The account that runs the server: (name, passwd entry when we must switch to it)."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name, None
    name = os.environ.get("TASKORCH_PG_USER", "postgres")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise PostgresNotInstalled(
            f"running as root, and PostgreSQL refuses to run as root; the account {name!r} that "
            "should run it does not exist (Debian's postgresql-common creates 'postgres'; or set "
            "TASKORCH_PG_USER, or run the tests as a non-root user)") from None
    if entry.pw_uid == 0:
        raise PostgresError(f"TASKORCH_PG_USER={name} is root; PostgreSQL refuses to run as root")
    if not shutil.which("runuser"):
        raise PostgresNotInstalled("running as root needs runuser (Debian package util-linux)")
    return name, entry


def _traversable_by(path: str, entry: pwd.struct_passwd) -> bool:
    """Can the account enter every directory from / down to path (by its mode bits)?"""
    path = os.path.abspath(path)
    parts = [path]
    while os.path.dirname(parts[-1]) != parts[-1]:
        parts.append(os.path.dirname(parts[-1]))
    for p in parts:
        try:
            st = os.stat(p)
        except OSError:
            return False
        if st.st_uid == entry.pw_uid:
            ok = st.st_mode & 0o100
        elif st.st_gid == entry.pw_gid:
            ok = st.st_mode & 0o010
        else:
            ok = st.st_mode & 0o001
        if not ok:
            return False
    return True


def free_port() -> int:
    """A TCP port of 127.0.0.1 free right now (bound to port 0, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quote_literal(text: str) -> str:
    """A SQL string literal (standard_conforming_strings, PostgreSQL's default since 9.1)."""
    if "\0" in text:
        raise ValueError("a SQL literal cannot hold NUL")
    return "'" + text.replace("'", "''") + "'"


_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


# --- the cluster -------------------------------------------------------------------------------

_open_clusters: "set[PostgresCluster]" = set()
_open_lock = threading.Lock()


@atexit.register
def _close_open_clusters() -> None:
    with _open_lock:
        clusters = list(_open_clusters)
    for c in clusters:
        try:
            c.close()
        except Exception as e:  # noqa: BLE001 - exiting anyway
            print(f"postgres_cluster: closing {c.base_dir} at exit: {e}", file=sys.stderr)


class PostgresCluster:
    """A throwaway PostgreSQL cluster in its own temporary directory (see the module's doc).

    start() creates it the first time (initdb, role and database taskorch) and starts the
    postmaster; after stop() or kill() it starts the same cluster again on the same port.
    close() stops it and removes everything. All methods are bounded in time.
    """

    def __init__(self, *, parent_dir: Optional[str] = None, port: Optional[int] = None,
                 settings: Optional[dict[str, str]] = None, watchdog: bool = True,
                 start_timeout: float = START_TIMEOUT) -> None:
        self.initdb = find_program("initdb")
        self.pg_ctl = find_program("pg_ctl")
        find_program("postgres")
        self.psql_program = find_program("psql")
        self.owner, self._owner_entry = _owner_account()
        self._parent_dir = parent_dir
        self._fixed_port = port
        self.port: int = port or 0
        self.settings = dict(SETTINGS, **(settings or {}))
        self.start_timeout = start_timeout
        self._want_watchdog = watchdog
        self._watchdog: Optional[subprocess.Popen] = None
        self.base_dir: Optional[str] = None
        self.pid: Optional[int] = None
        self._initialised = False
        self._detached = False
        self._lock = threading.RLock()

    # -- paths and addresses --

    @property
    def data_dir(self) -> str:
        return os.path.join(self._base(), "data")

    @property
    def socket_dir(self) -> str:
        return os.path.join(self._base(), "sock")

    @property
    def log_file(self) -> str:
        return os.path.join(self._base(), "postgres.log")

    def _base(self) -> str:
        if not self.base_dir:
            raise PostgresError("the cluster has not been created (call start())")
        return self.base_dir

    def conninfo_for(self, user: str = ROLE, dbname: str = DATABASE,
                     application_name: Optional[str] = None, connect_timeout: int = 5) -> str:
        """A libpq URI to this cluster over TCP."""
        query = {"connect_timeout": str(connect_timeout)}
        if application_name:
            query["application_name"] = application_name
        return (f"postgresql://{urllib.parse.quote(user, safe='')}@127.0.0.1:{self.port}/"
                f"{urllib.parse.quote(dbname, safe='')}?{urllib.parse.urlencode(query)}")

    @property
    def conninfo(self) -> str:
        """postgresql://taskorch@127.0.0.1:PORT/taskorch?connect_timeout=5"""
        return self.conninfo_for()

    @property
    def admin_conninfo(self) -> str:
        """The superuser's URI, on database taskorch."""
        return self.conninfo_for(user=SUPERUSER)

    # -- running programs as the owner --

    def _as_owner(self, argv: Sequence[str]) -> list[str]:
        if self._owner_entry is not None:
            return ["runuser", "-u", self.owner, "--", *argv]
        return list(argv)

    def _owner_run(self, argv: Sequence[str], timeout: float, what: str
                   ) -> subprocess.CompletedProcess:
        return _run(self._as_owner(argv), timeout, what, cwd=self._base())

    def log_tail(self, lines: int = 30, since: int = 0) -> str:
        try:
            with open(self.log_file, "rb") as f:
                f.seek(since)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(log empty)"

    def _log_size(self) -> int:
        try:
            return os.path.getsize(self.log_file)
        except OSError:
            return 0

    # -- life cycle --

    def _make_dirs(self) -> None:
        parent = self._parent_dir or tempfile.gettempdir()
        if self._owner_entry is not None and not _traversable_by(parent, self._owner_entry):
            parent = "/tmp"  # e.g. TMPDIR under /root: the postgres account cannot reach it
        base = tempfile.mkdtemp(prefix=DIR_PREFIX, dir=parent)
        # The socket's path must fit in sun_path (107 bytes): sock/.s.PGSQL.NNNNN.lock
        if len(os.path.join(base, "sock", ".s.PGSQL.65535.lock")) > 100:
            os.rmdir(base)
            base = tempfile.mkdtemp(prefix=DIR_PREFIX, dir="/tmp")
        self.base_dir = base
        os.mkdir(self.socket_dir, 0o700)
        if self._owner_entry is not None:
            for p in (base, self.socket_dir):
                os.chown(p, self._owner_entry.pw_uid, self._owner_entry.pw_gid)
        with _open_lock:
            _open_clusters.add(self)

    def _write_config(self) -> None:
        conf = dict(self.settings, port=str(self.port),
                    unix_socket_directories=quote_literal(self.socket_dir))
        path = os.path.join(self.data_dir, "taskorch_test.conf")
        with open(path, "w") as f:
            f.write("# written by tests/support/postgres_cluster.py\n")
            for k, v in conf.items():
                f.write(f"{k} = {v}\n")
        if self._owner_entry is not None:
            os.chown(path, self._owner_entry.pw_uid, self._owner_entry.pw_gid)

    def start(self) -> "PostgresCluster":
        """Creates the cluster if needed and starts the postmaster (a no-op when it runs)."""
        with self._lock:
            if self.base_dir and self.running():
                return self
            first = not self._initialised
            try:
                if first:
                    self._make_dirs()
                    self._init()
                if not self._detached:
                    _adopt_orphans()
                self._start_postmaster(may_change_port=first and not self._fixed_port)
                if first:
                    self.psql(f"CREATE ROLE {ROLE} LOGIN", user=SUPERUSER, dbname="postgres")
                    self.psql(f"CREATE DATABASE {DATABASE} OWNER {ROLE}", user=SUPERUSER,
                              dbname="postgres")
                self._write_cluster_file()
                if self._want_watchdog and not self._detached and self._watchdog is None:
                    self._start_watchdog()
            except BaseException:
                if first:
                    self.close()
                raise
            return self

    def _init(self) -> None:
        r = self._owner_run([self.initdb, "-D", self.data_dir, "-U", SUPERUSER, "--auth=trust",
                             "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"],
                            INITDB_TIMEOUT, "initdb")
        if r.returncode != 0:
            raise PostgresError(f"initdb failed (exit {r.returncode}):\n{r.stdout}{r.stderr}")
        with open(os.path.join(self.data_dir, "postgresql.conf"), "a") as f:
            f.write("\ninclude 'taskorch_test.conf'\n")
        self._initialised = True

    def _start_postmaster(self, may_change_port: bool) -> None:
        self._remove_stale_pid_file()
        attempts = PORT_ATTEMPTS if may_change_port else 1
        shm_deadline = time.monotonic() + 15
        attempt = 0
        while True:
            if not self.port:
                self.port = free_port()
            self._write_config()
            offset = self._log_size()
            try:
                r = self._owner_run([self.pg_ctl, "start", "-D", self.data_dir, "-l",
                                     self.log_file, "-w", "-t", str(int(self.start_timeout)), "-s"],
                                    self.start_timeout + 15, "pg_ctl start")
            except PostgresError:
                self._kill_postmaster_if_any()  # pg_ctl overran; its postmaster must not stay
                raise
            if r.returncode == 0:
                self.pid = self._read_pid()
                return
            # pg_ctl gave up, the postmaster may still be coming up: make sure it is not.
            self._kill_postmaster_if_any()
            log = self.log_tail(since=offset)
            if "could not bind" in log or "Address already in use" in log:
                attempt += 1
                if attempt < attempts:
                    self.port = 0
                    continue
            elif "pre-existing shared memory block" in log and time.monotonic() < shm_deadline:
                time.sleep(0.5)  # processes of a killed postmaster still on their way out
                continue
            raise PostgresError(f"pg_ctl start failed on port {self.port} (exit {r.returncode}):"
                                f" {r.stdout}{r.stderr}\n--- {self.log_file}:\n{log}")

    def _read_pid(self) -> Optional[int]:
        try:
            with open(os.path.join(self.data_dir, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    def _remove_stale_pid_file(self) -> None:
        """Removes the lock files (postmaster.pid, sock/.s.PGSQL.PORT.lock) of a postmaster that
        is gone. A SIGKILLed postmaster leaves them, and where nobody collects its zombie the
        next server would take the pid for a live postmaster's and refuse to start."""
        locks = [os.path.join(self.data_dir, "postmaster.pid")]
        locks += glob.glob(os.path.join(self.socket_dir, ".s.PGSQL.*.lock"))
        for lock in locks:
            try:
                with open(lock) as f:
                    pid = int(f.readline().strip())
            except (OSError, ValueError):
                continue
            if not _is_postmaster(pid, self.data_dir):
                try:
                    os.unlink(lock)
                except FileNotFoundError:
                    pass

    def running(self) -> bool:
        """The postmaster is up (its pid file names a live postgres)."""
        if not self.base_dir or not os.path.isdir(self.data_dir):
            return False
        pid = self._read_pid()
        return pid is not None and _is_postmaster(pid, self.data_dir)

    def stop(self, mode: str = "fast", timeout: float = STOP_TIMEOUT) -> None:
        """pg_ctl stop -m mode (smart, fast or immediate); a no-op when it is not running."""
        if mode not in ("smart", "fast", "immediate"):
            raise ValueError(f"stop mode {mode!r}: smart, fast or immediate")
        with self._lock:
            if not self.running():
                return
            pid = self._read_pid()
            r = self._owner_run([self.pg_ctl, "stop", "-D", self.data_dir, "-m", mode, "-w",
                                 "-t", str(int(timeout)), "-s"], timeout + 15, "pg_ctl stop")
            if r.returncode != 0 and self.running():
                raise PostgresError(f"pg_ctl stop -m {mode} failed (exit {r.returncode}): "
                                    f"{r.stdout}{r.stderr}\n--- log:\n{self.log_tail()}")
            if pid is not None:
                _wait_gone([(pid, None)], 10)
                _reap([pid])
            self.pid = None

    def kill(self, timeout: float = KILL_TIMEOUT) -> None:
        """SIGKILL the postmaster (a crash), then wait until its processes are gone.

        The backends, checkpointer and the rest notice the postmaster's death and exit by
        themselves; any still there after `timeout` are SIGKILLed too. start() afterwards runs
        crash recovery."""
        with self._lock:
            self._kill_postmaster_if_any(timeout)

    def _kill_postmaster_if_any(self, timeout: float = KILL_TIMEOUT) -> None:
        pid = self._read_pid() if self.base_dir else None
        if pid is None or not _is_postmaster(pid, self.data_dir):
            return
        children = _children(pid)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if not _wait_gone([(pid, None)], 10):
            raise PostgresError(f"postmaster {pid} survived SIGKILL for 10 s")
        if not _wait_gone(children, timeout):
            for child, start in children:
                if _alive(child, start):
                    try:
                        os.kill(child, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            _wait_gone(children, 10)
        _reap([pid] + [child for child, _ in children])
        self._remove_stale_pid_file()
        self.pid = None

    def restart(self, mode: str = "fast") -> "PostgresCluster":
        """Stops (when running) and starts again: same data directory, same port."""
        with self._lock:
            self.stop(mode)
            return self.start()

    def close(self) -> None:
        """Stops the cluster (fast, else immediate, else SIGKILL) and removes its directory."""
        with self._lock:
            errors = []
            if self.base_dir and os.path.isdir(self.base_dir):
                for how in ("fast", "immediate"):
                    try:
                        self.stop(how, timeout=30)
                        break
                    except PostgresError as e:
                        errors.append(str(e))
                try:
                    self._kill_postmaster_if_any()
                except PostgresError as e:
                    errors.append(str(e))
                if self.running():  # keep the directory: stop/reap can still find it
                    raise PostgresError(f"{self.base_dir}: the postmaster would not stop: "
                                        + "; ".join(errors))
                shutil.rmtree(self.base_dir, ignore_errors=True)
            if self._watchdog is not None:
                self._watchdog.terminate()
                try:
                    self._watchdog.wait(10)
                except subprocess.TimeoutExpired:
                    self._watchdog.kill()
                    self._watchdog.wait(10)
                self._watchdog = None
            with _open_lock:
                _open_clusters.discard(self)
            self.pid = None

    def __enter__(self) -> "PostgresCluster":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- clients --

    def psql(self, sql: str, *, user: str = ROLE, dbname: str = DATABASE,
             timeout: float = PSQL_TIMEOUT, application_name: Optional[str] = None) -> str:
        """Runs `psql -X -A -t -c sql` (as `user`, default taskorch, on `dbname`) and returns
        its stdout without the final newline; PostgresError with psql's stderr on failure."""
        argv = [self.psql_program, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                "-d", self.conninfo_for(user, dbname, application_name), "-c", sql]
        r = _run(argv, timeout, "psql", cwd=self._base())
        if r.returncode != 0:
            raise PostgresError(f"psql failed (exit {r.returncode}) on {sql!r}: {r.stderr.strip()}")
        return r.stdout[:-1] if r.stdout.endswith("\n") else r.stdout

    def terminate_backends(self, application_name: Optional[str] = None,
                           wait_ms: int = 5000) -> int:
        """pg_terminate_backend() on every client backend (those with that application_name
        only, when given), except the one asking; waits up to wait_ms for each to end. Returns
        how many were terminated."""
        where = "pid <> pg_backend_pid() AND backend_type = 'client backend'"
        if application_name is not None:
            where += f" AND application_name = {quote_literal(application_name)}"
        out = self.psql(f"SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, {int(wait_ms)}))"
                        f" FROM pg_stat_activity WHERE {where}", user=SUPERUSER,
                        timeout=PSQL_TIMEOUT + wait_ms / 1000)
        return int(out.strip() or 0)

    def create_database(self, name: str) -> str:
        """A fresh database owned by taskorch; returns its URI."""
        if not _IDENT.match(name):
            raise ValueError(f"database name {name!r}: lower-case letters, digits and _")
        self.psql(f"CREATE DATABASE {name} OWNER {ROLE}", user=SUPERUSER, dbname="postgres")
        return self.conninfo_for(dbname=name)

    # -- state, watchdog --

    def state(self) -> dict[str, Any]:
        return {"conninfo": self.conninfo, "admin_conninfo": self.admin_conninfo,
                "port": self.port, "data_dir": self.data_dir, "pid": self.pid or self._read_pid(),
                "owner": self.owner, "base_dir": self.base_dir, "log_file": self.log_file}

    def _write_cluster_file(self) -> None:
        state = self.state()
        if not self._detached:
            state["guard_pid"] = os.getpid()
            state["guard_start"] = _start_time(os.getpid())
        _write_json(os.path.join(self._base(), CLUSTER_FILE), state)

    def _start_watchdog(self) -> None:
        log = open(os.path.join(self._base(), "watchdog.log"), "ab")
        try:
            self._watchdog = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "_watch", "--cluster-dir",
                 self._base(), "--guard-pid", str(os.getpid()),
                 "--guard-start", str(_start_time(os.getpid()))],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                cwd="/", env=_clean_env())
        finally:
            log.close()

    @classmethod
    def attach(cls, state: dict[str, Any]) -> "PostgresCluster":
        """The cluster a state file (or cluster.json) describes, to stop or inspect it."""
        c = cls(watchdog=False, port=int(state["port"]))
        c.base_dir = state.get("base_dir") or os.path.dirname(state["data_dir"])
        c._initialised = True
        c._detached = True
        c.pid = state.get("pid")
        if state.get("owner") and state["owner"] != c.owner and os.geteuid() == 0:
            c.owner, c._owner_entry = state["owner"], pwd.getpwnam(state["owner"])
        return c

    def detach(self) -> None:
        """Lets the cluster outlive this process: no watchdog, no close at exit."""
        self._detached = True
        if self._watchdog is not None:
            self._watchdog.terminate()
            self._watchdog.wait(10)
            self._watchdog = None
        with _open_lock:
            _open_clusters.discard(self)
        if self.base_dir and os.path.isdir(self.base_dir):
            self._write_cluster_file()


def _write_json(path: str, data: dict[str, Any]) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def _looks_like_ours(base_dir: Optional[str]) -> bool:
    return bool(base_dir) and os.path.basename(os.path.normpath(base_dir)).startswith(DIR_PREFIX) \
        and os.path.isdir(os.path.join(base_dir, "data"))


def _dispose(state: dict[str, Any]) -> None:
    """Stops the cluster a state describes (if it runs) and removes its directory."""
    base = state.get("base_dir") or os.path.dirname(state.get("data_dir", ""))
    if not _looks_like_ours(base):
        if base and os.path.isdir(base):
            raise PostgresError(f"{base} does not look like a taskorch-pg cluster; left alone")
        return
    PostgresCluster.attach(state).close()


# --- command line ------------------------------------------------------------------------------

def _cmd_start(args: argparse.Namespace) -> int:
    path = args.state_file
    if os.path.exists(path):
        with open(path) as f:
            try:
                old = json.load(f)
            except json.JSONDecodeError:
                old = None
        if old is None:
            print(f"postgres_cluster: {path} exists and is not a state file; not overwritten",
                  file=sys.stderr)
            return 1
        running = _is_postmaster(old.get("pid"), old.get("data_dir", "")) or \
            PostgresCluster.attach(old).running()
        if running and not args.replace:
            print(f"postgres_cluster: {path} describes a running cluster (postmaster "
                  f"{old.get('pid')}, {old.get('conninfo')}); stop it first: "
                  f"{sys.argv[0]} stop --state-file {path}", file=sys.stderr)
            return 1
        _dispose(old)  # a leftover (or, with --replace, a running one): its directory goes
        os.unlink(path)
    cluster = PostgresCluster(watchdog=False)
    cluster._detached = True
    try:
        cluster.start()
        _write_json(path, cluster.state())
    except BaseException:
        cluster.close()
        raise
    cluster.detach()
    print(cluster.conninfo, flush=True)
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    path = args.state_file
    if not os.path.exists(path):
        print(f"postgres_cluster: no state file {path}: nothing to stop", file=sys.stderr)
        return 0
    with open(path) as f:
        state = json.load(f)
    _dispose(state)
    os.unlink(path)
    return 0


class _Interrupted(Exception):
    pass


def _cmd_run(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("postgres_cluster run: no command (run -- CMD ARGS...)", file=sys.stderr)
        return 2
    caught: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        caught.append(signum)
        raise _Interrupted()
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    child: Optional[subprocess.Popen] = None
    try:
        with PostgresCluster() as cluster:
            env = dict(os.environ, **{ENV_CONNINFO: cluster.conninfo})
            try:
                child = subprocess.Popen(command, env=env)
            except OSError as e:
                print(f"postgres_cluster run: {command[0]}: {e}", file=sys.stderr)
                return 127
            rc = child.wait()
    except (_Interrupted, KeyboardInterrupt):
        if child is not None and child.poll() is None:
            child.send_signal(caught[0] if caught else signal.SIGINT)
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        return 128 + (caught[0] if caught else signal.SIGINT)
    return rc if rc >= 0 else 128 - rc


def _cluster_files() -> list[str]:
    dirs = {tempfile.gettempdir(), "/tmp"}
    return sorted({f for d in dirs for f in glob.glob(os.path.join(d, DIR_PREFIX + "*", CLUSTER_FILE))})


def _cmd_reap(args: argparse.Namespace) -> int:
    for f in _cluster_files():
        try:
            with open(f) as fh:
                state = json.load(fh)
        except (OSError, json.JSONDecodeError):
            continue
        guard = state.get("guard_pid")
        orphan = guard is not None and not _alive(guard, state.get("guard_start"))
        if args.all or orphan:
            print(f"stopping {state.get('base_dir')} ({state.get('conninfo')})")
            _dispose(state)
        else:
            print(f"kept {state.get('base_dir')} ({state.get('conninfo')}): "
                  + (f"its process {guard} runs" if guard else "detached (reap --all stops it)"))
    return 0


def _cmd_watch(args: argparse.Namespace) -> int:
    """The watchdog: stops the cluster once the process that created it is gone."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    state_path = os.path.join(args.cluster_dir, CLUSTER_FILE)
    while not stop:
        if not os.path.exists(state_path):
            return 0  # closed
        if not _alive(args.guard_pid, args.guard_start):
            try:
                with open(state_path) as f:
                    _dispose(json.load(f))
            except (OSError, json.JSONDecodeError):
                shutil.rmtree(args.cluster_dir, ignore_errors=True)
            return 0
        time.sleep(0.5)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="postgres_cluster.py",
        description="A throwaway PostgreSQL cluster on 127.0.0.1 for taskorch's tests.")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("start", help="start a detached cluster, write the state file, print the conninfo")
    p.add_argument("--state-file", required=True)
    p.add_argument("--replace", action="store_true",
                   help="stop the cluster the state file describes, even a running one, first "
                        "(a ctest fixture's setup: a run killed before its cleanup leaves one)")
    p.set_defaults(func=_cmd_start)
    p = sub.add_parser("stop", help="stop the cluster of a state file, remove it and the file")
    p.add_argument("--state-file", required=True)
    p.set_defaults(func=_cmd_stop)
    p = sub.add_parser("run", help=f"run -- CMD ARGS...: CMD with {ENV_CONNINFO} set")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser("reap", help="stop clusters whose creating process is gone")
    p.add_argument("--all", action="store_true", help="every taskorch-pg cluster, detached too")
    p.set_defaults(func=_cmd_reap)
    p = sub.add_parser("_watch")
    p.add_argument("--cluster-dir", required=True)
    p.add_argument("--guard-pid", type=int, required=True)
    p.add_argument("--guard-start", type=int)
    p.set_defaults(func=_cmd_watch)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except PostgresError as e:
        print(f"postgres_cluster: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
