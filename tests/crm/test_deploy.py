"""Deployment files: docker-compose.yml against the Compose specification, heartbeat health check."""

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from crm.models import Heartbeat
from tests.conftest import require

COMPOSE = Path(settings.BASE_DIR) / "docker-compose.yml"


def test_it_validates_docker_compose_against_the_compose_specification():
    binary = shutil.which("docker-compose")
    require(binary is not None, "docker-compose not installed (apt-get install docker-compose)")
    result = subprocess.run(
        [binary, "-f", str(COMPOSE), "config", "-q"],
        env={"DJANGO_SECRET_KEY": "compose-validation", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_it_runs_every_process_of_the_crm_in_compose_with_healthchecks_and_volumes():
    spec = yaml.safe_load(COMPOSE.read_text())
    services = spec["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert "healthcheck" in services[name], name
    assert "gunicorn" in services["web"]["command"]
    assert {"pgdata", "redisdata"} <= set(spec["volumes"])


@pytest.mark.django_db
def test_it_fails_the_heartbeat_health_check_when_the_job_is_stale():
    with pytest.raises(CommandError):
        call_command("check_heartbeat", max_age=60)
    Heartbeat.objects.create(name="heartbeat", last_run_at=timezone.now() - timedelta(minutes=10), run_count=3)
    with pytest.raises(CommandError):
        call_command("check_heartbeat", max_age=60)
    Heartbeat.objects.filter(name="heartbeat").update(last_run_at=timezone.now())
    call_command("check_heartbeat", max_age=60)


NO_ENVIRONMENT = {"PATH": "/usr/bin:/bin", "CRM_VAR_DIR": "/tmp/crm-deploy-check"}


def run_python(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_it_passes_the_deploy_checks_with_production_settings():
    env = {
        **NO_ENVIRONMENT,
        "DJANGO_SECRET_KEY": "a-long-random-production-secret-key-for-the-deploy-check-0123456789",
        "DJANGO_ALLOWED_HOSTS": "crm.example.com",
        "DJANGO_SECURE_SSL_REDIRECT": "true",
        "DJANGO_HSTS_SECONDS": "31536000",
    }
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "command",
    [["-c", "import crm.wsgi"], ["manage.py", "check", "--deploy"], ["manage.py", "runserver", "--noreload"]],
    ids=["wsgi", "deploy-check", "runserver"],
)
def test_it_refuses_to_start_in_production_without_a_secret_key(command):
    result = run_python(*command, env=NO_ENVIRONMENT)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_a_secret_key_starting_with_a_dollar_sign_is_used_as_it_is():
    """django-environ reads "$NAME" as another variable's value; the key is read raw (one key in
    50 from get_random_secret_key starts with "$": manage.py's throwaway key did, now and then)."""
    key = "$sw^x9-" + "k" * 50
    env = {**NO_ENVIRONMENT, "DJANGO_SETTINGS_MODULE": "crm.settings", "DJANGO_SECRET_KEY": key}
    result = run_python("-c", "from django.conf import settings; print(settings.SECRET_KEY)", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == key


@pytest.mark.parametrize("command", [["check"], ["makemigrations", "--check", "--dry-run"]])
def test_a_fresh_clone_checks_without_a_secret_key(command):
    """Commands that neither serve nor sign run with a throwaway key (manage.KEYLESS_COMMANDS)."""
    result = run_python("manage.py", *command, env=NO_ENVIRONMENT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_serving_process_freezes_its_startup_objects_and_collects_young_objects_less_often():
    env = {**NO_ENVIRONMENT, "DJANGO_SECRET_KEY": "a-long-random-secret-key-for-the-wsgi-start-check-0123456789"}
    result = run_python("-c", "import gc, crm.wsgi; print(gc.get_threshold(), gc.get_freeze_count())", env=env)
    assert result.returncode == 0, result.stderr
    threshold, frozen = result.stdout.strip().rsplit(" ", 1)
    assert threshold == "(50000, 10, 10)"
    assert int(frozen) > 50_000  # Django, the apps and their modules


@pytest.mark.parametrize(
    ("redis_url", "engine", "principal_seconds"),
    [("redis://127.0.0.1:6379/9", "cached_db", 60), ("", "db", 0)],
    ids=["redis", "no-redis"],
)
def test_sessions_and_signed_in_users_are_cached_only_when_the_cache_is_shared(redis_url, engine, principal_seconds):
    """With Redis, sessions are read from the cache and written to the database as well, and the
    signed-in user with their grants is reused (crm/principal.py); without it the cache is per
    process (a session ended or a role taken in one would live on in another): database only."""
    env = {**NO_ENVIRONMENT, "REDIS_URL": redis_url}
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SESSION_ENGINE, settings.PRINCIPAL_CACHE_SECONDS)"
    )
    result = run_python("-c", code, env={**env, "DJANGO_SETTINGS_MODULE": "crm.settings", "DJANGO_DEBUG": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"django.contrib.sessions.backends.{engine} {principal_seconds}"


def test_the_served_application_runs_each_request_in_a_stack_chunk_of_its_own():
    """crm.wsgi.application is Django's handler called through crm.headroom.with_headroom."""
    env = {**NO_ENVIRONMENT, "DJANGO_SECRET_KEY": "a-long-random-secret-key-for-the-wsgi-start-check-0123456789"}
    code = (
        "import crm.wsgi, crm.headroom; from django.core.handlers.wsgi import WSGIHandler; "
        "app = crm.wsgi.application; "
        "print(isinstance(app.__wrapped__, WSGIHandler), app.__code__ is crm.headroom.with_headroom(len).__code__)"
    )
    result = run_python("-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


@pytest.mark.parametrize(
    ("web_concurrency", "expected"),
    [("", None), ("3", 3), (" 5 ", 5)],
    ids=["one-per-cpu", "configured", "configured-with-spaces"],
)
def test_gunicorn_runs_one_worker_per_cpu_unless_told_otherwise(web_concurrency, expected):
    """gunicorn.conf.py (read by gunicorn from the directory it starts in): WEB_CONCURRENCY, else
    one sync worker per CPU the process may run on; the image and compose leave it to that file."""
    env = {**NO_ENVIRONMENT, "WEB_CONCURRENCY": web_concurrency}
    code = "import runpy; print(runpy.run_path('gunicorn.conf.py')['workers'])"
    result = run_python("-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == (expected or len(os.sched_getaffinity(0)))
    image = (Path(settings.BASE_DIR) / "Dockerfile").read_text()
    web = yaml.safe_load(COMPOSE.read_text())["services"]["web"]["command"]
    assert "gunicorn crm.wsgi:application" in web and "--workers" not in web
    assert '"gunicorn", "crm.wsgi:application"' in image and "--workers" not in image


def test_gunicorn_reads_the_projects_settings_file():
    """The file gunicorn loads by default, and its worker count, from the project's directory."""
    env = {**NO_ENVIRONMENT, "DJANGO_SECRET_KEY": "a-long-random-secret-key-for-the-wsgi-start-check-0123456789"}
    result = run_python("-m", "gunicorn", "--print-config", "crm.wsgi:application", env=env)
    assert result.returncode == 0, result.stderr
    printed = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    printed = {name.strip(): value.strip() for name, value in printed.items()}
    assert printed["config"] == "./gunicorn.conf.py"
    assert printed["workers"] == str(len(os.sched_getaffinity(0)))
