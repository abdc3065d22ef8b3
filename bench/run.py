"""`make bench`: serve the app under gunicorn against PostgreSQL and measure warm page latency.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench python -m bench.run --scale 100000

Builds the data set when the database holds a different number of customers, starts gunicorn on
a free loopback port, signs in as benchmark personas, requests each page `--repeat` times after a
warm-up and reports p50/p95/max of the client-observed latency over loopback (an upper bound of
the server time). Results print as a table and are written as JSON to bench/results/.
"""

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from bench.cpu import speed_index

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PASSWORD = "bench-Pass-2026"  # noqa: S105 - see bench/data.py


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Session:
    """A tiny keep-alive HTTP client with cookies and Django's CSRF handshake."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes, float]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), "Host": "127.0.0.1"}
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1{path}"
        started = time.perf_counter()
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            for key, morsel in SimpleCookie(header).items():
                self.cookies[key] = morsel.value
        return response.status, payload, elapsed

    def login(self, username: str) -> None:
        status, page, _ = self.request("GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        status, _, _ = self.request(
            "POST", "/login/", {"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD}
        )
        if status != 302:
            raise SystemExit(f"login as {username} failed ({status})")


BENCH_ENV = {
    "DJANGO_SECRET_KEY": "bench-only-secret-not-for-production-0123456789",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "DJANGO_SECURE_COOKIES": "false",
    "DJANGO_DEBUG": "0",
    "EMAIL_URL": "dummymail://",  # jobs send reminders: count the work, do not print every mail
    "CRM_VAR_DIR": str(ROOT / "var" / "bench"),  # queued messages and uploads of the benchmark
    "LOG_LEVEL": "WARNING",
}
FILTERED = "?industry=manufacturing&sort=name"
ALL_SORTED = "?status=active&sort=-created_at"
PERSONAS = {
    "rep": "bench_rep001",  # the biggest book: ownership is Zipf-shaped
    "manager": "bench_mgr01",
    "finance": "bench_finance",
    "admin": "bench_admin",
}


def job_env() -> dict:
    """The environment of the processes the benchmark starts: its defaults, then the caller's."""
    return {**BENCH_ENV, **os.environ}


def django_setup():
    os.environ.update(job_env())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    import django

    django.setup()


def ensure_data(scale: int) -> dict | None:
    """Migrate; (re)build the data set when the database does not hold `scale` customers."""
    from django.core.management import call_command

    from accounts.models import Customer

    call_command("migrate", verbosity=0)
    if Customer.objects.count() == scale:
        return None
    print(f"building {scale:,} customers …", flush=True)
    started = time.monotonic()
    call_command("bench_data", customers=scale, reset=True)
    seconds = round(time.monotonic() - started, 1)
    print(f"built in {seconds:.0f}s", flush=True)
    return {"seconds": seconds}


def url_names() -> set[str]:
    """Every named URL ("namespace:name") the project has right now."""
    from django.urls import get_resolver

    names = set()

    def walk(patterns, namespace):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                inner = ":".join(filter(None, [namespace, pattern.namespace])) if pattern.namespace else namespace
                walk(pattern.url_patterns, inner)
            elif pattern.name:
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns, "")
    return names


def _first(names: set[str], *candidates: str, containing: str = "") -> str | None:
    for name in candidates:
        if name in names:
            return name
    matches = sorted(n for n in names if containing and containing in n)
    return matches[0] if matches else None


def pages() -> list[dict]:
    """Every page the benchmark measures: {persona, label, path} or {label, missing}.

    Pages of capabilities still being built are looked up by URL name when the benchmark runs and
    reported "not present" until they exist; every dashboard page without arguments is measured."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.urls import NoReverseMatch, reverse

    from accounts.models import Customer
    from accounts.views.customers import PER_PAGE
    from crm.access import scope_owned

    names = url_names()
    users = {key: get_user_model().objects.get(username=name) for key, name in PERSONAS.items()}
    rep_customers = Customer.objects.filter(owner=users["rep"])
    typical = rep_customers.order_by("-id").values_list("id", flat=True).first()
    largest = rep_customers.annotate(n=Count("followups")).order_by("-n").values_list("id", flat=True).first()
    visible = scope_owned(Customer.objects.all(), users["manager"]).count()
    deep = max(1, min(200, visible // PER_PAGE))
    wanted = [
        ("manager", "home", "crm:home", None, ""),
        ("manager", "customer list: page 1", "accounts:customer_list", None, ""),
        ("manager", "customer list: filtered + sorted", "accounts:customer_list", None, FILTERED),
        ("manager", "customer list: search", "accounts:customer_list", None, "?q=%E7%A7%91%E6%8A%80"),
        ("manager", f"customer list: deep page {deep}", "accounts:customer_list", None, f"?page={deep}"),
        ("admin", "customer list: admin, all, sorted", "accounts:customer_list", None, ALL_SORTED),
        ("rep", "customer list: rep", "accounts:customer_list", None, ""),
        ("rep", "customer detail (typical)", "accounts:customer_detail", [typical], ""),
        ("rep", "customer detail (largest)", "accounts:customer_detail", [largest], ""),
        ("rep", "My day", "followups:my_day", None, ""),
        ("manager", "team discipline", "followups:team", None, ""),
        ("rep", "lead pool", "leads:pool", None, ""),
        ("manager", "lead list", "leads:lead_list", None, ""),
        ("manager", "pipeline", "leads:pipeline", None, ""),
        ("manager", "tier matrix", _first(names, "accounts:tier_matrix", containing="matrix"), None, ""),
        ("finance", "aging report", _first(names, "receivables:aging", "receivables:dashboard"), None, ""),
        ("manager", "churn warnings", _first(names, "accounts:churn_list", containing="churn"), None, ""),
    ]  # fmt: skip
    wanted += [
        ("manager", f"dashboard: {name.split(':', 1)[1]}", name, None, "")
        for name in sorted(n for n in names if n.startswith("dashboards:"))
    ]
    rows = []
    for persona, label, name, args, query in wanted:
        try:
            rows.append({"persona": persona, "label": label, "path": reverse(name, args=args) + query})
        except NoReverseMatch:
            if name and name.startswith("dashboards:"):
                continue  # a dashboard action that takes arguments (delete …), not a page
            rows.append({"label": label, "missing": True})
        except TypeError:
            rows.append({"label": label, "missing": True})
    return rows


def _percentile(timings: list[float], share: float) -> float:
    return round(timings[max(0, int(len(timings) * share + 0.999) - 1)], 1)


def static_is_fresh() -> bool:
    """collectstatic compresses every file (brotli, minutes for echarts): skip it when the manifest
    is newer than every source file and the npm lock file."""
    manifest = ROOT / "staticfiles" / "staticfiles.json"
    if not manifest.exists():
        return False
    folders = [ROOT / "static", *ROOT.glob("*/static")]  # the project's and each app's
    sources = [ROOT / "package-lock.json", *(p for f in folders for p in f.rglob("*") if p.is_file())]
    return manifest.stat().st_mtime > max(p.stat().st_mtime for p in sources)


def start_server(port: int, env: dict) -> subprocess.Popen:
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    if not static_is_fresh():
        collect = [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"]
        subprocess.run(collect, cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "crm.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(ROOT / "var" / "bench" / "gunicorn.log").open("w"),  # tracebacks of any 500
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit("gunicorn did not start") from None
            time.sleep(0.2)


def stop_server(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _selected(label: str, only: list[str]) -> bool:
    """True when no filter is given or the label contains one of the filter words."""
    return not only or any(word.lower() in label.lower() for word in only)


def measure_pages(repeat: int, warmup: int, only: list[str] | None = None) -> list[dict]:
    only = only or []
    port = free_port()
    env = job_env()
    server = start_server(port, env)
    try:
        sessions = {}
        rows = []
        measured = [page for page in pages() if _selected(page["label"], only)]
        if any(page["label"].startswith("dashboard:") for page in measured):
            rows.append(precompute_dashboards(env))
        for page in measured:
            if page.get("missing"):
                rows.append({"page": page["label"], "present": False})
                continue
            persona = page["persona"]
            if persona not in sessions:
                sessions[persona] = Session(port)
                sessions[persona].login(PERSONAS[persona])
            session = sessions[persona]
            first = session.request("GET", page["path"])  # cold for any cache the page keeps
            warm = {first[0]} | {session.request("GET", page["path"])[0] for _ in range(max(warmup, 1) - 1)}
            if warm == {405}:
                continue  # a POST-only action that shares the namespace, not a page
            timings, statuses = [], set()
            for _ in range(repeat):
                status, _, elapsed = session.request("GET", page["path"])
                statuses.add(status)
                timings.append(elapsed * 1000)
            timings.sort()
            rows.append(
                {
                    "page": page["label"],
                    "present": True,
                    "path": page["path"],
                    "persona": persona,
                    "status": sorted(statuses),
                    "p50_ms": round(statistics.median(timings), 1),
                    "p95_ms": _percentile(timings, 0.95),
                    "max_ms": round(timings[-1], 1),
                    "first_ms": round(first[2] * 1000, 1),
                    "n": len(timings),
                }
            )
        return rows
    finally:
        stop_server(server)


def precompute_dashboards(env: dict) -> dict:
    """Beat refreshes the unfiltered dashboards every 30 minutes (crm.dashboards.snapshots): run it
    once, as a deployment would have, so the dashboards are measured as users meet them. Its wall
    time and the slowest on-request computation of each dashboard are reported with the pages."""
    print("  precomputing the dashboards (crm.tasks.refresh_dashboards) …", flush=True)
    outcome = subprocess_json(["bench.jobs", "crm.tasks.refresh_dashboards"], env)
    return {"page": "(dashboards precomputed before measuring)", "present": True, "precompute": outcome}


def subprocess_json(args: list[str], env: dict) -> dict:
    """Run `python -m …` and parse its last stdout line as JSON; an error becomes {"error": …}."""
    done = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return {"error": lines[-1][:300] if lines else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_jobs(only: list[str] | None = None) -> list[dict]:
    """Wall time and peak memory of every beat job, each in its own process (bench/jobs.py)."""
    from bench import jobs

    only = only or []
    env = job_env()
    rows = []
    for job in jobs.planned():
        if not _selected(job["label"], only):
            continue
        if not job["present"]:
            rows.append({"job": job["label"], "present": False})
            continue
        print(f"  job {job['label']} …", flush=True)
        rows.append(
            {
                "job": job["label"],
                "present": True,
                "target": job["target"],
                **subprocess_json(["bench.jobs", job["target"]], env),
            }
        )
    if not _selected("import 50,000 customers", only):
        return rows
    print("  import of 50,000 rows …", flush=True)
    rows.append(
        {
            "job": "import 50,000 customers",
            "present": True,
            "target": "bench.importer",
            **subprocess_json(["bench.importer", "50000"], env),
        }
    )
    return rows


def machine() -> dict:
    mem = ""
    with contextlib.suppress(OSError, StopIteration), open("/proc/meminfo") as meminfo:
        mem = next(line.split()[1] for line in meminfo if line.startswith("MemTotal"))
    return {
        "cpus": os.cpu_count(),
        "mem_kib": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],  # other work on the machine skews timings
        "speed_index_ms": speed_index(),  # bench/cpu.py: the same code takes longer on a slower machine
    }


def git_revision() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or "unknown"


def _print_table(result: dict) -> None:
    print(
        f"\nscale {result['scale']:,} customers · rev {result['revision']} · {result['machine']['cpus']} cpus"
        f" · load average {result['machine']['load_average'][0]} → {result['load_average_after'][0]}"
    )
    print(f"{'page':<44} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'first ms':>9}  status")
    for row in result["pages"]:
        if not row["present"]:
            print(f"{row['page']:<44} {'not present':>26}")
        elif "precompute" in row:
            done = row["precompute"]
            print(f"{row['page']:<44} {done.get('seconds', '?')} s  {done.get('result', done.get('error'))}")
        else:
            print(
                f"{row['page']:<44} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['max_ms']:>8}"
                f" {row.get('first_ms', ''):>9}  {row['status']}"
            )
    print(f"\n{'job':<44} {'seconds':>8} {'peak MiB':>9}  result")
    for row in result["jobs"]:
        if not row["present"]:
            print(f"{row['job']:<44} {'not present':>18}")
        elif "error" in row:
            print(f"{row['job']:<44} {'failed':>18}  {row['error']}")
        else:
            print(
                f"{row['job']:<44} {row['seconds']:>8} {row['peak_rss_mib']:>9}  "
                f"{json.dumps(row['result'], default=str)[:60]}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=int(os.environ.get("SCALE", 100_000)))
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--skip-jobs", action="store_true", help="pages only")
    parser.add_argument("--skip-pages", action="store_true", help="jobs (and the import) only")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="WORD",
        help="measure only pages and jobs whose label contains WORD (repeatable; case-insensitive). "
        "A filtered run is written to bench-<scale>-<rev>-partial.json",
    )
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("make bench needs DATABASE_URL=postgres://… (a throw-away benchmark database)")
    django_setup()
    build = ensure_data(args.scale)
    result = {
        "scale": args.scale,
        "revision": git_revision(),
        "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "build": build,
        "repeat": args.repeat,
        "only": args.only,
        "pages": [] if args.skip_pages else measure_pages(args.repeat, args.warmup, args.only),
        "jobs": [] if args.skip_jobs else measure_jobs(args.only),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    _print_table(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"bench-{args.scale}-{result['revision']}{_result_suffix(args)}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    print(f"\nwritten: {out.relative_to(ROOT)}")


def _result_suffix(args) -> str:
    """A pages-only and a jobs-only run of one revision are written side by side, not over each
    other; any other filtered run is "-partial"."""
    if args.skip_jobs and not args.skip_pages:
        return "-pages"
    if args.skip_pages and not args.skip_jobs:
        return "-jobs"
    return "-partial" if (args.only or args.skip_pages or args.skip_jobs) else ""


if __name__ == "__main__":
    main()
