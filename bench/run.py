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
}


def django_setup():
    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    import django

    django.setup()


def ensure_data(scale: int) -> None:
    from django.core.management import call_command

    from accounts.models import Customer

    call_command("migrate", verbosity=0)
    if Customer.objects.count() != scale:
        print(f"building {scale:,} customers …", flush=True)
        started = time.monotonic()
        call_command("bench_data", customers=scale, reset=True)
        print(f"built in {time.monotonic() - started:.0f}s", flush=True)


def pages() -> list[tuple[str, str, str]]:
    """(persona, label, path) for every page the benchmark measures; later capabilities add theirs."""
    from accounts.models import Customer

    rep_customer = Customer.objects.filter(owner__username="bench_rep001").order_by("-id").values_list("id", flat=True)
    return [
        ("manager", "home", "/"),
        ("manager", "customer list: page 1", "/customers/"),
        ("manager", "customer list: filtered + sorted", "/customers/?industry=manufacturing&sort=name"),
        ("manager", "customer list: search", "/customers/?q=%E7%A7%91%E6%8A%80"),
        ("manager", "customer list: deep page 200", "/customers/?page=200"),
        ("admin", "customer list: admin, all customers", "/customers/?status=active&sort=-created_at"),
        ("rep", "customer list: rep", "/customers/"),
        ("rep", "customer detail", f"/customers/{rep_customer[0]}/"),
    ]


def measure(scale: int, repeat: int, warmup: int) -> dict:
    port = free_port()
    env = {**BENCH_ENV, **os.environ}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "crm.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        sessions = {}
        for persona, username in (("manager", "bench_mgr01"), ("rep", "bench_rep001"), ("admin", "bench_admin")):
            sessions[persona] = Session(port)
            sessions[persona].login(username)
        rows = []
        for persona, label, path in pages():
            session = sessions[persona]
            for _ in range(warmup):
                session.request("GET", path)
            timings, statuses = [], set()
            for _ in range(repeat):
                status, _, elapsed = session.request("GET", path)
                statuses.add(status)
                timings.append(elapsed * 1000)
            timings.sort()
            rows.append(
                {
                    "page": label,
                    "path": path,
                    "persona": persona,
                    "status": sorted(statuses),
                    "p50_ms": round(statistics.median(timings), 1),
                    "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 1),
                    "max_ms": round(timings[-1], 1),
                    "n": len(timings),
                }
            )
        return {"pages": rows}
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def machine() -> dict:
    mem = ""
    with contextlib.suppress(OSError, StopIteration), open("/proc/meminfo") as meminfo:
        mem = next(line.split()[1] for line in meminfo if line.startswith("MemTotal"))
    return {
        "cpus": os.cpu_count(),
        "mem_kib": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def git_revision() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=int(os.environ.get("SCALE", 100_000)))
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("make bench needs DATABASE_URL=postgres://… (a throw-away benchmark database)")
    django_setup()
    ensure_data(args.scale)
    result = {
        "scale": args.scale,
        "revision": git_revision(),
        "when": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **measure(args.scale, args.repeat, args.warmup),
    }
    print(f"\nscale {args.scale:,} customers · rev {result['revision']} · {result['machine']['cpus']} cpus")
    print(f"{'page':<40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  status")
    for row in result["pages"]:
        print(f"{row['page']:<40} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['max_ms']:>8}  {row['status']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"bench-{args.scale}-{result['revision']}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"\nwritten: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
