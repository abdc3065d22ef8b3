"""crm.storage.StaticFilesStorage: WhiteNoise's manifest storage, each file's URL worked out once."""

import json

import pytest

from crm.storage import REMEMBERED, StaticFilesStorage


@pytest.fixture
def storage(tmp_path, settings):
    settings.STATIC_URL = "/static/"
    (tmp_path / "staticfiles.json").write_text(
        json.dumps({"version": "1.1", "paths": {"css/crm.css": "css/crm.0123abcd.css"}, "hash": "x"})
    )
    return StaticFilesStorage(location=str(tmp_path), base_url="/static/")


def test_it_answers_the_hashed_url_of_the_manifest_and_remembers_it(storage, monkeypatch):
    assert storage.url("css/crm.css") == "/static/css/crm.0123abcd.css"
    # Answered from memory: the manifest lookup is not made again.
    monkeypatch.setattr(storage, "hashed_files", {})
    assert storage.url("css/crm.css") == "/static/css/crm.0123abcd.css"


def test_a_name_missing_from_the_manifest_fails_every_time(storage):
    for _ in range(2):
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            storage.url("css/missing.css")
    assert "css/missing.css" not in storage._urls


def test_force_asks_the_manifest_again(storage, monkeypatch):
    storage.url("css/crm.css")
    monkeypatch.setattr(storage, "hashed_files", {"css/crm.css": "css/crm.feed.css"})
    assert storage.url("css/crm.css", force=True) == "/static/css/crm.feed.css"


def test_it_remembers_a_bounded_number_of_names(storage, monkeypatch):
    monkeypatch.setattr("crm.storage.REMEMBERED", 1)
    storage.url("css/crm.css")
    monkeypatch.setattr(storage, "hashed_files", {**storage.hashed_files, "css/b.css": "css/b.1.css"})
    assert storage.url("css/b.css") == "/static/css/b.1.css"
    assert list(storage._urls) == ["css/crm.css"]
    assert REMEMBERED >= 1000


def test_production_settings_serve_static_files_through_it():
    from tests.crm.test_deploy import NO_ENVIRONMENT, run_python

    env = {**NO_ENVIRONMENT, "DJANGO_SECRET_KEY": "a-long-random-secret-key-for-the-storage-check-0123456789"}
    code = "import django; django.setup(); from django.conf import settings; print(settings.STORAGES['staticfiles'])"
    result = run_python("-c", code, env={**env, "DJANGO_SETTINGS_MODULE": "crm.settings"})
    assert result.returncode == 0, result.stderr
    assert "crm.storage.StaticFilesStorage" in result.stdout
