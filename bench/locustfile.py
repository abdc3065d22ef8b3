"""Load profile of `make stress` (scripts/stress.py): reps browse and log follow-ups, managers
read dashboards, finance reads the receivables aging. Each simulated user signs in once.

Every follow-up carries a unique token in its summary; when the server acknowledges it (302 to
the customer), the token is appended to $STRESS_ACK_FILE so the run can prove it is stored.
Logins come from the demo data (crm/demo.py): password DEMO_PASSWORD for every demo user.
"""

import os
import random
import re
import uuid
from datetime import datetime

from locust import FastHttpUser, between, constant, task

PASSWORD = os.environ.get("STRESS_PASSWORD", "demo1234")
ACK_FILE = os.environ.get("STRESS_ACK_FILE", "")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CUSTOMER_LINK = re.compile(r'href="/customers/(\d+)/"')
# Think time between two actions of one person, "MIN-MAX" seconds (`make stress`: 1-5), or "0":
# back to back (`make load`, the throughput run).
_THINK = [float(x) for x in os.environ.get("STRESS_THINK", "1-5").split("-")]
THINK = constant(0) if max(_THINK) == 0 else between(_THINK[0], _THINK[-1])


class CrmUser(FastHttpUser):
    """geventhttpclient rather than python-requests: the same requests for a fraction of the load
    generator's CPU, which shares the machine's two cores with the server."""

    abstract = True
    wait_time = THINK
    default_headers = {"Accept-Language": "zh-hans"}
    usernames: tuple[str, ...] = ()

    def on_start(self):
        page = self.client.get("/login/", name="login page")
        token = CSRF.search(page.text or "").group(1)
        with self.client.post(
            "/login/",
            {"csrfmiddlewaretoken": token, "username": random.choice(self.usernames), "password": PASSWORD},
            headers={"Referer": f"{self.host}/login/"},
            allow_redirects=False,
            name="login",
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login refused ({response.status_code})")

    def page(self, path: str, name: str):
        return self.client.get(path, name=name)


class Rep(CrmUser):
    weight = 6
    usernames = ("rep", "rep2", "rep3", "senior")

    def on_start(self):
        super().on_start()
        listing = self.page("/customers/", "customers: list")
        self.customers = sorted(set(CUSTOMER_LINK.findall(listing.text or ""))) or []

    @task(4)
    def browse_list(self):
        self.page(f"/customers/?page={random.randint(1, 3)}", "customers: list")

    @task(3)
    def open_customer(self):
        if self.customers:
            self.page(f"/customers/{random.choice(self.customers)}/", "customers: detail")

    @task(2)
    def my_day(self):
        self.page("/followups/", "my day")

    @task(3)
    def log_followup(self):
        if not self.customers:
            return
        customer = random.choice(self.customers)
        form = self.page(f"/followups/log/{customer}/", "follow-up: form")
        match = CSRF.search(form.text or "")
        if not match:
            return
        token = f"LOAD-{uuid.uuid4().hex}"
        with self.client.post(
            f"/followups/log/{customer}/",
            {
                "csrfmiddlewaretoken": match.group(1),
                "method": "call",
                "occurred_at": datetime.now().strftime("%Y-%m-%dT%H:%M"),  # noqa: DTZ005 - the form's local time
                "summary": f"压测回访 {token}",
            },
            headers={"Referer": f"{self.host}/followups/log/{customer}/"},
            allow_redirects=False,
            name="follow-up: save",
            catch_response=True,
        ) as response:
            if response.status_code == 302:
                if ACK_FILE:
                    with open(ACK_FILE, "a", encoding="utf-8") as out:
                        out.write(token + "\n")
            else:
                response.failure(f"follow-up not saved ({response.status_code})")


class Manager(CrmUser):
    weight = 3
    usernames = ("manager", "manager2", "director")

    @task(3)
    def dashboards(self):
        self.page("/dashboards/", "dashboards")

    @task(2)
    def sales_dashboard(self):
        self.page("/dashboards/sales/", "dashboards: sales")

    @task(2)
    def home(self):
        self.page("/", "home")

    @task(1)
    def team(self):
        self.page("/followups/team/", "team follow-ups")


class Finance(CrmUser):
    weight = 1
    usernames = ("finance",)

    @task(3)
    def aging(self):
        self.page("/receivables/", "receivables: aging")

    @task(1)
    def overdue(self):
        self.page("/receivables/overdue/", "receivables: overdue")
