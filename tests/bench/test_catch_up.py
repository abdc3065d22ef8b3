"""bench_data's catch-up: every beat job once, two lanes that never write the same rows."""

from bench import jobs
from crm.schedules import SCHEDULES

# tables each job writes rows of (updates or deletes; inserts of new rows cannot deadlock)
UPDATES = {
    "accounts.tasks.quarterly_retier": {"tier"},
    "accounts.services.tiering.apply_retier": {"tier"},
    "followups.tasks.mark_dormant": {"customer"},
    "receivables.tasks.run_daily_reminders": {"customer", "installment"},
    "followups.tasks.check_sla": {"customer", "complaint"},
    "leads.tasks.rescore_leads": {"lead"},
    "accounts.tasks.churn_scan": {"health"},
    "leads.tasks.send_nurture_touches": {"lead"},
    "followups.tasks.send_nps_surveys": set(),
    "leads.tasks.build_high_potential_list": set(),
    "crm.tasks.drain_outbox": set(),
    "leads.tasks.recycle_pool": {"lead", "customer"},
}


def test_every_scheduled_job_is_caught_up_once_except_the_dashboard_cache():
    *lanes, last = jobs.catch_up_plan()
    targets = [job["target"] for group in (*lanes, last) for job in group]
    scheduled = {s.task for s in SCHEDULES} - jobs.SKIPPED - jobs.CACHES
    assert len(targets) == len(set(targets))
    assert scheduled <= set(targets)
    assert "crm.tasks.refresh_dashboards" not in targets


def test_the_two_lanes_never_update_the_same_table():
    first, second = jobs.catch_up_plan()[:2]
    tables = [set().union(*(UPDATES[job["target"]] for job in lane)) for lane in (first, second)]
    assert tables[0] and tables[1] and not tables[0] & tables[1]


def test_jobs_that_read_both_lanes_work_run_after_them():
    last = [job["target"] for job in jobs.catch_up_plan()[-1]]
    assert {"followups.tasks.create_cadence_tasks", "followups.tasks.remind_due_tasks"} <= set(last)
    assert "leads.tasks.recycle_pool" in last


def test_a_lane_skips_the_full_rerun_when_the_beat_task_did_it(monkeypatch):
    ran = []
    plan = [
        [{"label": "re-tier", "target": "t"}, {"label": "full", "target": "f", "full_run": True}],
        [{"label": "other", "target": "o"}],
        [{"label": "after", "target": "a"}],
    ]
    monkeypatch.setattr(jobs, "catch_up_plan", lambda: plan)
    jobs.catch_up(lambda target: ran.append(target) or {"seconds": 0, "result": {"customers": 1}}, log=lambda _: None)
    assert sorted(ran[:2]) == ["o", "t"] and ran[2:] == ["a"]
    ran.clear()
    jobs.catch_up(lambda target: ran.append(target) or {"seconds": 0, "result": {"skipped": True}}, log=lambda _: None)
    assert "f" in ran
