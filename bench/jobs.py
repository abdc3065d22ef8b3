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

# bench_data's catch-up runs the jobs in two lanes side by side, as a worker with two processes
# would: each lane in order, the lanes never writing the same rows (a row locked by both would
# deadlock): customers, tiers, receivables and complaints on one side; leads, health and surveys
# on the other. Jobs that write both sides (pool recycling: leads and customers) or read what
# both lanes write (cadences need tiers and dormancy, due-task reminders every task) and any job
# not named here run after both lanes, one by one.
LANES = (
    (
        "accounts.tasks.quarterly_retier",
        "accounts.services.tiering.apply_retier",
        "followups.tasks.mark_dormant",
        "receivables.tasks.run_daily_reminders",
        "followups.tasks.check_sla",
    ),
    (
        "leads.tasks.rescore_leads",
        "accounts.tasks.churn_scan",
        "leads.tasks.send_nurture_touches",
        "followups.tasks.send_nps_surveys",
        "leads.tasks.build_high_potential_list",
        "crm.tasks.drain_outbox",
    ),
)


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


def catch_up_plan() -> list[list[dict]]:
    """The jobs bench_data runs once after loading, as [lane A, lane B, then-one-by-one]."""
    jobs = [job for job in planned() if job["present"] and job["target"] not in CACHES]
    lanes = [[job for name in lane for job in jobs if job["target"] == name] for lane in LANES]
    laned = {job["target"] for lane in lanes for job in lane}
    return [*lanes, [job for job in jobs if job["target"] not in laned]]


def catch_up(run_one, log=print) -> None:
    """Run every job once: the two lanes concurrently, then the rest in order.

    `run_one(target)` runs one job in a process of its own and returns its outcome. A "full run"
    entry is skipped when the beat task before it did the full run already (the quarterly
    re-tier outside its quarter skips; on its first day it does the work)."""
    from concurrent.futures import ThreadPoolExecutor

    def lane(jobs: list[dict]) -> None:
        previous = None
        for job in jobs:
            if job.get("full_run") and previous and previous.get("result") != {"skipped": True}:
                continue
            previous = run_one(job["target"])
            if "error" in previous:
                raise RuntimeError(f"catch-up {job['label']} failed: {previous['error']}")
            log(f"  catch-up {job['label']}: {previous['seconds']}s → {previous['result']}")

    *parallel, last = catch_up_plan()
    with ThreadPoolExecutor(max_workers=len(parallel)) as pool:
        for future in [pool.submit(lane, jobs) for jobs in parallel]:
            future.result()
    lane(last)


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
