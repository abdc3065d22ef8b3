"""Jobs are enqueued only after the transaction that made them necessary commits, and only with
ids and plain values — never model instances (a worker must re-read the row it acts on)."""

import ast
import inspect
import types
import typing
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from accounts.models import ImportJob
from accounts.services import imports
from crm.celery import app

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ["crm", "accounts", "leads", "followups", "receivables"]
ENQUEUE = {"delay", "apply_async", "send_task"}
# Call sites that are not a business write enqueueing work: they run outside any transaction.
NOT_A_CALL_SITE = {
    ("crm/celery.py", "apply_async"),  # the task class itself (super().apply_async)
    ("crm/outbox.py", "send_task"),  # the outbox drain publishes rows that are already committed
}
PLAIN = {int, str, float, bool, type(None), list, dict, tuple}

app.loader.import_default_modules()


def _project_sources():
    for package in PROJECT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _enqueue_calls(tree):
    """Yield (call, inside_on_commit) for every .delay/.apply_async/.send_task call."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    # Functions handed to on_commit by name (transaction.on_commit(_send)).
    deferred_names = {
        arg.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "on_commit"
        for arg in node.args
        if isinstance(arg, ast.Name)
    }
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ENQUEUE):
            continue
        deferred, current = False, node
        while current in parents:
            current = parents[current]
            if isinstance(current, ast.Lambda) and isinstance(parents.get(current), ast.Call):
                outer = parents[current].func
                deferred = deferred or getattr(outer, "attr", getattr(outer, "id", "")) in {"on_commit", "partial"}
            if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef) and current.name in deferred_names:
                deferred = True
        yield node, deferred


def test_every_call_site_enqueues_from_an_on_commit_callback():
    found, offending = 0, []
    for path in _project_sources():
        relative = path.relative_to(ROOT).as_posix()
        for call, deferred in _enqueue_calls(ast.parse(path.read_text(), filename=relative)):
            if (relative, call.func.attr) in NOT_A_CALL_SITE:
                continue
            found += 1
            if not deferred:
                offending.append(f"{relative}:{call.lineno}")
    assert found >= 4  # imports (2) and team channels (2) at least: the scan does see them
    assert offending == [], "enqueue only inside transaction.on_commit(lambda: …): " + ", ".join(offending)


def _plain(annotation) -> bool:
    if annotation in PLAIN:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, dict, tuple):
        return all(_plain(a) for a in typing.get_args(annotation) if a is not Ellipsis)
    return False


def project_tasks():
    return sorted(
        (task for name, task in app.tasks.items() if name.split(".")[0] in PROJECT_PACKAGES), key=lambda t: t.name
    )


@pytest.mark.parametrize("task", project_tasks(), ids=lambda t: t.name)
def test_every_task_takes_only_ids_and_plain_values(task):
    hints = typing.get_type_hints(task.run)
    for name in inspect.signature(task.run).parameters:
        assert name in hints, f"{task.name}({name}) needs a type annotation (an id or a plain value)"
        assert _plain(hints[name]), f"{task.name}({name}: {hints[name]}) must be an id or a plain value"


def test_messages_are_json_so_a_model_instance_cannot_be_published():
    assert app.conf.task_serializer == "json"
    assert set(app.conf.accept_content) == {"json"}


def test_an_import_is_enqueued_after_the_commit_with_its_id(personas, monkeypatch, django_capture_on_commit_callbacks):
    from accounts import tasks

    sent = []
    monkeypatch.setattr(tasks.apply_import, "delay", lambda *args, **kwargs: sent.append((args, kwargs)))
    job = ImportJob.objects.create(
        file=ContentFile(b"name\n", name="c.csv"), original_name="c.csv", created_by=personas.admin
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert imports.queue_apply(job=job, user=personas.admin) is True
        assert sent == []  # not while the transaction is open
    assert len(callbacks) == 1
    assert sent == [((job.pk,), {})]
