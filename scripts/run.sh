#!/usr/bin/env bash
# `make run`: migrate, seed demo data if the database is empty, then serve with a Celery worker
# (with embedded beat) in the background. Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}

$PY manage.py migrate --no-input -v0
$PY manage.py setup_schedules
$PY manage.py seed_demo --if-empty --customers "${DEMO_CUSTOMERS:-120}"

$PY -m celery -A crm worker --beat --loglevel=INFO --concurrency=1 \
    --schedule=var/celerybeat-schedule &
CELERY_PID=$!
trap 'kill "$CELERY_PID" 2>/dev/null; wait "$CELERY_PID" 2>/dev/null || true' EXIT INT TERM

echo "CRM on http://127.0.0.1:${PORT}/  (demo logins: see README; Ctrl-C to stop)"
$PY manage.py runserver "127.0.0.1:${PORT}"
