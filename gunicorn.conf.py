"""gunicorn's settings wherever the app is served: gunicorn reads ./gunicorn.conf.py from the
directory it starts in (the image's /app, `make stress`/`make load`, `make bench`); options on the
command line still win.

One sync worker per CPU the process may run on. A page is CPU work (templates, the ORM) with short
waits on PostgreSQL and Redis in between, so more workers than cores only take turns on the same
cores: under `make load` on 2 cores, 4 workers were preempted ~1,800 times a second and served
~130 requests/s; 2 workers served ~138 (bench/README.md). WEB_CONCURRENCY sets the number where
the CPUs the process sees are not the ones it may use (a container's CPU quota).
"""

import os


def cpu_workers() -> int:
    """WEB_CONCURRENCY if set, else the number of CPUs this process may run on."""
    configured = os.environ.get("WEB_CONCURRENCY", "").strip()
    if configured:
        return max(1, int(configured))
    return max(1, len(os.sched_getaffinity(0)))


workers = cpu_workers()
