"""PostgreSQL crashes under load (`pg_ctl -m immediate stop`) and comes back.

A throwaway cluster (initdb on a free port, in a temporary directory, as the postgres user when
this runs as root) serves gunicorn; four signed-in reps browse and log follow-ups. While the
database is down every request must answer the 503 page within 5 s (no 500, no hang); once it
is back the app must serve again within 30 s; every follow-up the server acknowledged must be
in the database, and no follow-up may exist without its customer's last-follow-up date (no
partial multi-row write). Figures go to bench/results/db-outage-latest.json.

Marked `stress`: runs with CRM_STRESS=1 (`make stress`).
"""

import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from bench.run import BENCH_ENV

from .conftest import ROOT, free_port, stop_process, wait_for

pytestmark = pytest.mark.stress

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TOKEN = re.compile(r"OUTAGE-[0-9a-f]{32}")
STORED_SQL = "SELECT summary FROM followups_followup WHERE summary LIKE '故障回访 %'"
# A follow-up whose customer does not show it as the last one: a multi-row write left half-done.
ORPHANS_SQL = (
    "SELECT count(*) FROM followups_followup f JOIN accounts_customer c ON c.id = f.customer_id "
    "WHERE f.summary LIKE '故障回访 %' AND (c.last_followup_at IS NULL OR c.last_followup_at < f.occurred_at)"
)
SUMMARY = "故障回访 "


def progress(step: str) -> None:
    print(f"[db outage {time.strftime('%H:%M:%S')}] {step}", flush=True)


class Cluster:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="crm-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/crm"
        self.as_user = []
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres account
            account = pwd.getpwnam("postgres")
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def pg(self, *args, timeout=60):
        command = [*self.as_user, str(PG_BIN / args[0]), *args[1:]]
        return subprocess.run(command, cwd=self.dir, capture_output=True, text=True, timeout=timeout, check=True)

    def init(self):
        self.pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        self.start()
        self.pg("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "crm")

    def start(self):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self.pg("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "pg.log"), "-o", options, "-w", "start")

    def crash(self):
        self.pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self):
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            with contextlib.suppress(subprocess.SubprocessError):
                self.pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", timeout=30)
        if pid_file.exists():  # still there: end the postmaster by its PID
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def sql(self, query: str) -> str:
        return self.pg("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-Atc", query, "crm").stdout


class Rep(threading.Thread):
    """A signed-in rep: list, then log a follow-up with a unique token; records every answer."""

    def __init__(self, base: str, username: str, until: threading.Event, log: list):
        super().__init__(daemon=True)
        import requests

        self.base, self.until, self.log = base, until, log
        self.http = requests.Session()
        page = self.http.get(f"{base}/login/", timeout=10)
        token = CSRF.search(page.text).group(1)
        signed = self.http.post(
            f"{base}/login/",
            {"csrfmiddlewaretoken": token, "username": username, "password": "demo1234"},
            headers={"Referer": f"{base}/login/"},
            allow_redirects=False,
            timeout=10,
        )
        assert signed.status_code == 302, signed.text[:500]
        listing = self.http.get(f"{base}/customers/", timeout=10).text
        self.customers = sorted(set(re.findall(r'href="/customers/(\d+)/"', listing)))
        assert self.customers

    def call(self, method, path, kind, **kwargs):
        import requests

        started = time.monotonic()
        try:
            response = self.http.request(method, self.base + path, timeout=15, allow_redirects=False, **kwargs)
            status, body = response.status_code, response.text
        except requests.RequestException as exc:
            status, body = 0, repr(exc)
        entry = {"kind": kind, "start": started, "seconds": time.monotonic() - started, "status": status}
        self.log.append(entry)
        return status, body, entry

    def run(self):
        step = 0
        while not self.until.is_set():
            step += 1
            customer = self.customers[step % len(self.customers)]
            self.call("GET", "/customers/", "page")
            status, body, _ = self.call("GET", f"/followups/log/{customer}/", "page")
            match = CSRF.search(body) if status == 200 else None
            if match:
                token = f"OUTAGE-{uuid.uuid4().hex}"
                data = {
                    "csrfmiddlewaretoken": match.group(1),
                    "method": "call",
                    "occurred_at": datetime.now().strftime("%Y-%m-%dT%H:%M"),  # noqa: DTZ005 - the form's local time
                    "summary": SUMMARY + token,
                }
                headers = {"Referer": f"{self.base}/followups/log/{customer}/"}
                _, _, entry = self.call("POST", f"/followups/log/{customer}/", "write", data=data, headers=headers)
                entry["token"] = token
            time.sleep(0.2)


def test_a_database_crash_answers_503_fast_and_the_app_recovers_without_losing_writes(tmp_path):
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL server binaries not found in {PG_BIN} (apt-get install postgresql)")
    cluster = Cluster()
    server = None
    stop_load = threading.Event()
    log: list[dict] = []
    try:
        cluster.init()
        progress("cluster up")
        env = {
            **os.environ,
            **BENCH_ENV,
            "DATABASE_URL": cluster.url,
            "DATABASE_CONNECT_TIMEOUT": "2",
            "CRM_VAR_DIR": str(tmp_path / "var"),
            "LOG_LEVEL": "CRITICAL",
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.pop("DJANGO_TESTING", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
        # The demo users and customers only: what the reps below need, nothing more to break.
        seed = "from crm import demo; demo.seed_customers(users=demo.seed_users(), total=40)"
        subprocess.run([sys.executable, "manage.py", "shell", "-c", seed], cwd=ROOT, env=env, check=True, timeout=300)
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True
        )
        progress("database ready")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        gunicorn = [sys.executable, "-m", "gunicorn", "crm.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        server = subprocess.Popen(
            [*gunicorn, "--workers", "2", "--timeout", "30"],
            cwd=ROOT,
            env=env,
            stdout=(tmp_path / "gunicorn.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        import requests

        def answers_ok():
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"{base}/login/", timeout=5).status_code == 200
            return False

        wait_for(answers_ok, timeout=60, message="gunicorn")
        progress("serving")
        reps = [Rep(base, name, stop_load, log) for name in ("rep", "rep2", "rep3", "senior")]
        for rep in reps:
            rep.start()
        time.sleep(8)

        crashed_at = time.monotonic()
        cluster.crash()
        progress("database crashed")
        time.sleep(12)
        # The outage ends when the restart begins: pg_ctl start returns a little after the server
        # accepts connections, and a fast page can be served in between.
        restarting_at = time.monotonic()
        cluster.start()
        restarted_at = time.monotonic()
        progress("database restarted")
        recovered_at = wait_for(
            lambda: (
                answers_ok()
                and reps[0].http.get(f"{base}/customers/", timeout=10).status_code == 200
                and time.monotonic()
            ),
            timeout=30,
            interval=0.25,
            message="the app to serve again after the restart",
        )
        time.sleep(8)
    finally:
        stop_load.set()
        for rep in [t for t in threading.enumerate() if isinstance(t, Rep)]:
            rep.join(timeout=30)
        hung = [t for t in threading.enumerate() if isinstance(t, Rep) and t.is_alive()]
        if server is not None:
            stop_process(server)
        try:
            acknowledged = {e["token"] for e in log if e.get("token") and e["status"] == 302}
            stored = set(TOKEN.findall(cluster.sql(STORED_SQL)))
            orphans = cluster.sql(ORPHANS_SQL).strip()
        finally:
            cluster.destroy()

    assert not hung, "a client thread hung"
    outage = [e for e in log if crashed_at + 0.5 < e["start"] and e["start"] + e["seconds"] < restarting_at]
    assert outage, "no request was made while the database was down"
    assert {e["status"] for e in outage} == {503}, sorted({e["status"] for e in outage})
    assert max(e["seconds"] for e in outage) < 5
    broken = [e for e in log if e["status"] == 0 or (e["status"] >= 500 and e["status"] != 503)]
    assert not broken, broken
    after = [e for e in log if e["start"] > recovered_at + 1]
    assert after
    not_served = [e for e in after if e["status"] not in (200, 302)]
    assert not not_served, not_served
    assert acknowledged and acknowledged <= stored  # every acknowledged write survived the crash
    assert orphans == "0"

    figures = {
        "when": datetime.now().isoformat(timespec="seconds"),  # noqa: DTZ005 - local time for the report
        "requests": len(log),
        "requests_during_outage": len(outage),
        "outage_answers": sorted({e["status"] for e in outage}),
        "slowest_outage_answer_s": round(max(e["seconds"] for e in outage), 2),
        "recovery_after_restart_s": round(recovered_at - restarted_at, 2),
        "writes_acknowledged": len(acknowledged),
        "writes_missing": len(acknowledged - stored),
    }
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "db-outage-latest.json").write_text(json.dumps(figures, indent=2) + "\n")
