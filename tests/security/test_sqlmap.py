"""sqlmap against the search, filter and sort parameters of a live server (OWASP WSTG-INPV-05).

The live server (pytest-django) listens on a free loopback port; sqlmap runs as a child process in
its own process group, with a signed-in manager's session cookie, boolean/error/UNION/stacked
techniques at level 1 (GET parameters; the time-based ones would only re-test the same parameters, slowly), and is
ended by its PID if it overruns. Nothing may be reported injectable.
"""

import os
import re
import shutil
import signal
import subprocess
import urllib.request

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from crm.backends import planted_session_key
from tests.conftest import require

pytestmark = [pytest.mark.sqlmap, pytest.mark.django_db(transaction=True)]

SQLMAP = shutil.which("sqlmap") or "/usr/bin/sqlmap"
TIME_LIMIT = 420  # seconds for the whole run (~80 s alone on 2 cores); past it, its process group is killed
DBMS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

# URL name → the query it is fetched with; every parameter in it is tested.
TARGETS = {
    "accounts:customer_list": "q=MARKER&completeness_below=80&sort=name&page=1",
    "leads:lead_list": "q=MARKER&sort=company",
    "leads:pipeline": "q=MARKER",
    "accounts:churn_warnings": "q=MARKER&sort=score",
    "followups:task_list": "q=MARKER&sort=due_at",
    "crm:audit_users": "sort=username",
}
INJECTABLE = re.compile(r"appears to be '.*' injectable|is vulnerable|identified the following injection point", re.I)


def session_cookie(user) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={planted_session_key(user)}"


def run_bounded(command: list[str], timeout: int) -> tuple[int | None, str]:
    """Run `command` in its own process group; past `timeout`, kill that group by the child's PID."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return None, output
    return process.returncode, output


def test_sqlmap_finds_nothing_injectable_in_search_filter_and_sort_parameters(live_server, personas, tmp_path):
    require(os.path.exists(SQLMAP), "sqlmap not installed (apt-get install sqlmap)")
    cookie = session_cookie(personas.manager_a)
    urls = [f"{live_server.url}{reverse(name)}?{query}" for name, query in TARGETS.items()]
    for url in urls:  # each target answers the signed-in manager (not a bounce to the sign-in page)
        request = urllib.request.Request(url, headers={"Cookie": cookie})  # noqa: S310 (our own live server)
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            assert response.status == 200 and "/login/" not in response.url, url
    targets = tmp_path / "targets.txt"
    targets.write_text("\n".join(urls) + "\n")
    returncode, output = run_bounded(
        [
            SQLMAP,
            "-m",
            str(targets),
            "--cookie",
            cookie,
            "--batch",
            "--dbms",
            DBMS[connection.vendor],
            "--technique",
            "BEUS",
            "--level",
            "1",
            "--risk",
            "1",
            "--threads",
            "2",
            "--skip",
            settings.SESSION_COOKIE_NAME,
            "--output-dir",
            str(tmp_path / "out"),
            "--disable-coloring",
            "--skip-waf",
            "--ignore-code",
            "404",
        ],
        TIME_LIMIT,
    )
    assert returncode is not None, f"sqlmap overran {TIME_LIMIT}s and was killed:\n{output[-3000:]}"
    assert not INJECTABLE.search(output), output[-5000:]
    # It really tested: every target's parameters were tried, none reported.
    tested = re.findall(r"testing URL '([^']+)'", output)
    assert len(tested) == len(urls), output[-3000:]
    assert "do not appear to be injectable" in output, output[-3000:]
