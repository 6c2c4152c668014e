"""Shared helpers of the durability tests of taskorch-server (Python 3 standard library only).

They reuse tests/e2e/e2e_support.py (the Server process, HTTP helpers, fleets) and add what a
data directory needs: a small model of pause and resume, the file layout of a data directory
(docs/storage.md: `journal-<16 hex>.seg`, `checkpoint-<16 hex>.ckpt`, a 32-byte header, then
frames `u32 length, u32 crc32c, payload`, little-endian) and a runner for `--check`.

Every data directory is a fresh temporary folder; servers listen on 127.0.0.1:0.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

from e2e_support import (PAUSABLE, PROJECT_A, RESUME_FROM_PAUSE, RESUME_OF,  # noqa: E402,F401
                         START_TIMEOUT, TOKEN_A, E2ECase, Fleet, Server, server_binary)

HEADER_SIZE = 32
FRAME_OVERHEAD = 8

class TaskModel:
    """One standalone task as pause and resume see it: its DRS status and, while PAUSING, the
    status it was paused from. Only the pausable statuses and PAUSING are modelled (the set is
    closed under pause and resume)."""

    __slots__ = ("status", "origin")

    def __init__(self, status: str, origin: str | None = None) -> None:
        assert status in PAUSABLE or (status == "PAUSING" and origin in PAUSABLE), (status, origin)
        self.status = status
        self.origin = origin

    def copy(self) -> "TaskModel":
        return TaskModel(self.status, self.origin)

    def apply(self, op: str) -> "TaskModel":
        """The state after `op` ("pause" or "resume"); both always succeed here."""
        if op == "pause":
            if self.status == "PAUSING":
                return self.copy()
            return TaskModel("PAUSING", self.status)
        if self.status == "PAUSING":
            return TaskModel(RESUME_FROM_PAUSE[self.origin])
        return TaskModel(RESUME_OF[self.status])

    def __eq__(self, other) -> bool:
        return isinstance(other, TaskModel) and (self.status, self.origin) == (other.status, other.origin)

    def __repr__(self) -> str:
        return self.status if self.origin is None else f"PAUSING(from {self.origin})"


# --------------------------------------------------------------------------------------------
# Files of a data directory


def segments(data_dir: str) -> list[str]:
    """The journal segments, oldest first (their names sort by first sequence number)."""
    return sorted(n for n in os.listdir(data_dir) if n.startswith("journal-") and n.endswith(".seg"))


def checkpoints(data_dir: str) -> list[str]:
    return sorted(n for n in os.listdir(data_dir) if n.startswith("checkpoint-") and n.endswith(".ckpt"))


def frames(path: str) -> list[tuple[int, int]]:
    """(offset, payload length) of every whole frame of a segment or checkpoint, up to the end
    of the file or a zero length word (a preallocated tail)."""
    with open(path, "rb") as f:
        data = f.read()
    out = []
    at = HEADER_SIZE
    while at + FRAME_OVERHEAD <= len(data):
        (length,) = struct.unpack_from("<I", data, at)
        if length == 0 or at + FRAME_OVERHEAD + length > len(data):
            break
        out.append((at, length))
        at += FRAME_OVERHEAD + length
    return out


def directory_bytes(data_dir: str) -> dict[str, bytes]:
    """Every file of a data directory but LOCK (which holds the pid of its last user), each
    segment without the zeros a running server writes ahead of its data while idle."""
    out = {}
    for name in sorted(os.listdir(data_dir)):
        if name != "LOCK":
            with open(os.path.join(data_dir, name), "rb") as f:
                data = f.read()
            out[name] = data.rstrip(b"\0") if name.endswith(".seg") else data
    return out


def run_check(data_dir: str, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess:
    """`taskorch-server --check --data-dir DIR`."""
    return subprocess.run([server_binary(), "--check", "--data-dir", data_dir], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def run_refused(args: list[str], cwd: str | None = None, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess:
    """Runs the server with `args` (after --listen 127.0.0.1:0), expecting it to stop by itself."""
    return subprocess.run([server_binary(), "--listen", "127.0.0.1:0", *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)
