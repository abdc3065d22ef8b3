"""WeCom / DingTalk group robots per team, against a fake robot on a free loopback port."""

import base64
import hashlib
import hmac
import logging
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from followups import channels, services
from followups.models import ChannelKind, TeamChannel
from tests.followups.robot import FakeRobot

T0 = timezone.make_aware(timezone.datetime(2026, 11, 23, 9, 0))


@pytest.fixture
def robot(settings):
    settings.CRM_WEBHOOK_HOSTS = ["127.0.0.1"]
    settings.CRM_WEBHOOK_TIMEOUT = 2
    settings.CELERY_TASK_ALWAYS_EAGER = True
    fake = FakeRobot()
    yield fake
    fake.stop()


def _channel(team, url, kind=ChannelKind.WECOM, **flags):
    return TeamChannel.objects.create(team=team, kind=kind, webhook_url=url, **flags)


def test_it_posts_an_assigned_task_to_the_assignees_team_robot_after_commit(
    personas, robot, django_capture_on_commit_callbacks
):
    mine = _channel(personas.team_a, robot.url())
    _channel(personas.team_b, robot.url("/other"))
    with django_capture_on_commit_callbacks(execute=True):
        services.create_task(
            customer=personas.customer_a,
            assignee=personas.rep_a,
            title="发送报价单",
            due_at=T0,
            by=personas.manager_a,
        )
    assert len(robot.requests) == 1 and robot.requests[0]["path"].startswith("/cgi-bin/webhook/send?key=test-key")
    text = robot.texts[0]
    assert "发送报价单" in text and personas.rep_a.last_name in text and reverse("followups:my_day") in text
    assert robot.requests[0]["json"]["msgtype"] == "text"
    mine.refresh_from_db()
    assert (mine.last_ok, mine.last_error) == (True, "")


def test_it_sends_nothing_when_the_action_rolls_back(personas, robot, django_capture_on_commit_callbacks):
    _channel(personas.team_a, robot.url())
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        services.create_task(
            customer=personas.customer_a, assignee=personas.rep_a, title="x", due_at=T0, by=personas.manager_a
        )
        raise RuntimeError
    assert robot.requests == []


def test_it_sends_only_the_notices_a_channel_takes(personas, robot, django_capture_on_commit_callbacks):
    _channel(personas.team_a, robot.url(), notify_tasks=False, notify_sla=True, notify_reminders=False)
    _channel(personas.team_a, robot.url("/off"), kind=ChannelKind.DINGTALK, enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.create_task(
            customer=personas.customer_a, assignee=personas.rep_a, title="x", due_at=T0, by=personas.manager_a
        )
        with time_machine.travel(T0, tick=False):
            services.remind_due_tasks(now=T0 + timedelta(hours=1))
    assert robot.requests == []
    with django_capture_on_commit_callbacks(execute=True), time_machine.travel(T0, tick=False):
        services.open_complaint(customer=personas.customer_a, by=personas.rep_a, description="交付延期")
    with django_capture_on_commit_callbacks(execute=True), time_machine.travel(T0 + timedelta(hours=25), tick=False):
        services.check_sla()
    assert len(robot.texts) == 2  # the new case, then the response breach
    assert personas.customer_a.name in robot.texts[1] and "SLA" in robot.texts[1]


def test_it_sends_the_daily_reminder_to_a_robot_that_takes_reminders(
    personas, robot, django_capture_on_commit_callbacks
):
    _channel(personas.team_a, robot.url(), notify_tasks=False, notify_reminders=True)
    services.create_task(customer=personas.customer_a, assignee=personas.rep_a, title="x", due_at=T0, by=personas.rep_a)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.remind_due_tasks(now=T0 + timedelta(hours=1)) == 1
        assert services.remind_due_tasks(now=T0 + timedelta(hours=2)) == 0
    assert len(robot.texts) == 1 and personas.rep_a.last_name in robot.texts[0]


def test_it_signs_dingtalk_messages_with_the_secret(personas, robot):
    secret = "SECtest-secret"
    channel = _channel(personas.team_a, robot.url("/robot/send?access_token=t"), ChannelKind.DINGTALK, secret=secret)
    assert channels.deliver(channel_id=channel.pk, text="你好") is True
    query = parse_qs(urlsplit(robot.requests[0]["path"]).query)
    timestamp, sign = query["timestamp"][0], query["sign"][0]
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert (query["access_token"], sign) == (["t"], expected)
    assert abs(int(timestamp) / 1000 - time.time()) < 60


def test_it_records_and_logs_a_refused_message_without_raising(personas, robot, caplog):
    robot.answer = {"errcode": 310000, "errmsg": "keywords not in content"}
    channel = _channel(personas.team_a, robot.url())
    with caplog.at_level(logging.WARNING, logger="followups.channels"):
        assert channels.deliver(channel_id=channel.pk, text="x") is False
    channel.refresh_from_db()
    assert channel.last_ok is False and "310000" in channel.last_error
    assert "310000" in caplog.text


def test_it_gives_up_after_the_timeout_and_records_it(personas, robot, settings):
    settings.CRM_WEBHOOK_TIMEOUT = 0.3
    robot.delay = 1.5
    channel = _channel(personas.team_a, robot.url())
    started = time.monotonic()
    assert channels.deliver(channel_id=channel.pk, text="x") is False
    assert time.monotonic() - started < 1.4
    channel.refresh_from_db()
    assert channel.last_ok is False and "timed out" in channel.last_error.lower()


def test_it_records_an_unreachable_robot(personas, robot):
    channel = _channel(personas.team_a, robot.url())
    robot.stop()
    assert channels.deliver(channel_id=channel.pk, text="x") is False
    channel.refresh_from_db()
    assert channel.last_ok is False and channel.last_error


def test_it_keeps_the_business_action_when_the_robot_fails(personas, robot, django_capture_on_commit_callbacks):
    robot.answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
    _channel(personas.team_a, robot.url())
    with django_capture_on_commit_callbacks(execute=True):
        task = services.create_task(
            customer=personas.customer_a, assignee=personas.rep_a, title="x", due_at=T0, by=personas.manager_a
        )
    assert task.pk and len(robot.requests) == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/cgi-bin/webhook/send?key=k",  # not an allowed host
        "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",  # not HTTPS
        "ftp://qyapi.weixin.qq.com/x",
        "",
    ],
)
def test_it_refuses_webhooks_outside_the_allowed_hosts(url, settings):
    settings.CRM_WEBHOOK_HOSTS = ["qyapi.weixin.qq.com", "oapi.dingtalk.com"]
    with pytest.raises(ValidationError):
        channels.validate_webhook_url(url)


def test_it_accepts_the_official_robot_addresses(settings):
    settings.CRM_WEBHOOK_HOSTS = ["qyapi.weixin.qq.com", "oapi.dingtalk.com"]
    channels.validate_webhook_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc")
    channels.validate_webhook_url("https://oapi.dingtalk.com/robot/send?access_token=abc")


def test_it_lets_only_a_manager_of_the_team_save_its_channel(personas, settings):
    settings.CRM_WEBHOOK_HOSTS = ["oapi.dingtalk.com"]
    url = "https://oapi.dingtalk.com/robot/send?access_token=abc"
    for who in ("rep_a", "manager_b", "finance"):
        with pytest.raises(PermissionDenied):
            channels.save_channel(
                channel=TeamChannel(team=personas.team_a, kind="dingtalk", webhook_url=url), by=getattr(personas, who)
            )
    saved = channels.save_channel(
        channel=TeamChannel(team=personas.team_a, kind="dingtalk", webhook_url=url), by=personas.manager_a
    )
    assert saved.history.get().history_user == personas.manager_a


# --- the settings page ----------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [("rep_a", 403), ("finance", 403), ("manager_a", 200), ("admin", 200)])
def test_it_opens_the_channels_page_to_managers_only(personas, client_for, who, status):
    assert client_for(getattr(personas, who)).get(reverse("followups:channel_list")).status_code == status


def test_it_lists_only_the_teams_a_manager_manages(personas, client_for):
    page = client_for(personas.manager_a).get(reverse("followups:channel_list")).content.decode()
    assert personas.team_a.name in page and personas.team_b.name not in page


@pytest.mark.parametrize(("who", "status"), [("manager_b", 404), ("rep_a", 403)])
def test_it_refuses_editing_another_teams_channel(personas, client_for, who, status):
    url = reverse("followups:channel_edit", args=[personas.team_a.pk, "wecom"])
    assert client_for(getattr(personas, who)).get(url).status_code == status


def test_it_returns_404_for_an_unknown_channel_kind(personas, client_for):
    url = reverse("followups:channel_edit", args=[personas.team_a.pk, "slack"])
    assert client_for(personas.manager_a).get(url).status_code == 404


def test_it_saves_a_channel_and_keeps_the_secret_when_left_empty(personas, client_for, settings):
    settings.CRM_WEBHOOK_HOSTS = ["oapi.dingtalk.com"]
    client = client_for(personas.manager_a)
    url = reverse("followups:channel_edit", args=[personas.team_a.pk, "dingtalk"])
    data = {
        "webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=abc",
        "secret": "SEC123",
        "enabled": "on",
        "notify_sla": "on",
    }
    assert client.post(url, data).status_code == 302
    channel = TeamChannel.objects.get(team=personas.team_a, kind="dingtalk")
    assert (channel.secret, channel.notify_tasks, channel.notify_sla, channel.updated_by) == (
        "SEC123",
        False,
        True,
        personas.manager_a,
    )
    client.post(url, {**data, "secret": "", "notify_tasks": "on"})
    channel.refresh_from_db()
    assert (channel.secret, channel.notify_tasks) == ("SEC123", True)
    assert "SEC123" not in client.get(url).content.decode()  # never echoed back


def test_it_shows_a_refused_address_as_a_form_error(personas, client_for):
    url = reverse("followups:channel_edit", args=[personas.team_a.pk, "wecom"])
    response = client_for(personas.manager_a).post(
        url, {"webhook_url": "https://evil.example.com/hook", "enabled": "on"}
    )
    assert response.status_code == 200 and "qyapi.weixin.qq.com" in response.content.decode()
    assert not TeamChannel.objects.exists()


def test_it_sends_a_test_message_from_the_page(personas, client_for, robot, django_capture_on_commit_callbacks):
    channel = _channel(personas.team_a, robot.url())
    client = client_for(personas.manager_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("followups:channel_test", args=[channel.pk]))
    assert response.status_code == 302 and len(robot.requests) == 1
    assert personas.team_a.name in robot.texts[0]
    assert 'data-testid="last-delivery"' in client.get(reverse("followups:channel_list")).content.decode()


def test_it_refuses_a_test_message_to_another_teams_channel(personas, client_for, robot):
    channel = _channel(personas.team_b, robot.url())
    assert client_for(personas.manager_a).post(reverse("followups:channel_test", args=[channel.pk])).status_code == 404
    assert robot.requests == []
