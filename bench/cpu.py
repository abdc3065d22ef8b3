"""Where a load run's CPU went, and how fast the machine was: two readings that make runs on
different machines comparable.

Nearly the same code served 143-171 requests/s under `make load` on three machines of one kind,
and 93-113 on a fourth, where it slowed down within the hour: the machines differ, and so do the
hours on one machine. A run's throughput alone cannot tell slower code from a slower host. So
each run also records:

- the CPU each group of processes used over the run (web workers, load generator, PostgreSQL,
  Redis), read from /proc before and after, and the web workers' CPU per request. The same code
  on a slower host takes more milliseconds per request;
- a speed index: the CPU time of a fixed piece of pure Python (string formatting, escaping, dict
  and list work, sorting, as a page does), best of a few rounds. Lower is faster.
"""

import html
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# /proc/stat's cpu line: user nice system idle iowait irq softirq steal (guest time is in user).
_IDLE = ("idle", "iowait")
_BUSY = ("user", "nice", "system", "irq", "softirq", "steal")
_STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


@dataclass
class Snapshot:
    at: float  # time.monotonic()
    machine: dict[str, int]  # /proc/stat's cpu line, in clock ticks
    processes: dict[int, tuple[str, float]] = field(default_factory=dict)  # pid -> (group, CPU seconds)


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(command name, parent pid, CPU seconds) of a process; None if it is gone. The CPU is its own
    (user + system) and that of its children that have ended and been waited for: PostgreSQL's
    backends live a minute at most under Django's CONN_MAX_AGE and end in the middle of a run,
    and their CPU then appears in the postmaster's."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid …": the name may hold spaces or parentheses, so split at the last ")".
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2 :].split()
    return name, int(rest[1]), sum(int(ticks) for ticks in rest[11:15]) / TICKS  # utime stime cutime cstime


def _machine_ticks() -> dict[str, int]:
    with open(PROC / "stat") as stat:
        values = stat.readline().split()[1:]
    return {name: int(value) for name, value in zip(_STAT_FIELDS, values, strict=False)}


def take(roots: dict[str, int], by_name: dict[str, str]) -> Snapshot:
    """CPU seconds so far of every process in a group: `roots` maps a group to a process whose
    descendants all belong to it (gunicorn's master and its workers); `by_name` maps a command
    name to a group for processes started elsewhere (PostgreSQL's backends, Redis)."""
    stats = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (found := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = found
    group_of_root = {pid: group for group, pid in roots.items()}

    def group(pid: int) -> str | None:
        seen = set()
        while pid in stats and pid not in seen:
            if pid in group_of_root:
                return group_of_root[pid]
            seen.add(pid)
            pid = stats[pid][1]
        return None

    processes = {}
    for pid, (name, _parent, seconds) in stats.items():
        owner = group(pid) or by_name.get(name)
        if owner is not None:
            processes[pid] = (owner, seconds)
    return Snapshot(at=time.monotonic(), machine=_machine_ticks(), processes=processes)


def split(before: Snapshot, after: Snapshot, requests: int, server: str) -> dict:
    """Each group's CPU between the two snapshots, in cores (CPU seconds per second), and the
    `server` group's milliseconds per request; the machine's busy, stolen and idle cores.

    A process that started in between counts from zero; one that ended in between counts through
    its parent (see `_stat`) when that is in the same group."""
    elapsed = after.at - before.at
    used: dict[str, float] = {}
    for pid, (group, seconds) in after.processes.items():
        start = before.processes.get(pid, (group, 0.0))[1]
        used[group] = used.get(group, 0.0) + max(0.0, seconds - start)
    ticks = {name: after.machine.get(name, 0) - before.machine.get(name, 0) for name in _STAT_FIELDS}
    all_ticks = sum(ticks.values()) or 1
    cpus = all_ticks / TICKS / elapsed if elapsed > 0 else 0.0

    def cores(seconds: float) -> float:
        return round(seconds / elapsed, 2) if elapsed > 0 else 0.0

    result = {
        "seconds": round(elapsed, 1),
        "groups": {group: {"cpu_s": round(seconds, 1), "cores": cores(seconds)} for group, seconds in used.items()},
        "machine": {
            "cpus": round(cpus, 2),
            "busy_cores": round(cpus * sum(ticks[name] for name in _BUSY) / all_ticks, 2),
            "steal_cores": round(cpus * ticks["steal"] / all_ticks, 2),
            "idle_cores": round(cpus * sum(ticks[name] for name in _IDLE) / all_ticks, 2),
        },
    }
    if server in used and requests:
        result["server_ms_per_request"] = round(used[server] * 1000 / requests, 2)
    return result


def describe(cpu: dict, server: str) -> str:
    """One sentence for a run's report: cores per group, the server's ms per request, the machine."""
    groups = sorted(cpu["groups"].items(), key=lambda item: -item[1]["cores"])
    parts = []
    for group, used in groups:
        per_request = f", {cpu['server_ms_per_request']} ms per request" if group == server else ""
        parts.append(f"{group} {used['cores']} cores{per_request}")
    machine = cpu["machine"]
    return (
        f"CPU over the run ({cpu['seconds']:.0f} s, sign-ins included): {'; '.join(parts)}. "
        f"Machine: {machine['busy_cores']} of {machine['cpus']:.0f} cores busy, "
        f"{machine['steal_cores']} stolen by the host, {machine['idle_cores']} idle."
    )


def _workload() -> int:
    """A fixed piece of pure Python: rows of a table formatted, escaped and joined, sorted, looked up."""
    rows = [{"id": i, "name": f"客户<{i}>", "amount": i * 37 % 1000, "tags": [i % 7, i % 11]} for i in range(20_000)]
    cells = []
    for row in rows:
        cells.append(f"<tr><td>{row['id']}</td><td>{html.escape(row['name'])}</td><td>{row['amount']:,}</td></tr>")
    page = "".join(cells)
    ordered = sorted(rows, key=lambda row: (row["amount"], row["name"]))
    by_tag: dict[int, int] = {}
    for row in ordered:
        for tag in row["tags"]:
            by_tag[tag] = by_tag.get(tag, 0) + 1
    return len(page) + sum(by_tag.values())


def speed_index(rounds: int = 7) -> float:
    """Milliseconds of process CPU for `_workload()`, best of `rounds`: the machine's speed at pure
    Python, lower is faster. The best round is the one least disturbed by other work."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        _workload()
        best = min(best, time.process_time() - started)
    return round(best * 1000, 2)
