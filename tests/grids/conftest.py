"""Rows for every grid table: each column with a value and, where it can be, without one; text that needs
escaping; links, badges, booleans, dates on both sides of now."""

import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Integration
from campaigns.services.integrations import create_integration
from core.scoping import scopes_disabled
from engagement.models import Behavior, BehaviorProgress, Completion, Customer, CustomerTag, Participation
from incentives.models import IncentiveCode, IncentivePool, Issuance, Redemption, Voucher
from interactions.models import Interaction
from tracking.models import TrackingNumber

NASTY = '<script>alert(1)</script> & "q"'


@pytest.fixture
def grid_rows(organization, admin_user, standard_user, make_campaign, make_vault, make_pool):
    now = timezone.now()
    day = timedelta(days=1)
    live = make_campaign(organization, admin_user, name="Spring <sale> & more", external_id='ext-"1"&<2>',
                         ends_at=now + 30 * day)
    other = make_campaign(organization, standard_user, name="Autumn")
    ended = make_campaign(organization, admin_user, name="Ended & referral", starts_at=now - 60 * day,
                          ends_at=now - 5 * day, end_behavior=Campaign.EndBehavior.REFERRAL)
    old = make_campaign(organization, admin_user, name="Old", starts_at=now - 200 * day, ends_at=now - 100 * day)
    make_campaign(organization, standard_user, name="Next year", starts_at=now + 300 * day)
    with scopes_disabled():
        for campaign, status in ((live, "live"), (ended, "completed"), (old, "archived")):
            Campaign.objects.filter(pk=campaign.pk).update(status=status)

        integration = create_integration(live, name="App & co", status=Integration.Status.LIVE).integration
        Integration.objects.filter(pk=integration.pk).update(last_used_at=now - day)
        revoked = create_integration(other, name="<Shop>", rate_limit_per_minute=None).integration
        Integration.objects.filter(pk=revoked.pk).update(status=Integration.Status.REVOKED, revoked_at=now)
        create_integration(ended, name="Zero", rate_limit_per_minute=0)

        vault = make_vault(organization, vouchers=4, name="Main <vault>")
        vault.description = NASTY
        vault.save()
        make_vault(organization, name="Empty")
        make_vault(organization, vouchers=1, is_test=True, name="Test & co")
        first, second, third, _ = vault.vouchers.order_by("pk")
        Voucher.objects.filter(pk=first.pk).update(status=Voucher.Status.AWARDED, awarded_at=now - day)
        Voucher.objects.filter(pk=second.pk).update(status=Voucher.Status.VOID, code='V<"void">&')
        Voucher.objects.filter(pk=third.pk).update(expires_at=now + 90 * day, vendor="Globex & <co>")

        low = make_pool(organization, codes=4, name="Store <coupons>", low_threshold=2)
        multi = make_pool(organization, name="Shared & code", distribution=IncentivePool.Distribution.MULTI,
                          low_threshold=0)
        make_pool(organization, name="Empty pool")
        shared = IncentiveCode.objects.create(pool=multi, organization=organization, code="MULTI<1>&",
                                              issued_count=1234, issued_unique=1001, redeemed_count=7,
                                              redeemed_unique=5)
        codes = list(low.codes.order_by("pk"))
        IncentiveCode.objects.filter(pk__in=[codes[0].pk, codes[1].pk]).update(issued_count=1, issued_unique=1)
        IncentiveCode.objects.filter(pk=codes[3].pk).update(active=False)
        for model in (Issuance, Redemption):
            model.objects.create(code=codes[0], pool=low, external_issuee_id=NASTY, issuee_id=uuid.uuid4(),
                                 referring_application="shop & co", referring_application_ref_id="r<1>")
            model.objects.create(code=shared, pool=multi, external_issuee_id="plain", issuee_id=uuid.uuid4())

        TrackingNumber.objects.create(organization=organization, number="+14155550123", forward_to="+14155550100",
                                      label=NASTY, campaign=live)
        TrackingNumber.objects.create(organization=organization, number="+442071838750", forward_to="+442071838751")
        TrackingNumber.objects.create(organization=organization, number="+14155550124", forward_to="+14155550101",
                                      label="Referral", campaign=ended)
        TrackingNumber.objects.create(organization=organization, number="12<3>", forward_to="+1", campaign=old)

        voucher = make_vault(organization, vouchers=1).vouchers.get()
        Interaction.objects.bulk_create(
            Interaction(organization=organization, campaign=[live, other, None][n % 3], kind="award",
                        integration=integration if n % 2 else None, voucher=voucher if n % 4 == 0 else None,
                        outcome=["success", "error", "exception", "out_of_stock"][n % 4], error_code="e" * (n % 2),
                        message=f"<script>alert({n})</script> & \"q\"", redeemer_email=f"r{n}@example.com",
                        redeemer_mobile=f"+1415555{n:04}" * (n % 3 == 0), redeemer_external_id=f"<{n}>&" * (n % 5 == 0),
                        request_id=f"req-{n}" * (n % 2),
                        http_status=[201, 400, 500][n % 3], latency_ms=n)
            for n in range(30)
        )
        # engagement: customers with and without tags, participations in every column's cases
        nasty = Customer.objects.create(organization=organization, external_id='<b>&"q"', email=NASTY,
                                        mobile="+14155550188")
        plain = Customer.objects.create(organization=organization, external_id="plain-customer")
        CustomerTag.objects.bulk_create([CustomerTag(customer=nasty, tag=tag) for tag in ("vip", "a&b<c>")])
        visit = Behavior.objects.create(campaign=live, name="Visit <3>", event_name="visit", goal=2)
        joined = Participation.objects.create(campaign=live, customer=nasty, opted_in=True, opted_in_at=now)
        Participation.objects.create(campaign=live, customer=plain, is_test=True, state="claimed",
                                     instance_state="expired")
        Participation.objects.create(campaign=other, customer=plain, opted_in=False, state="inactive")
        BehaviorProgress.objects.create(participation=joined, behavior=visit, progress=1, achieved=1, counted=3)
        Completion.objects.create(participation=joined, behavior=visit, created_at=now)
        # some in the previous reporting period, so the overview's changes go both ways
        Interaction.objects.filter(campaign=other).update(created_at=now - 35 * day)
        Interaction.objects.filter(campaign=live, outcome="error").update(created_at=now - 40 * day)
    return SimpleNamespace(campaign=live, integration=integration, vault=vault, pool=low)
