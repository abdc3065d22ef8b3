"""Production settings pass Django's deployment checks; security headers; no inline script; bandit."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import require

ROOT = Path(settings.BASE_DIR)
PRODUCTION_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": os.environ.get("HOME", "/tmp"),
    "DJANGO_SECRET_KEY": "a-production-like-secret-key-that-is-long-and-random-enough-0123456789-abcdef",
    "DJANGO_ALLOWED_HOSTS": "crm.example.com",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
}


def run_production(*args, tmp_path):
    env = {**PRODUCTION_ENV, "CRM_VAR_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_production_settings_pass_the_deployment_checks(tmp_path):
    result = run_production("manage.py", "check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_hashes_passwords_with_argon2_and_throttles_sign_in(tmp_path):
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='crm.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.PASSWORD_HASHERS[0], s.AXES_FAILURE_LIMIT, s.SESSION_IDLE_TIMEOUT, s.SESSION_COOKIE_AGE,"
        " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.DEBUG)"
    )
    result = run_production("-c", code, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "5",
        "1800",
        "43200",
        "True",
        "True",
        "False",
    ]


def test_pages_carry_the_security_headers(personas, client_for, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    response = client_for(personas.rep_a).get(reverse("crm:home"), secure=True)
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("style-src-attr")[0]  # no inline script or <style> without nonce
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Strict-Transport-Security"].startswith("max-age=3600")
    assert "Strict-Transport-Security" not in client_for(personas.rep_a).get(reverse("crm:home"))  # plain HTTP


def test_htmx_injects_no_indicator_style_and_the_stylesheet_has_the_rule(personas, client_for):
    """htmx would add an un-nonced <style> for its indicators (refused by the CSP): it is switched off."""
    body = client_for(personas.rep_a).get(reverse("crm:home")).content.decode()
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', body).group(1)
    assert json.loads(config)["includeIndicatorStyles"] is False
    css = (ROOT / "static" / "css" / "crm.css").read_text()
    assert ".htmx-indicator { opacity: 0;" in css and ".htmx-request .htmx-indicator" in css


def test_a_page_with_an_inline_block_gets_a_matching_nonce(personas, client_for):
    response = client_for(personas.rep_a).get(reverse("leads:pipeline"))
    nonce = re.search(r"style-src 'self' 'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert f'<style nonce="{nonce}">' in response.content.decode()


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style(?![^>]*\bnonce=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE)


def test_no_template_has_inline_script_or_style_without_the_nonce():
    offenders = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, INLINE_STYLE, EVENT_HANDLER):
            offenders += [f"{template.relative_to(ROOT)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == []


def test_bandit_finds_no_high_severity_issue():
    bandit = shutil.which("bandit") or str(Path(sys.executable).with_name("bandit"))
    require(Path(bandit).exists(), "bandit not installed (pip install -r requirements-dev.txt)")
    packages = ["crm", "accounts", "leads", "followups", "receivables"]
    result = subprocess.run(
        [bandit, "-q", "-r", *packages, "--severity-level", "high", "-x", "*/migrations/*", "-f", "txt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_the_error_pages_render_without_inline_code(client, personas):
    client.force_login(personas.rep_c)
    response = client.get(reverse("accounts:customer_detail", args=[personas.customer_a.pk]))
    assert response.status_code == 404
    assert not INLINE_SCRIPT.search(response.content.decode())
