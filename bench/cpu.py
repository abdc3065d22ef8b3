"""Where a load run's CPU went, and how fast the machine was: two readings that make runs on
different machines comparable.

Nearly the same code served 143-171 requests/s under `make load` on three machines of one kind,
and 93-113 on a fourth, where it slowed down within the hour: the machines differ, and so do the
hours on one machine. A run's throughput alone cannot tell slower code from a slower host. So
each run also records:

- the CPU each group of processes used over the run (web workers, load generator, PostgreSQL,
  Redis), read with psutil before and after, and the web workers' CPU per request. The same code
  on a slower host takes more milliseconds per request;
- a speed index: the CPU time of a fixed piece of pure Python (string formatting, escaping, dict
  and list work, sorting, as a page does), best of a few rounds. Lower is faster.
"""

import contextlib
import html
import time
from dataclasses import dataclass, field

import psutil

# The machine's CPU time by state (psutil.cpu_times(), /proc/stat on Linux; guest time is in user).
_IDLE = ("idle", "iowait")
_BUSY = ("user", "nice", "system", "irq", "softirq", "steal")


@dataclass
class Snapshot:
    at: float  # time.monotonic()
    machine: dict[str, float]  # seconds of CPU time by state, all cores together
    processes: dict[int, tuple[str, float]] = field(default_factory=dict)  # pid -> (group, CPU seconds)


def _cpu_seconds(times) -> float:
    """A process's own CPU (user + system) and that of its children that have ended and been
    waited for: PostgreSQL's backends live a minute at most under Django's CONN_MAX_AGE and end in
    the middle of a run, and their CPU then appears in the postmaster's."""
    return times.user + times.system + times.children_user + times.children_system


def _members(roots: dict[str, int]) -> dict[int, str]:
    """pid -> group of every root process and its descendants now."""
    members = {}
    for group, pid in roots.items():
        with contextlib.suppress(psutil.Error):  # a root that is gone has no one left to count
            root = psutil.Process(pid)
            for process in (root, *root.children(recursive=True)):
                members[process.pid] = group
    return members


def take(roots: dict[str, int], by_name: dict[str, str]) -> Snapshot:
    """CPU seconds so far of every process in a group: `roots` maps a group to a process whose
    descendants all belong to it (gunicorn's master and its workers); `by_name` maps a command
    name to a group for processes started elsewhere (PostgreSQL's backends, Redis)."""
    members = _members(roots)
    processes = {}
    for process in psutil.process_iter(["name", "cpu_times"]):
        times = process.info["cpu_times"]  # None: gone, or not ours to read
        group = members.get(process.pid) or by_name.get(process.info["name"])
        if times is not None and group is not None:
            processes[process.pid] = (group, _cpu_seconds(times))
    times = psutil.cpu_times()
    machine = {state: getattr(times, state, 0.0) for state in (*_BUSY, *_IDLE)}
    return Snapshot(at=time.monotonic(), machine=machine, processes=processes)


def split(before: Snapshot, after: Snapshot, requests: int, server: str) -> dict:
    """Each group's CPU between the two snapshots, in cores (CPU seconds per second), and the
    `server` group's milliseconds per request; the machine's busy, stolen and idle cores.

    A process that started in between counts from zero; one that ended in between counts through
    its parent (see `_cpu_seconds`) when that is in the same group."""
    elapsed = after.at - before.at
    used: dict[str, float] = {}
    for pid, (group, seconds) in after.processes.items():
        start = before.processes.get(pid, (group, 0.0))[1]
        used[group] = used.get(group, 0.0) + max(0.0, seconds - start)
    spent = {state: after.machine.get(state, 0.0) - before.machine.get(state, 0.0) for state in (*_BUSY, *_IDLE)}

    def cores(seconds: float) -> float:
        return round(seconds / elapsed, 2) if elapsed > 0 else 0.0

    result = {
        "seconds": round(elapsed, 1),
        "groups": {group: {"cpu_s": round(seconds, 1), "cores": cores(seconds)} for group, seconds in used.items()},
        "machine": {
            "cpus": cores(sum(spent.values())),
            "busy_cores": cores(sum(spent[state] for state in _BUSY)),
            "steal_cores": cores(spent["steal"]),
            "idle_cores": cores(sum(spent[state] for state in _IDLE)),
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
