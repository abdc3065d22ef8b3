"""A load run's CPU reading (bench/cpu.py): each group's CPU, the server's per request, the machine's."""

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from bench import cpu

ROOT = Path(__file__).resolve().parents[2]
# A child that spends 0.3 s of CPU, then sleeps on or ends; its parent says when that is done.
BURNING_CHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", '''
import sys, time
while time.process_time() < 0.3:
    pass
print("burnt", flush=True)
if sys.argv[1] == "lives":
    time.sleep(60)
''', sys.argv[1]], stdout=subprocess.PIPE, text=True)
child.stdout.readline()
if sys.argv[1] == "ends":
    child.wait()
print("done", flush=True)
time.sleep(60)
"""


def start(code: str, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-c", code, *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True)


def end(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()


@pytest.mark.parametrize("child", ["lives", "ends"])
def test_a_process_cpu_counts_for_the_group_of_the_process_it_descends_from(child):
    """Whether the child is still there at the second reading or has ended and been waited for."""
    busy, idle = start(BURNING_CHILD, child), start("import time; time.sleep(60)")
    try:
        before = cpu.take({"busy": busy.pid, "idle": idle.pid}, by_name={})
        assert busy.stdout.readline().strip() == "done"
        after = cpu.take({"busy": busy.pid, "idle": idle.pid}, by_name={})
    finally:
        end(busy)
        end(idle)
    groups = cpu.split(before, after, requests=0, server="busy")["groups"]
    assert groups["busy"]["cpu_s"] >= 0.2  # the child's 0.3 s (its interpreter's start may precede `before`)
    assert groups.get("idle", {"cpu_s": 0.0})["cpu_s"] < groups["busy"]["cpu_s"] / 2
    assert os.getpid() not in after.processes  # the test itself is in no group


def test_a_process_started_elsewhere_is_grouped_by_its_command_name():
    sleeper = start("import time; time.sleep(60)")
    try:
        name = psutil.Process(sleeper.pid).name()
        snapshot = cpu.take({}, by_name={name: "named"})
    finally:
        end(sleeper)
    assert snapshot.processes[sleeper.pid][0] == "named"


def snapshot(at: float, processes: dict, **seconds: float) -> cpu.Snapshot:
    machine = dict.fromkeys(("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"), 0.0)
    machine.update(seconds)
    return cpu.Snapshot(at=at, machine=machine, processes=processes)


def test_the_split_gives_cores_per_group_the_servers_cpu_per_request_and_the_machines_cores():
    before = snapshot(100.0, {11: ("web", 1.0), 12: ("web", 2.0), 20: ("postgresql", 0.5), 30: ("locust", 0.0)})
    after = snapshot(
        110.0,
        # worker 12 ended in between (its CPU since `before` is lost); 13 started (counted from 0)
        {11: ("web", 8.0), 13: ("web", 2.0), 20: ("postgresql", 2.5), 30: ("locust", 1.0)},
        user=11.0,
        system=2.0,
        steal=1.0,
        idle=5.0,
        iowait=1.0,
    )
    result = cpu.split(before, after, requests=1000, server="web")
    assert result["seconds"] == 10.0
    assert result["groups"] == {
        "web": {"cpu_s": 9.0, "cores": 0.9},
        "postgresql": {"cpu_s": 2.0, "cores": 0.2},
        "locust": {"cpu_s": 1.0, "cores": 0.1},
    }
    assert result["server_ms_per_request"] == 9.0
    assert result["machine"] == {"cpus": 2.0, "busy_cores": 1.4, "steal_cores": 0.1, "idle_cores": 0.6}
    sentence = cpu.describe(result, server="web")
    assert "web 0.9 cores, 9.0 ms per request; postgresql 0.2 cores; locust 0.1 cores" in sentence
    assert "1.4 of 2 cores busy, 0.1 stolen by the host, 0.6 idle" in sentence


def test_no_requests_leave_the_per_request_figure_out():
    before, after = snapshot(0.0, {1: ("web", 0.0)}), snapshot(5.0, {1: ("web", 1.0)}, user=1.0, idle=9.0)
    assert "server_ms_per_request" not in cpu.split(before, after, requests=0, server="web")


def test_the_speed_index_times_a_fixed_workload():
    assert cpu._workload() == cpu._workload()  # the same work every round
    assert cpu.speed_index(rounds=1) > 0


def load_stress_script():
    spec = importlib.util.spec_from_file_location("stress_script", ROOT / "scripts" / "stress.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RESULT = {
    "when": "2026-11-25T03:00:00+00:00",
    "revision": "abc1234",
    "users": 50,
    "minutes": 5.0,
    "think": "0",
    "gunicorn_workers": 2,
    "redis": True,
    "customers": 600,
    "machine": {"cpus": 2},
    "server_errors": 0,
    "followups_acknowledged": 10,
    "followups_missing": 0,
    "rps": 150.0,
    "min_rps": 150,
    "p95_limit_ms": 300,
    "slow_pages": [],
    "passed": True,
    "pages": [],
}


def test_a_load_report_states_the_cpu_split_and_the_machines_speed():
    stress = load_stress_script()
    before = snapshot(0.0, {1: ("web", 0.0)})
    after = snapshot(10.0, {1: ("web", 15.0)}, user=15.0, idle=5.0)
    result = {
        **RESULT,
        "machine": {"cpus": 2, "speed_index_ms": 48.5, "speed_index_after_ms": 61.3},
        "cpu": cpu.split(before, after, requests=1500, server="web"),
    }
    report = stress.markdown(result)
    assert "web 1.5 cores, 10.0 ms per request" in report
    assert "(bench/cpu.py, lower is faster): 48.5 ms before the run, 61.3 ms after." in report


def test_a_report_of_an_older_run_without_those_readings_still_renders():
    report = load_stress_script().markdown(RESULT)
    assert "throughput **150.0 req/s**" in report
    assert "CPU over the run" not in report
    assert "Speed index" not in report
