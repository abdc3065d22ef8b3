"""gunicorn's settings wherever the app is served: gunicorn reads ./gunicorn.conf.py from the
directory it starts in (the image's /app, `make stress`, `make load`); options given on the
command line still win (`make bench` asks for 2 workers itself).

One sync worker per CPU the process may run on. A page is CPU work (templates, the ORM) with
short waits on PostgreSQL and Redis in between, so more workers than cores only take turns on
the same cores. Under `make load` on 2 cores, 4 workers were preempted ~1,800 times a second and
served 127-132 requests/s in 60 s runs; 2 workers, alternated with them, served 134-142 (README,
"Fault and load runs"). WEB_CONCURRENCY sets the number where the CPUs the process sees are not
the ones it may use (a container's CPU quota).
"""

import os


def cpu_workers() -> int:
    """WEB_CONCURRENCY if set, else the number of CPUs this process may run on."""
    configured = os.environ.get("WEB_CONCURRENCY", "").strip()
    if configured:
        return max(1, int(configured))
    return max(1, len(os.sched_getaffinity(0)))


workers = cpu_workers()
