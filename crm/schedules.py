"""Every periodic job of the CRM, declared in one place.

django-celery-beat keeps them in the database so managers and admins can see and change them
in the admin; `python manage.py setup_schedules` creates the missing ones from this table and
never overwrites an edited entry. Later issues add their jobs here.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    description: str
    every_seconds: int | None = None
    crontab: str | None = None  # "minute hour day_of_month month_of_year day_of_week"


SCHEDULES = [
    Schedule(
        name="heartbeat",
        task="crm.tasks.heartbeat",
        description=_("Records that the scheduler and a worker are alive (shown on the status page)."),
        every_seconds=60,
    ),
    Schedule(
        name="outbox-drain",
        task="crm.tasks.drain_outbox",
        description=_("Every minute: deliver reminders and jobs still waiting in the outbox after a crash or outage."),
        every_seconds=60,
    ),
    Schedule(
        name="outbox-prune",
        task="crm.tasks.prune_outbox",
        description=_("Daily: delete outbox messages delivered more than 90 days ago (pending ones stay)."),
        crontab="45 3 * * *",
    ),
    Schedule(
        name="dashboards-refresh",
        task="crm.tasks.refresh_dashboards",
        description=_(
            "Every 30 minutes: precompute the unfiltered dashboards of admins, managers and finance "
            "(the pages show the time of this run)."
        ),
        crontab="*/30 * * * *",
    ),
    # leads (issue 4)
    Schedule(
        name="leads-rescore",
        task="leads.tasks.rescore_leads",
        description=_("Nightly: recompute every open lead's score and intent grade."),
        crontab="0 2 * * *",
    ),
    Schedule(
        name="leads-recycle-pool",
        task="leads.tasks.recycle_pool",
        description=_("Nightly: leads and prospects with no follow-up for N days return to the public pool."),
        crontab="30 2 * * *",
    ),
    Schedule(
        name="leads-nurture-touches",
        task="leads.tasks.send_nurture_touches",
        description=_("Daily: email and SMS touches for leads in nurture (once per lead and period)."),
        crontab="0 10 * * *",
    ),
    Schedule(
        name="leads-high-potential-list",
        task="leads.tasks.build_high_potential_list",
        description=_("Mondays: build the weekly high-potential lead list and email it to managers."),
        crontab="30 7 * * 1",
    ),
    # followups (issue 6)
    Schedule(
        name="followups-check-sla",
        task="followups.tasks.check_sla",
        description=_("Every 15 minutes: escalate breached complaint SLAs once (manager, director, needs attention)."),
        crontab="*/15 * * * *",
    ),
    Schedule(
        name="followups-mark-dormant",
        task="followups.tasks.mark_dormant",
        description=_("Daily: customers with no intent for about 6 months become dormant; renewed intent wakes them."),
        crontab="15 3 * * *",
    ),
    Schedule(
        name="followups-tier-cadences",
        task="followups.tasks.create_cadence_tasks",
        description=_("Daily: recurring maintenance tasks of each tier strategy (and the dormant touch), once each."),
        crontab="45 3 * * *",
    ),
    Schedule(
        name="followups-remind-due-tasks",
        task="followups.tasks.remind_due_tasks",
        description=_("Daily: remind each person once of their open tasks due today or overdue."),
        crontab="30 8 * * *",
    ),
    Schedule(
        name="followups-nps-surveys",
        task="followups.tasks.send_nps_surveys",
        description=_("Quarterly: send the NPS survey link to each won customer once per quarter."),
        crontab="0 10 1 1,4,7,10 *",
    ),
    # tiering (issue 5)
    Schedule(
        name="accounts-quarterly-retier",
        task="accounts.tasks.quarterly_retier",
        description=_("Quarterly (1 Jan, Apr, Jul, Oct): re-tier every customer; expired overrides end."),
        crontab="0 1 1 1,4,7,10 *",
    ),
    # receivables (issue 7)
    Schedule(
        name="receivables-daily-reminders",
        task="receivables.tasks.run_daily_reminders",
        description=_("Daily: payment reminders, collections, escalations and bad-debt blacklisting (each step once)."),
        crontab="0 9 * * *",
    ),
    # churn early warning (issue 8)
    Schedule(
        name="accounts-churn-scan",
        task="accounts.tasks.churn_scan",
        description=_(
            "Weekly (Mondays): health score and risk of every customer; retention tasks for the newly high-risk."
        ),
        crontab="0 6 * * 1",
    ),
]
