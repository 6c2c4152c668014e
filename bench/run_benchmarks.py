#!/usr/bin/env python3
"""Runs taskorch-bench with repetitions and reports medians, the goals table and a plot.

Usage (from the repository root, after building the suite, see docs/benchmarks.md):

    bench/run_benchmarks.py                          # run everything, 5 repetitions
    bench/run_benchmarks.py --filter '^pause/' --repetitions 3 --min-time 0.2
    bench/run_benchmarks.py --from-json build/bench-results/results.json   # analyse only
    bench/run_benchmarks.py --repetitions 1 -- --taskorch_smoke   # tiny sizes, seconds

Writes into --out-dir: results.json (Google Benchmark's JSON), console.txt (its console output)
and tables.md (the medians and goals tables in markdown); and the plot to --plot.
Exits 0 even when goals are missed: these are measurements, not tests. Exits non-zero only when
the benchmark cannot be run or its output cannot be read.

Needs python3 and, for the plot, matplotlib (Debian: python3-matplotlib); without matplotlib
the tables are still printed and the plot is skipped with a warning.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------------
# Reading Google Benchmark's JSON
# ---------------------------------------------------------------------------------------------

TIME_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}

# Name segments Google Benchmark appends itself; key:value segments we do not use are ignored.
SUFFIX_SEGMENTS = {"real_time", "manual_time", "process_time"}

# Numeric fields of an entry that are not user counters.
STANDARD_FIELDS = {
    "family_index", "per_family_instance_index", "repetitions", "repetition_index", "threads",
    "iterations", "real_time", "cpu_time", "items_per_second", "bytes_per_second",
    "error_occurred",
}


@dataclass(frozen=True, order=True)
class Key:
    """One row: case (pause, mixed, handler, duplicates, memory), implementation, tasks, batch,
    threads."""

    case: str
    impl: str
    tasks: int | None
    batch: int | None
    threads: int


@dataclass
class Row:
    key: Key
    real_time_s: list[float] = field(default_factory=list)  # per iteration (= one batch)
    items_per_second: list[float] = field(default_factory=list)
    counters: dict[str, list[float]] = field(default_factory=dict)
    from_aggregate: bool = False  # medians taken from Google Benchmark's aggregate entries
    error: str | None = None

    def median(self, metric: str) -> float | None:
        values = {
            "real_time_s": self.real_time_s,
            "items_per_second": self.items_per_second,
        }.get(metric, self.counters.get(metric, []))
        return statistics.median(values) if values else None

    @property
    def repetitions(self) -> int:
        return len(self.real_time_s)


def parse_name(run_name: str, threads_field: int | None) -> Key | None:
    """Splits 'pause/engine/tasks:1000/batch:10/real_time/threads:2' into a Key. Further
    segments without ':' belong to the implementation: 'duplicates/engine/crafted/batch:10000'
    is implementation 'engine/crafted'."""
    parts = run_name.split("/")
    if len(parts) < 2:
        return None
    case, impl = parts[0], parts[1]
    values: dict[str, str] = {}
    for part in parts[2:]:
        if part in SUFFIX_SEGMENTS:
            continue
        name, sep, value = part.partition(":")
        if sep:
            values.setdefault(name, value)
        else:
            impl += "/" + part

    def number(name: str) -> int | None:
        try:
            return int(values[name])
        except (KeyError, ValueError):
            return None

    threads = number("threads") or threads_field or 1
    return Key(case, impl, number("tasks"), number("batch"), threads)


def load_rows(path: Path) -> tuple[dict, dict[Key, Row]]:
    """Reads a result file; medians come from the iterations, else from 'median' aggregates."""
    try:
        with path.open(encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise SystemExit(f"run_benchmarks: cannot read {path}: {e}")
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise SystemExit(f"run_benchmarks: {path} is not Google Benchmark JSON (no 'benchmarks')")

    iterations: dict[Key, Row] = {}
    medians: dict[Key, Row] = {}
    for entry in data["benchmarks"]:
        run_type = entry.get("run_type", "iteration")
        run_name = entry.get("run_name")
        if not run_name:  # older layouts: the name carries the aggregate's suffix
            run_name = entry.get("name", "")
            suffix = "_" + str(entry.get("aggregate_name", ""))
            if run_type == "aggregate" and run_name.endswith(suffix):
                run_name = run_name[: -len(suffix)]
        key = parse_name(run_name, entry.get("threads"))
        if key is None:
            continue
        if run_type == "aggregate":
            if entry.get("aggregate_name") != "median":
                continue
            target = medians
        else:
            target = iterations
        row = target.setdefault(key, Row(key, from_aggregate=target is medians))
        if entry.get("error_occurred"):
            row.error = entry.get("error_message") or "error"
            continue
        unit = TIME_UNIT_SECONDS.get(entry.get("time_unit", "ns"), 1e-9)
        if isinstance(entry.get("real_time"), (int, float)):
            row.real_time_s.append(entry["real_time"] * unit)
        if isinstance(entry.get("items_per_second"), (int, float)):
            row.items_per_second.append(entry["items_per_second"])
        for name, value in entry.items():  # user counters, e.g. bytes_per_task
            if name not in STANDARD_FIELDS and isinstance(value, (int, float)) \
                    and not isinstance(value, bool):
                row.counters.setdefault(name, []).append(float(value))

    rows = dict(iterations)
    for key, row in medians.items():  # --benchmark_report_aggregates_only=true: no iterations
        if key not in rows or (not rows[key].real_time_s and rows[key].error is None):
            rows[key] = row
    return data.get("context", {}), rows


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------


def fmt_rate(value: float | None) -> str:
    if value is None:
        return "n/a"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}/s"
    return f"{value:.3g}/s"


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    for scale, suffix in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {suffix}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_count(value: int | None) -> str:
    return "" if value is None else f"{value:,}".replace(",", " ")


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def text_table(headers: list[str], body: list[list[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h)
              for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in body]
    return "\n".join(out)


def md_table(headers: list[str], body: list[list[str]], right: set[int]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    out = ["| " + " | ".join(headers) + " |",
           "|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in body]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------

CASE_ORDER = {"pause": 0, "mixed": 1, "handler": 2, "duplicates": 3, "memory": 4, "durable": 5,
              "checkpoint": 6}
IMPL_ORDER = {name: i for i, name in enumerate(
    ["engine", "mutex_map", "shared_mutex_map", "tbb", "cuckoo", "floor_1t", "floor_shards",
     "floor", "engine/random", "engine/crafted", "parser/random", "parser/crafted",
     "always", "interval", "none", "in_memory", "floor_fallocate", "floor_zeroed", "recovery"])}


def sort_key(key: Key):
    return (CASE_ORDER.get(key.case, 99), key.case, key.tasks or 0, key.batch or 0,
            IMPL_ORDER.get(key.impl, 99), key.impl, key.threads)


def medians_table(rows: dict[Key, Row]):
    headers = ["case", "impl", "tasks", "batch", "threads", "reps", "items/s (median)",
               "real time / batch (median)", "other counters (median)"]
    body = []
    for key in sorted(rows, key=sort_key):
        row = rows[key]
        others = ", ".join(f"{name}={row.median(name):.4g}" for name in sorted(row.counters))
        reps = "agg" if row.from_aggregate else str(row.repetitions)
        if row.error:
            others = f"ERROR: {row.error}"
        body.append([key.case, key.impl, fmt_count(key.tasks), fmt_count(key.batch),
                     str(key.threads), reps, fmt_rate(row.median("items_per_second")),
                     fmt_time(row.median("real_time_s")), others])
    return headers, body, {2, 3, 4, 5, 6, 7}


@dataclass
class Goal:
    number: str
    what: str
    measured: float | None
    op: str  # ">=" or "<=" ; "" for information only
    target: float | None
    detail: str = ""

    @property
    def verdict(self) -> str:
        if not self.op:
            return "info"
        if self.measured is None or self.target is None:
            return "n/a"
        ok = self.measured >= self.target if self.op == ">=" else self.measured <= self.target
        return "PASS" if ok else "MISS"


class Lookup:
    def __init__(self, rows: dict[Key, Row]):
        self.rows = rows

    def get(self, case, impl, tasks, batch, threads, metric) -> float | None:
        row = self.rows.get(Key(case, impl, tasks, batch, threads))
        if row is None or row.error:
            return None
        return row.median(metric)


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def goals(rows: dict[Key, Row]) -> list[Goal]:
    look = Lookup(rows)
    M = 1_000_000
    out: list[Goal] = []
    for case in ("pause", "mixed"):
        info = case != "pause"
        n = (lambda g: g) if not info else (lambda g: f"({g})")

        def goal(number, what, measured, op, target, detail=""):
            out.append(Goal(n(number), f"{case}: {what}", measured, "" if info else op,
                            target, detail))

        # 1. tasks:1M batch:10000 threads:2, items/s.
        ips = lambda impl: look.get(case, impl, M, 10000, 2, "items_per_second")
        eng = ips("engine")
        goal("1", "engine ÷ mutex_map, items/s (tasks:1000000 batch:10000 threads:2)",
             ratio(eng, ips("mutex_map")), ">=", 2.5)
        tbb, cuckoo = ips("tbb"), ips("cuckoo")
        best = max((v for v in (tbb, cuckoo) if v is not None), default=None)
        which = "" if best is None else ("tbb" if best == tbb else "cuckoo")
        goal("1", "engine ÷ max(tbb, cuckoo), items/s (tasks:1000000 batch:10000 threads:2)",
             ratio(eng, best), ">=", 1.2, f"max is {which}" if which else "")
        goal("1", "engine ÷ floor_shards, items/s (tasks:1000000 batch:10000 threads:2)",
             ratio(eng, ips("floor_shards")), ">=", 0.8)

        # 2. tasks:1M batch:1M, real time per batch, engine threads:1 vs floor_1t.
        rt = lambda impl, tasks, batch: look.get(case, impl, tasks, batch, 1, "real_time_s")
        goal("2", "engine ÷ floor_1t, real time per batch (tasks:1000000 batch:1000000 threads:1)",
             ratio(rt("engine", M, M), rt("floor_1t", M, M)), "<=", 1.0)

        # 3. batch:10 threads:1, real time per batch, engine vs mutex_map.
        goal("3", "engine ÷ mutex_map, real time per batch (tasks:1000000 batch:10 threads:1)",
             ratio(rt("engine", M, 10), rt("mutex_map", M, 10)), "<=", 2.0)
        out.append(Goal(f"({3})", f"{case}: engine ÷ mutex_map, real time per batch "
                        "(tasks:1000 batch:10 threads:1)",
                        ratio(rt("engine", 1000, 10), rt("mutex_map", 1000, 10)), "", 2.0))

    # 4. handler: engine vs floor at batch:10000.
    for batch in (10000, 10):
        hrt = lambda impl: look.get("handler", impl, M, batch, 1, "real_time_s")
        out.append(Goal("4" if batch == 10000 else "(4)",
                        f"handler: engine ÷ floor, real time per batch (tasks:1000000 "
                        f"batch:{batch})", ratio(hrt("engine"), hrt("floor")),
                        "<=" if batch == 10000 else "", 3.0))

    # 6. memory: bytes per task.
    memory = sorted((k for k in rows if k.case == "memory"), key=sort_key)
    # The largest registry measured (tasks:1000000 in the full suite).
    engine_keys = sorted((k for k in memory if k.impl == "engine"),
                         key=lambda k: -(k.tasks or 0))
    value = None
    if engine_keys:
        value = Lookup(rows).get("memory", "engine", engine_keys[0].tasks, engine_keys[0].batch,
                                 engine_keys[0].threads, "bytes_per_task")
    tasks_text = str(engine_keys[0].tasks) if engine_keys else "1000000"
    out.append(Goal("6", f"memory: engine bytes_per_task (tasks:{tasks_text})", value, "<=",
                    128.0))
    for k in memory:
        if k.impl == "engine":
            continue
        v = Lookup(rows).get("memory", k.impl, k.tasks, k.batch, k.threads, "bytes_per_task")
        out.append(Goal("(6)", f"memory: {k.impl} bytes_per_task (tasks:{k.tasks})",
                        v, "", None))

    # 7. duplicates: crafted ids (colliding in job_id::hash()) against random ids, real time
    # per batch, at the batch size of the run (10000 in the full suite).
    for what, where in (("engine", "engine pause"), ("parser", "HTTP body parser")):
        batches = sorted({k.batch for k in rows if k.case == "duplicates"
                          and k.impl.startswith(what + "/") and k.batch is not None})
        for batch in batches or [10000]:
            drt = lambda ids: look.get("duplicates", f"{what}/{ids}", None, batch, 1,
                                       "real_time_s")
            out.append(Goal("7", f"duplicates: {where}, crafted ÷ random ids, real time per "
                            f"batch (batch:{batch})", ratio(drt("crafted"), drt("random")),
                            "<=", 2.0))

    out += durability_goals(look)
    return out


def durability_goals(look: Lookup) -> list[Goal]:
    """The `durable` and `checkpoint` cases (bench/durable.cpp): D1 always against the disk
    floor at the same records per fdatasync, D2 interval against none, D3 none against no
    storage, D4 recovery; the rest is information."""
    M = 1_000_000
    out: list[Goal] = []
    ips = lambda impl, batch, threads=1, tasks=M: look.get("durable", impl, tasks, batch,
                                                          threads, "items_per_second")
    floor = lambda impl, batch: look.get("durable", impl, None, batch, 1, "items_per_second")
    # D1: one caller, so one batch of B records per group commit; the floor writes B records
    # per fdatasync. Both items/s are records/s (every item of the running fleet changes).
    for batch in (10, 10000):
        out.append(Goal("D1", f"durable: always ÷ floor, records/s (batch:{batch} threads:1, "
                        f"{batch} records per fdatasync)",
                        ratio(ips("always", batch), floor("floor", batch)), ">=", 0.8))
    # Eight callers of 10: at best 80 records per fdatasync (records_per_sync says how many).
    out.append(Goal("(D1)", "durable: always ÷ floor, records/s (always batch:10 threads:8 ÷ "
                    "floor batch:80)", ratio(ips("always", 10, 8), floor("floor", 80)), "", None))
    for batch in (10, 10000):
        for threads in (1, 8):
            out.append(Goal("D2", f"durable: interval ÷ none, items/s (batch:{batch} "
                            f"threads:{threads})",
                            ratio(ips("interval", batch, threads), ips("none", batch, threads)),
                            ">=", 0.7))
    for batch in (10, 10000):
        for threads in (1, 8):
            out.append(Goal("(D3)", f"durable: none ÷ in_memory, items/s (batch:{batch} "
                            f"threads:{threads})",
                            ratio(ips("none", batch, threads), ips("in_memory", batch, threads)),
                            "", None))
    out.append(Goal("D4", "durable: recovery of 1M tasks + 100k journal records, seconds",
                    look.get("durable", "recovery", M, None, 1, "real_time_s"), "<=", 2.0))
    for impl in ("floor_fallocate", "floor_zeroed"):
        for batch in (10, 10000):
            out.append(Goal("(D5)", f"durable: {impl} ÷ floor, records/s (batch:{batch})",
                            ratio(floor(impl, batch), floor("floor", batch)), "", None))
    for mode in ("always", "interval"):
        for counter in ("longest_batch_ms", "longest_batch_during_ms",
                        "longest_pause_before_ms", "longest_checkpoint_pause_ms"):
            out.append(Goal("(D6)", f"checkpoint/{mode}: {counter} (tasks:1000000 batch:10)",
                            look.get("checkpoint", mode, M, 10, 1, counter), "", None))
    return out


def goals_table(items: list[Goal]):
    headers = ["goal", "what", "measured", "goal value", "result"]
    body = []
    for g in items:
        if g.target is None:
            target = ""
        elif g.op:
            target = f"{g.op} {g.target:g}"
        else:  # information: the goal it mirrors, in parentheses
            target = f"({'<=' if 'real time' in g.what else '>='} {g.target:g})"
        measured = fmt_ratio(g.measured)
        if g.detail:
            measured += f" ({g.detail})"
        body.append([g.number, g.what, measured, target, g.verdict])
    return headers, body, {2}


# ---------------------------------------------------------------------------------------------
# Plot
# ---------------------------------------------------------------------------------------------


IMPL_COLOURS = {
    "engine": "black", "mutex_map": "tab:red", "shared_mutex_map": "tab:orange",
    "tbb": "tab:blue", "cuckoo": "tab:purple", "floor_1t": "tab:green",
    "floor_shards": "tab:olive",
}


def plot(rows: dict[Key, Row], path: Path, case: str, repetitions_note: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("run_benchmarks: matplotlib is not installed (Debian: apt-get install "
              "python3-matplotlib); no plot written", file=sys.stderr)
        return False

    # One panel per registry size of the case (tasks:1000 and tasks:1000000 in the full suite).
    panels = sorted({k.tasks for k in rows if k.case == case and k.tasks is not None})
    panels = panels or [1000, 1_000_000]
    fig, axes = plt.subplots(1, len(panels), figsize=(14, 5.5), squeeze=False)
    drawn = False
    legend: dict = {}
    for ax, tasks in zip(axes[0], panels):
        series: dict[tuple[str, int], list[tuple[int, float]]] = {}
        for key, row in rows.items():
            if key.case != case or key.tasks != tasks or key.batch is None or row.error:
                continue
            value = row.median("items_per_second")
            if value is None or value <= 0:
                continue
            series.setdefault((key.impl, key.threads), []).append((key.batch, value))
        for (impl, threads) in sorted(series, key=lambda s: (IMPL_ORDER.get(s[0], 99), s)):
            points = sorted(series[(impl, threads)])
            # One colour per implementation; solid: 2 threads, dashed: 1 thread.
            colour = IMPL_COLOURS.get(impl)
            ax.plot([p[0] for p in points], [p[1] for p in points],
                    "-" if threads > 1 else "--", color=colour,
                    marker="o" if threads > 1 else "s", markersize=4,
                    linewidth=2.6 if impl == "engine" else 1.3,
                    label=f"{impl}, {threads} thread{'s' if threads > 1 else ''}")
            drawn = True
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("batch size (jobs per call)")
        ax.set_ylabel("throughput (jobs/s)")
        ax.set_title(f"tasks: {tasks:,}".replace(",", " "))
        ax.grid(True, which="both", alpha=0.3)
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
        if not ax.get_legend_handles_labels()[0]:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle(f"case {case}: throughput against batch size ({repetitions_note})")
    fig.tight_layout(rect=(0, 0, 0.82, 1))
    if legend:  # one legend for both panels, outside them
        fig.legend(list(legend.values()), list(legend.keys()), loc="center right", fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    if not drawn:
        print(f"run_benchmarks: no '{case}' rows to plot; {path} shows empty panels",
              file=sys.stderr)
    return True


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------


def run_benchmark(args, out_dir: Path) -> Path:
    bench = Path(args.bench)
    if not bench.is_file() or not os.access(bench, os.X_OK):
        raise SystemExit(
            f"run_benchmarks: no benchmark binary at {bench}; build it with\n"
            "  cmake --preset release\n"
            "  cmake --build --preset release --target taskorch-bench")
    out_dir.mkdir(parents=True, exist_ok=True)
    results = out_dir / "results.json"
    console = out_dir / "console.txt"
    command = [str(bench), f"--benchmark_out={results}", "--benchmark_out_format=json",
               f"--benchmark_repetitions={args.repetitions}",
               "--benchmark_report_aggregates_only=false",
               "--benchmark_display_aggregates_only=true"]
    if args.min_time is not None:
        command.append(f"--benchmark_min_time={args.min_time:g}")
    if args.filter:
        command.append(f"--benchmark_filter={args.filter}")
    command += args.bench_args
    print("+ " + " ".join(command), flush=True)
    with console.open("w", encoding="utf-8") as log:
        log.write("+ " + " ".join(command) + "\n")
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, errors="replace")
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            log.write(line)
        code = process.wait()
    if code != 0:
        raise SystemExit(f"run_benchmarks: {bench} exited with status {code}; see {console}")
    print(f"saved {results} and {console}")
    return results


def reexec_for_matplotlib() -> None:
    """Debian's python3-matplotlib lives in /usr/bin/python3's path; another python3 found first
    on PATH (pyenv, a venv) would not see it. Re-run under /usr/bin/python3 in that case."""
    import importlib.util

    system = "/usr/bin/python3"
    if importlib.util.find_spec("matplotlib") is not None or os.environ.get("TASKORCH_NO_REEXEC"):
        return
    if not os.access(system, os.X_OK) or os.path.realpath(sys.executable) == os.path.realpath(system):
        return
    probe = subprocess.run([system, "-c", "import matplotlib"], capture_output=True)
    if probe.returncode == 0:
        os.environ["TASKORCH_NO_REEXEC"] = "1"
        os.execv(system, [system, os.path.abspath(__file__), *sys.argv[1:]])


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Run taskorch-bench and report medians, goals and a throughput plot.")
    parser.add_argument("--bench", default="build/release/bench/taskorch-bench",
                        help="benchmark binary (default: %(default)s)")
    parser.add_argument("--repetitions", type=int, default=5,
                        help="--benchmark_repetitions (default: %(default)s)")
    parser.add_argument("--min-time", type=float, default=None, metavar="SECONDS",
                        help="--benchmark_min_time in seconds (default: the library's)")
    parser.add_argument("--filter", default=None, metavar="REGEX",
                        help="--benchmark_filter, passed through")
    parser.add_argument("--out-dir", default="build/bench-results",
                        help="where results.json, console.txt and tables.md go "
                             "(default: %(default)s)")
    parser.add_argument("--plot", default="docs/benchmarks/throughput.png",
                        help="PNG to write (default: %(default)s); '' for none")
    parser.add_argument("--from-json", default=None, metavar="FILE",
                        help="do not run; analyse this Google Benchmark JSON file")
    parser.add_argument("bench_args", nargs="*", metavar="-- ARG",
                        help="further arguments for the binary, after '--' "
                             "(e.g. -- --taskorch_smoke)")
    args = parser.parse_args()
    if args.repetitions < 1:
        parser.error("--repetitions must be at least 1")

    if args.plot:
        reexec_for_matplotlib()

    out_dir = Path(args.out_dir)
    results = Path(args.from_json) if args.from_json else run_benchmark(args, out_dir)
    context, rows = load_rows(results)
    if not rows:
        print(f"run_benchmarks: {results} holds no benchmark rows", file=sys.stderr)

    reps = sorted({r.repetitions for r in rows.values() if not r.from_aggregate})
    reps_note = ("median of " + "/".join(map(str, reps)) + " repetitions") if reps else "medians"

    ctx = context or {}
    machine = (f"{ctx.get('host_name', '?')}: {ctx.get('num_cpus', '?')} CPUs at "
               f"{ctx.get('mhz_per_cpu', '?')} MHz, date {ctx.get('date', '?')}, "
               f"CPU scaling {'on' if ctx.get('cpu_scaling_enabled') else 'off'}, "
               f"load average {ctx.get('load_avg', '?')}")

    m_headers, m_body, m_right = medians_table(rows)
    goal_items = goals(rows)
    g_headers, g_body, g_right = goals_table(goal_items)

    print()
    print(f"Results: {results} ({reps_note})")
    print(f"Machine: {machine}")
    print()
    print("Medians per row (one item = one job; real time per batch = per iteration)")
    print(text_table(m_headers, m_body, m_right))
    print()
    print("Goals (ratios of medians; parenthesised rows are information only)")
    print(text_table(g_headers, g_body, g_right))
    missed = [g for g in goal_items if g.verdict == "MISS"]
    unknown = [g for g in goal_items if g.verdict == "n/a"]
    print()
    print(f"goals: {sum(g.verdict == 'PASS' for g in goal_items)} PASS, {len(missed)} MISS, "
          f"{len(unknown)} n/a (missing rows)")

    out_dir.mkdir(parents=True, exist_ok=True)
    tables = out_dir / "tables.md"
    tables.write_text(
        f"Machine: {machine}; {reps_note}; source `{results}`.\n\n"
        "### Medians\n\n" + md_table(m_headers, m_body, m_right) + "\n\n"
        "### Goals\n\n" + md_table(g_headers, g_body, g_right) + "\n",
        encoding="utf-8")
    print(f"wrote {tables}")

    if args.plot:
        if plot(rows, Path(args.plot), "pause", reps_note):
            print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
