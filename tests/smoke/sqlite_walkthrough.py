"""Run by tests/smoke/test_sqlite.py in a fresh process on SQLite: what `make run` users do first."""

import io
import json
import sys

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402
from campaigns.models import Campaign  # noqa: E402
from core.scoping import scopes_disabled  # noqa: E402
from engagement.models import Event, Participation  # noqa: E402
from engagement.services.check import check_engagement  # noqa: E402
from incentives.models import IncentivePool  # noqa: E402
from incentives.services.codegen import generate_codes  # noqa: E402

call_command("migrate", verbosity=0)
out = io.StringIO()
call_command("load_demo_data", stdout=out)
key = out.getvalue().strip().splitlines()[-1].split()[-1]
answers = {}
api = Client(headers={"Authorization": f"Bearer {key}"})


def post(path, body):
    response = api.post(path, json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


answers["award"] = post("/api/v1/awards", {"vendor": "ACME", "amount": "10.00", "redeemer": {"email": "a@example.com"}})
answers["campaign"] = api.get("/api/v1/campaign").status_code

with scopes_disabled():
    campaign = Campaign.objects.get(organization__slug="demo", external_id="spring-demo")
    engaged = Campaign.objects.filter(organization__slug="demo", engagement__isnull=False).order_by("pk")
    answers["engagement differences"] = {c.external_id: check_engagement(c) for c in engaged}
    answers["engagement states"] = sorted({(p.state, p.instance_state) for p in Participation.objects.all()})
    before = [Participation.objects.count(), Event.objects.count()]
    call_command("load_demo_data", stdout=io.StringIO())
    after = [Participation.objects.count(), Event.objects.count()]
    answers["engagement rows added by a second load"] = [now - then for now, then in zip(after, before, strict=True)]
    pool = IncentivePool.objects.create(organization=campaign.organization, name="Smoke", low_threshold=1,
                                        notification_email="ops@example.com")
    generate_codes(pool, pattern="SMOKE-####", count=3)
    shared = IncentivePool.objects.create(organization=campaign.organization, name="Shared", distribution="multi")
    generate_codes(shared, pattern="SHARED-##", count=1)
    campaign.pools.add(pool, shared)
    Campaign.objects.filter(pk=campaign.pk).update(max_awards_per_redeemer=1)  # the cap's lock, on SQLite
capped = {"vendor": "ACME", "amount": "10.00", "redeemer": {"email": "capped@example.com"}}
answers["capped awards"] = [post("/api/v1/awards", capped)[0] for _ in range(2)]
status, issued = post(f"/api/v1/pools/{pool.pk}/issuances", {"external_issuee_id": "e1"})
answers["issuance"] = status
code = issued["issuance"]["incentive_code"]["code"] if status == 201 else "none"
answers["redemption"] = post(f"/api/v1/codes/{code}/redemptions", {"external_issuee_id": "e1"})[0]
answers["multi issuances"] = [post(f"/api/v1/pools/{shared.pk}/issuances", {"external_issuee_id": issuee})[0]
                              for issuee in ("e1", "e2", "e1")]

browser = Client()
browser.force_login(User.objects.get(username="admin"))
for path in ("/campaigns/", f"/campaigns/{campaign.pk}/", "/incentives/codes/", "/interactions/",
             "/reporting/", f"/reporting/campaigns/{campaign.pk}/", f"/incentives/pools/{pool.pk}/"):
    answers[path] = browser.get(path).status_code

print(json.dumps(answers))
sys.exit(0)
