"""Beat jobs for the benchmark: which exist, and how long / how much memory each one takes.

Every periodic job is declared in crm/schedules.py; the benchmark measures each of them (except
the heartbeat) as beat would run it: the Celery task called in-process, in a fresh subprocess so
the peak resident memory (ru_maxrss) belongs to that job alone:

    python -m bench.jobs receivables.tasks.run_daily_reminders      → one JSON line

Jobs the issue asks for are matched by keyword in the task name; one without a beat entry is
reported "not present". Re-tier is also measured through its service (`apply_retier`): the beat
task only runs at the start of a quarter, the full recomputation is what must fit the target.
"""

import contextlib
import importlib
import json
import os
import resource
import sys
import time

# (label, keyword in the task name, service that does the job's full work, measured as well)
REQUIRED = [
    ("re-tier", "retier", "accounts.services.tiering.apply_retier"),
    ("churn scan", "churn", None),
    ("payment reminders", "reminder", None),
    ("task reminders", "remind_due", None),
    ("cadences", "cadence", None),
    ("pool recycling", "recycle", None),
]
SKIPPED = {"crm.tasks.heartbeat"}
# Jobs that only precompute what pages show (no data of their own): bench_data's catch-up skips
# them; bench.run runs them before measuring the pages, as beat would have.
CACHES = {"crm.tasks.refresh_dashboards"}


def planned() -> list[dict]:
    """[{label, target, present}] for every scheduled job plus the required ones not scheduled."""
    from crm.schedules import SCHEDULES

    rows, seen = [], set()
    for label, keyword, fallback in REQUIRED:
        match = next((s for s in SCHEDULES if keyword in s.task and s.task not in seen), None)
        if match is not None:
            seen.add(match.task)
            rows.append({"label": label, "target": match.task, "present": True})
        if fallback and _resolve(fallback) is not None:
            # the beat task may skip when it is not due (quarterly): measure the full run as well
            rows.append(
                {
                    "label": f"{label} (full run: {fallback.rpartition('.')[2]})",
                    "target": fallback,
                    "present": True,
                    "full_run": True,
                }
            )
        elif match is None:
            rows.append({"label": label, "target": "", "present": False})
    for schedule in SCHEDULES:
        if schedule.task not in seen and schedule.task not in SKIPPED:
            rows.append({"label": schedule.name, "target": schedule.task, "present": True})
    return rows


def _resolve(target: str):
    """A Celery task by its registered name, else a dotted path to a callable; None if absent."""
    from crm.celery import app

    app.loader.import_default_modules()
    if target in app.tasks:
        return app.tasks[target]
    module, _, name = target.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _rss_mib() -> float:
    """Peak resident memory of this process so far, MiB.

    VmHWM belongs to this program's address space; ru_maxrss survives exec on Linux, so a job
    started by a parent that had grown large (a benchmark run that just built the data set in
    process) would report the parent's peak instead of its own."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run(target: str) -> dict:
    """Run one job in this process; wall time, peak RSS (and the baseline before it), its result."""
    job = _resolve(target)
    if job is None:
        raise SystemExit(f"no such job: {target}")
    baseline = _rss_mib()
    started = time.perf_counter()
    result = job()
    seconds = time.perf_counter() - started
    if hasattr(result, "changes"):  # a RetierPlan
        result = {"customers": result.total, "changed": result.changes}
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(_rss_mib(), 1),
        "baseline_rss_mib": round(baseline, 1),
        "result": result if isinstance(result, dict | int | str | None) else str(result),
    }


def main() -> None:
    from bench.run import django_setup

    django_setup()
    print(json.dumps(run(sys.argv[1]), default=str))
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: nothing to flush, and it is not part of the job


if __name__ == "__main__":
    main()
