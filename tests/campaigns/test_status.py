"""Campaign statuses (design §3): the rules at their boundaries, SQL/Python parity, recomputation on every
change that can move a status, the history, and the set-based beat roll."""

import itertools
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import Organization
from campaigns import models as campaign_models
from campaigns.models import Campaign, CampaignStatusChange, Integration
from campaigns.services.integrations import create_integration, revoke_integration, set_integration_status
from campaigns.services.statuses import (
    reason_expression,
    refresh_campaign_statuses,
    status_expression,
    with_active_now,
)
from campaigns.status import (
    ARCHIVE_AFTER,
    CampaignStatus,
    Reason,
    compute_status,
    is_within_dates,
    live_checklist,
    status_now,
)
from campaigns.tasks import roll_campaign_statuses
from incentives.models import Vault

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("unscoped")]

PENDING, LIVE, COMPLETED, ARCHIVED = (
    CampaignStatus.PENDING,
    CampaignStatus.LIVE,
    CampaignStatus.COMPLETED,
    CampaignStatus.ARCHIVED,
)
NOW = datetime(2030, 6, 15, 12, 0, tzinfo=UTC)  # a fixed "now" for every boundary test
US = timedelta(microseconds=1)  # PostgreSQL's timestamp resolution: "just before" / "just after"
DAY = timedelta(days=1)


# --- helpers -------------------------------------------------------------------------------------------


@pytest.fixture
def new_campaign(make_campaign, make_vault, organization, admin_user):
    """A campaign with the given dates, optionally a vault and integrations (by status)."""

    def make(*, starts_at, ends_at=None, vault=False, integrations=(), **fields) -> Campaign:
        campaign = make_campaign(organization, admin_user, starts_at=starts_at, ends_at=ends_at, **fields)
        if vault:
            campaign.vaults.add(make_vault(organization))
        for n, status in enumerate(integrations):
            issued = create_integration(
                campaign, name=f"integration {n}", status=LIVE if status == Integration.Status.REVOKED else status
            )
            if status == Integration.Status.REVOKED:
                revoke_integration(issued.integration)
        campaign.refresh_from_db()
        return campaign

    return make


@pytest.fixture
def live_campaign(new_campaign):
    """Live right now (real time): started yesterday, ends in ten days, a vault, a live integration."""

    def make(**fields) -> Campaign:
        now = timezone.now()
        fields.setdefault("starts_at", now - DAY)
        fields.setdefault("ends_at", now + 10 * DAY)
        fields.setdefault("vault", True)
        fields.setdefault("integrations", ("live",))
        campaign = new_campaign(**fields)
        assert campaign.status == LIVE
        return campaign

    return make


def stored_status(campaign: Campaign) -> str:
    return Campaign._base_manager.values_list("status", flat=True).get(pk=campaign.pk)


def history(campaign: Campaign) -> list[tuple[str, str, str]]:
    """(from, to, why), oldest first."""
    return list(
        CampaignStatusChange._base_manager.filter(campaign=campaign)
        .order_by("changed_at", "pk")
        .values_list("from_status", "to_status", "reason")
    )


def last_change(campaign: Campaign) -> CampaignStatusChange:
    return CampaignStatusChange._base_manager.filter(campaign=campaign).order_by("-pk").first()


def force_status(campaign: Campaign, status: str) -> None:
    Campaign._base_manager.filter(pk=campaign.pk).update(status=status)


def check_constraints_now() -> None:
    """Django's foreign keys are DEFERRABLE INITIALLY DEFERRED and a test never commits: check them now,
    as COMMIT would."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def bulk_campaigns(organization, owner, specs, *, prefix: str, vault: Vault | None = None, pool=None) -> list[Campaign]:
    """Set-based setup without signals: specs are (starts_at, ends_at, has_vault, integration statuses), where
    ``has_vault`` may be ``"pool"`` (a pool linked and no vault)."""
    campaigns = Campaign._base_manager.bulk_create(
        Campaign(
            organization=organization,
            owner=owner,
            name=f"{prefix} {n}",
            external_id=f"{prefix}-{n}",
            starts_at=starts_at,
            ends_at=ends_at,
        )
        for n, (starts_at, ends_at, _, _) in enumerate(specs)
    )
    links, pool_links, integrations = [], [], []
    for campaign, (_, _, has_vault, statuses) in zip(campaigns, specs, strict=True):
        if has_vault == "pool":
            pool_links.append(Campaign.pools.through(campaign_id=campaign.pk, incentivepool_id=pool.pk))
        elif has_vault:
            links.append(Campaign.vaults.through(campaign_id=campaign.pk, vault_id=vault.pk))
        integrations.extend(
            Integration(
                campaign=campaign, name=f"i{n}", status=status, key_prefix="vk_bulk", key_hash=secrets.token_hex(32)
            )
            for n, status in enumerate(statuses)
        )
    Campaign.vaults.through._base_manager.bulk_create(links)
    Campaign.pools.through._base_manager.bulk_create(pool_links)
    Integration._base_manager.bulk_create(integrations)
    return campaigns


# --- the rules at their boundaries, through refresh_campaign_statuses(now=...) ----------------------------

BOUNDARIES = [
    # id, starts_at, ends_at, vault, integrations, expected status, expected reason
    ("exactly at starts_at", NOW, NOW + 10 * DAY, True, ("live",), LIVE, Reason.LIVE),
    ("just before starts_at", NOW + US, NOW + 10 * DAY, True, ("live",), PENDING, Reason.NOT_STARTED),
    ("just before ends_at", NOW - 10 * DAY, NOW + US, True, ("live",), LIVE, Reason.LIVE),
    ("exactly at ends_at", NOW - 10 * DAY, NOW, True, ("live",), COMPLETED, Reason.COMPLETED),
    ("ended, no vault, no key", NOW - 10 * DAY, NOW - US, False, (), COMPLETED, Reason.COMPLETED),
    ("30 days after the end exactly", NOW - 40 * DAY, NOW - ARCHIVE_AFTER, True, ("live",), COMPLETED,
     Reason.COMPLETED),
    ("just past 30 days after the end", NOW - 40 * DAY, NOW - ARCHIVE_AFTER - US, True, ("live",), ARCHIVED,
     Reason.ARCHIVED),
    ("archived whatever the links", NOW - 400 * DAY, NOW - 300 * DAY, False, (), ARCHIVED, Reason.ARCHIVED),
    ("no end date", NOW - 1000 * DAY, None, True, ("live",), LIVE, Reason.LIVE),
    ("no end date, not started", NOW + US, None, True, ("live",), PENDING, Reason.NOT_STARTED),
    ("not started beats no vault", NOW + DAY, None, False, (), PENDING, Reason.NOT_STARTED),
    ("no vault", NOW - DAY, NOW + DAY, False, ("live",), PENDING, Reason.NO_VAULT),
    ("no integration", NOW - DAY, NOW + DAY, True, (), PENDING, Reason.NO_LIVE_INTEGRATION),
    ("only a test integration", NOW - DAY, NOW + DAY, True, ("test",), PENDING, Reason.NO_LIVE_INTEGRATION),
    ("only a revoked integration", NOW - DAY, NOW + DAY, True, ("revoked",), PENDING, Reason.NO_LIVE_INTEGRATION),
    ("test and revoked", NOW - DAY, NOW + DAY, True, ("test", "revoked"), PENDING, Reason.NO_LIVE_INTEGRATION),
    ("one live among others", NOW - DAY, NOW + DAY, True, ("test", "revoked", "live"), LIVE, Reason.LIVE),
]


@pytest.mark.parametrize(
    "starts_at, ends_at, vault, integrations, expected, reason",
    [case[1:] for case in BOUNDARIES],
    ids=[case[0] for case in BOUNDARIES],
)
def test_status_rule_at_its_boundaries(new_campaign, starts_at, ends_at, vault, integrations, expected, reason):
    campaign = new_campaign(starts_at=starts_at, ends_at=ends_at, vault=vault, integrations=integrations)
    # Start from a status the rule will not give, so the roll has to move it and say why.
    before = ARCHIVED if expected != ARCHIVED else PENDING
    force_status(campaign, before)
    changes_before = CampaignStatusChange._base_manager.filter(campaign=campaign).count()

    assert refresh_campaign_statuses([campaign.pk], now=NOW) == 1

    campaign.refresh_from_db()
    assert campaign.status == expected
    assert campaign.status_changed_at == NOW
    change = last_change(campaign)
    assert (change.from_status, change.to_status, change.changed_at, change.reason) == (before, expected, NOW, reason)
    assert CampaignStatusChange._base_manager.filter(campaign=campaign).count() == changes_before + 1
    # The pure function (used by the campaign page) says the same.
    decision = compute_status(
        starts_at=starts_at, ends_at=ends_at, has_vault=vault, has_live_integration="live" in integrations, now=NOW
    )
    assert (decision.status, decision.reason) == (expected, reason)
    # Rolling again at the same moment moves nothing and writes nothing.
    assert refresh_campaign_statuses([campaign.pk], now=NOW) == 0
    assert CampaignStatusChange._base_manager.filter(campaign=campaign).count() == changes_before + 1


def test_one_campaign_through_its_whole_life(new_campaign):
    """pending → live → completed → archived as time passes, each move recorded (from, to, when, why)."""
    starts_at, ends_at = NOW, NOW + 10 * DAY
    campaign = new_campaign(starts_at=starts_at, ends_at=ends_at, vault=True, integrations=("live",))
    force_status(campaign, PENDING)
    CampaignStatusChange._base_manager.filter(campaign=campaign).delete()

    timeline = [
        (starts_at - US, PENDING, None),
        (starts_at, LIVE, Reason.LIVE),
        (ends_at - US, LIVE, None),
        (ends_at, COMPLETED, Reason.COMPLETED),
        (ends_at + ARCHIVE_AFTER, COMPLETED, None),
        (ends_at + ARCHIVE_AFTER + US, ARCHIVED, Reason.ARCHIVED),
    ]
    expected_history = []
    previous = PENDING
    for now, status, reason in timeline:
        moved = refresh_campaign_statuses([campaign.pk], now=now)
        assert stored_status(campaign) == status, now
        assert moved == (1 if reason else 0), now
        if reason:
            expected_history.append((previous, status, reason))
            assert last_change(campaign).changed_at == now
        assert history(campaign) == expected_history
        previous = status


def test_is_active_at_its_boundaries(monkeypatch):
    monkeypatch.setattr(campaign_models.timezone, "now", lambda: NOW)

    def active(starts_at, ends_at=None) -> bool:
        return Campaign(starts_at=starts_at, ends_at=ends_at).is_active

    assert active(NOW) is True  # [starts_at, ...: the start is included
    assert active(NOW + US) is False
    assert active(NOW - DAY, NOW) is False  # ..., ends_at): the end is excluded
    assert active(NOW - DAY, NOW + US) is True
    assert active(NOW - 1000 * DAY) is True  # no end date: never ends
    assert active(NOW - 40 * DAY, NOW - 35 * DAY) is False
    assert is_within_dates(NOW, NOW + US, NOW) is True
    assert is_within_dates(NOW - US, NOW, NOW) is False


def test_live_checklist_explains_pending():
    items = live_checklist(starts_at=NOW + US, ends_at=None, has_vault=True, has_live_integration=False, now=NOW)
    assert [(item.label, item.done) for item in items] == [
        ("Within its start and end dates", False),
        ("At least one vault or pool linked", True),
        ("At least one live integration", False),
    ]


# --- parity: compute_status (Python) and status_expression (SQL) -------------------------------------------

START_OFFSETS = [-40 * DAY, -US, timedelta(0), US, 5 * DAY]
END_OFFSETS = [None, -ARCHIVE_AFTER - US, -ARCHIVE_AFTER, -ARCHIVE_AFTER + US, -US, timedelta(0), US, 40 * DAY]
INTEGRATION_SETS = [(), ("test",), ("revoked",), ("live",), ("test", "revoked"), ("revoked", "live")]


def sql_decisions(campaign_ids, now) -> dict[int, tuple[str, str]]:
    rows = (
        Campaign._base_manager.filter(pk__in=campaign_ids)
        .annotate(s=status_expression(now), r=reason_expression(now))
        .values_list("pk", "s", "r")
    )
    return {pk: (status, reason) for pk, status, reason in rows}


def test_compute_status_and_status_expression_agree_on_a_grid(organization, admin_user, make_vault, make_pool):
    specs = [
        (NOW + start, None if end is None else NOW + end, has_vault, statuses)
        for start, end, has_vault, statuses in itertools.product(
            START_OFFSETS, END_OFFSETS, (False, True, "pool"), INTEGRATION_SETS
        )
        if end is None or end > start
    ]
    assert len(specs) > 200
    campaigns = bulk_campaigns(organization, admin_user, specs, prefix="grid", vault=make_vault(organization),
                               pool=make_pool(organization))
    expected = {
        campaign.pk: compute_status(
            starts_at=starts_at, ends_at=ends_at, has_vault=has_vault is True, has_pool=has_vault == "pool",
            has_live_integration="live" in statuses, now=NOW,
        )
        for campaign, (starts_at, ends_at, has_vault, statuses) in zip(campaigns, specs, strict=True)
    }
    assert {decision.status for decision in expected.values()} == set(CampaignStatus)  # the grid covers every rule
    assert {decision.reason for decision in expected.values()} == {
        Reason.ARCHIVED, Reason.COMPLETED, Reason.LIVE, Reason.NOT_STARTED, Reason.NO_VAULT, Reason.NO_LIVE_INTEGRATION
    }

    assert sql_decisions(expected, NOW) == {pk: (d.status.value, d.reason) for pk, d in expected.items()}

    # And the roll stores exactly that, with that reason, for every campaign that moves.
    moved = refresh_campaign_statuses(expected, now=NOW)
    assert moved == sum(1 for d in expected.values() if d.status != PENDING)  # bulk_create left them pending
    stored = dict(Campaign._base_manager.filter(pk__in=expected).values_list("pk", "status"))
    assert stored == {pk: d.status.value for pk, d in expected.items()}
    reasons = dict(CampaignStatusChange._base_manager.filter(campaign__in=expected).values_list("campaign", "reason"))
    assert reasons == {pk: d.reason for pk, d in expected.items() if d.status != PENDING}


def test_within_dates_and_status_now_agree_with_their_rules_on_a_grid(organization, admin_user, make_vault):
    """"Within its dates" as Python and as SQL, and the status between two beat runs (``status_now``) as the
    rule applied to the stored status, on every boundary."""
    specs = [
        (NOW + start, None if end is None else NOW + end, has_vault, statuses)
        for start, end, has_vault, statuses in itertools.product(START_OFFSETS, END_OFFSETS, (True,), (("live",),))
        if end is None or end > start
    ]
    campaigns = bulk_campaigns(organization, admin_user, specs, prefix="dates", vault=make_vault(organization))
    active = dict(with_active_now(Campaign._base_manager.filter(pk__in=[c.pk for c in campaigns]), NOW)
                  .values_list("pk", "active_now"))
    assert active == {c.pk: is_within_dates(c.starts_at, c.ends_at, NOW) for c in campaigns}
    assert set(active.values()) == {True, False}
    for campaign in campaigns:
        starts_at, ends_at = campaign.starts_at, campaign.ends_at
        for stored in CampaignStatus:
            # The dates are read now; the links only through the stored status.
            if ends_at is not None and ends_at <= NOW:
                expected = ARCHIVED if ends_at < NOW - ARCHIVE_AFTER else COMPLETED
            elif stored in (COMPLETED, ARCHIVED) or starts_at > NOW:
                expected = PENDING
            else:
                expected = stored
            assert status_now(stored=stored, starts_at=starts_at, ends_at=ends_at, now=NOW) == expected


ANCHORS = [timedelta(0), -ARCHIVE_AFTER, -10 * DAY, 10 * DAY]


@st.composite
def campaign_shapes(draw):
    starts_at = NOW + draw(st.sampled_from(ANCHORS)) + draw(st.integers(-3, 3)) * US
    ends_at = None
    if draw(st.booleans()):
        ends_at = NOW + draw(st.sampled_from(ANCHORS)) + draw(st.integers(-3, 3)) * US
        if ends_at <= starts_at:
            ends_at = starts_at + draw(st.integers(1, 3)) * US
    statuses = draw(st.lists(st.sampled_from(["test", "live", "revoked"]), max_size=3))
    return starts_at, ends_at, draw(st.booleans()), tuple(statuses)


@hypothesis_settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(shapes=st.lists(campaign_shapes(), min_size=1, max_size=8))
def test_compute_status_and_status_expression_agree_on_random_shapes(organization, admin_user, make_vault, shapes):
    vault = make_vault(organization)
    campaigns = bulk_campaigns(organization, admin_user, shapes, prefix=f"hyp-{vault.pk}", vault=vault)
    expected = {
        campaign.pk: compute_status(
            starts_at=s, ends_at=e, has_vault=v, has_live_integration="live" in statuses, now=NOW
        )
        for campaign, (s, e, v, statuses) in zip(campaigns, shapes, strict=True)
    }
    assert sql_decisions(expected, NOW) == {pk: (d.status.value, d.reason) for pk, d in expected.items()}


# --- recomputed at once on every change -----------------------------------------------------------------


def test_live_then_revoked_is_pending_at_once(live_campaign):
    campaign = live_campaign()
    integration = campaign.integrations.get()

    revoke_integration(integration)

    assert stored_status(campaign) == PENDING
    assert history(campaign)[-1] == (LIVE, PENDING, Reason.NO_LIVE_INTEGRATION)


def test_campaign_edit_recomputes_at_once(live_campaign):
    campaign = live_campaign()
    now = timezone.now()

    campaign.ends_at = now - timedelta(hours=1)
    campaign.save()
    assert campaign.status == COMPLETED  # the instance itself is refreshed
    assert stored_status(campaign) == COMPLETED

    campaign.starts_at, campaign.ends_at = now - 50 * DAY, now - 40 * DAY
    campaign.save()
    assert campaign.status == ARCHIVED

    campaign.starts_at, campaign.ends_at = now + DAY, None
    campaign.save(update_fields=["starts_at", "ends_at"])
    assert campaign.status == PENDING

    campaign.starts_at = now - DAY
    campaign.save()
    assert campaign.status == LIVE
    assert campaign.status_changed_at is not None
    assert history(campaign)[-4:] == [
        (LIVE, COMPLETED, Reason.COMPLETED),
        (COMPLETED, ARCHIVED, Reason.ARCHIVED),
        (ARCHIVED, PENDING, Reason.NOT_STARTED),
        (PENDING, LIVE, Reason.LIVE),
    ]


def test_linking_from_the_campaign_side_recomputes_at_once(new_campaign, make_vault, organization):
    now = timezone.now()
    campaign = new_campaign(starts_at=now - DAY, integrations=("live",))
    assert campaign.status == PENDING
    vault, other = make_vault(organization), make_vault(organization)

    campaign.vaults.add(vault)
    assert campaign.status == LIVE
    campaign.vaults.add(other)
    campaign.vaults.remove(vault)
    assert campaign.status == LIVE  # still one vault
    campaign.vaults.remove(other)
    assert campaign.status == PENDING
    campaign.vaults.set([vault, other])
    assert campaign.status == LIVE
    campaign.vaults.clear()
    assert campaign.status == PENDING
    assert stored_status(campaign) == PENDING
    assert [change[:2] for change in history(campaign)] == [(PENDING, LIVE), (LIVE, PENDING)] * 2
    assert history(campaign)[-1][2] == Reason.NO_VAULT


def test_linking_from_the_vault_side_recomputes_at_once(new_campaign, make_vault, organization):
    now = timezone.now()
    first, second, bystander = (new_campaign(starts_at=now - DAY, integrations=("live",)) for _ in range(3))
    vault, other_vault = make_vault(organization), make_vault(organization)
    bystander.vaults.add(other_vault)
    assert bystander.status == LIVE

    def statuses():
        return [stored_status(campaign) for campaign in (first, second, bystander)]

    vault.campaigns.add(first, second)
    assert statuses() == [LIVE, LIVE, LIVE]
    vault.campaigns.remove(first)
    assert statuses() == [PENDING, LIVE, LIVE]
    vault.campaigns.add(second)  # already linked: nothing to add, nothing moves, no error
    assert statuses() == [PENDING, LIVE, LIVE]
    vault.campaigns.set([first])
    assert statuses() == [LIVE, PENDING, LIVE]
    vault.campaigns.add(second)
    vault.campaigns.clear()
    assert statuses() == [PENDING, PENDING, LIVE]  # the other vault's campaign is untouched
    assert history(second)[-1] == (LIVE, PENDING, Reason.NO_VAULT)


def test_a_pool_and_no_vault_is_enough_to_go_live(new_campaign, make_pool, organization):
    """Design §3: a campaign that gives only codes goes live with a pool; its links and deletion recompute."""
    now = timezone.now()
    campaign = new_campaign(starts_at=now - DAY, integrations=("live",))
    assert campaign.status == PENDING
    pool, other = make_pool(organization), make_pool(organization)

    campaign.pools.add(pool)
    assert campaign.status == LIVE
    assert history(campaign)[-1] == (PENDING, LIVE, Reason.LIVE)
    campaign.pools.remove(pool)
    assert campaign.status == PENDING
    assert history(campaign)[-1] == (LIVE, PENDING, Reason.NO_VAULT)
    pool.campaigns.add(campaign)
    assert stored_status(campaign) == LIVE
    pool.campaigns.clear()
    assert stored_status(campaign) == PENDING
    other.campaigns.add(campaign)
    assert stored_status(campaign) == LIVE
    other.delete()
    assert stored_status(campaign) == PENDING
    items = live_checklist(starts_at=now - DAY, ends_at=None, has_vault=False, has_pool=True,
                           has_live_integration=True, now=now)
    assert all(item.done for item in items)


def test_clearing_or_deleting_a_vault_with_no_campaign(make_vault, organization):
    vault = make_vault(organization)
    vault.campaigns.clear()
    vault.delete()
    assert not Vault._base_manager.filter(pk=vault.pk).exists()


def test_links_change_inside_an_organization_scope(new_campaign, make_vault, organization, in_scope):
    """As a request does it: the recomputation reads nothing through scoped managers that would refuse."""
    campaign = new_campaign(starts_at=timezone.now() - DAY, integrations=("live",))
    vault = make_vault(organization)
    campaign.vaults.add(vault)
    assert campaign.status == LIVE
    vault.campaigns.clear()
    assert stored_status(campaign) == PENDING
    vault.campaigns.add(campaign)
    vault.delete()
    assert stored_status(campaign) == PENDING


def test_integration_create_status_change_and_delete_recompute_at_once(new_campaign):
    campaign = new_campaign(starts_at=timezone.now() - DAY, vault=True)
    assert campaign.status == PENDING

    test_key = create_integration(campaign, name="sandbox", status="test").integration
    assert stored_status(campaign) == PENDING
    live = create_integration(campaign, name="production", status="live").integration
    assert stored_status(campaign) == LIVE
    set_integration_status(live, "test")
    assert stored_status(campaign) == PENDING
    set_integration_status(test_key, "live")
    assert stored_status(campaign) == LIVE
    live.delete()  # the other one is live now
    assert stored_status(campaign) == LIVE
    test_key.delete()
    assert stored_status(campaign) == PENDING
    third = create_integration(campaign, name="third", status="live").integration
    assert stored_status(campaign) == LIVE
    Integration._base_manager.filter(pk=third.pk).delete()  # a queryset delete too
    assert stored_status(campaign) == PENDING
    assert [change[:2] for change in history(campaign)] == [(PENDING, LIVE), (LIVE, PENDING)] * 3


def test_integration_edited_through_save_recomputes(live_campaign):
    campaign = live_campaign()
    integration = campaign.integrations.get()
    integration.status = Integration.Status.TEST
    integration.save()  # e.g. Django's admin site: no update_fields
    assert stored_status(campaign) == PENDING


def test_vault_deletion_recomputes_at_once(live_campaign, make_vault, organization):
    single = live_campaign()
    double = live_campaign()
    shared = single.vaults.get()
    double.vaults.add(shared)
    assert double.vaults.count() == 2

    shared.delete()

    assert stored_status(single) == PENDING
    assert history(single)[-1] == (LIVE, PENDING, Reason.NO_VAULT)
    assert stored_status(double) == LIVE  # it still has its own vault

    Vault._base_manager.filter(pk__in=double.vaults.values("pk")).delete()  # a queryset delete too
    assert stored_status(double) == PENDING


def test_deleting_a_campaign_with_a_live_integration(live_campaign):
    campaign = live_campaign()
    pk = campaign.pk
    assert CampaignStatusChange._base_manager.filter(campaign_id=pk).exists()

    campaign.delete()
    check_constraints_now()  # no history row written for the campaign being deleted

    assert not Campaign._base_manager.filter(pk=pk).exists()
    assert not CampaignStatusChange._base_manager.filter(campaign_id=pk).exists()
    assert not Integration._base_manager.filter(campaign_id=pk).exists()


def test_deleting_an_organization_with_live_campaigns(live_campaign, organization):
    campaigns = [live_campaign(), live_campaign()]

    organization.delete()
    check_constraints_now()

    assert not Organization.objects.filter(pk=organization.pk).exists()
    assert not CampaignStatusChange._base_manager.filter(campaign__in=[c.pk for c in campaigns]).exists()


def test_the_constraint_check_would_catch_an_orphan_history_row(live_campaign):
    """The check used above does fail on what it guards against: a history row for a deleted campaign."""
    campaign = live_campaign()
    campaign_id = campaign.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        campaign.delete()
        CampaignStatusChange._base_manager.create(
            campaign_id=campaign_id, from_status=LIVE, to_status=PENDING, changed_at=NOW, reason="orphan"
        )
        check_constraints_now()


# --- history -------------------------------------------------------------------------------------------


def test_history_written_on_each_change_and_only_then(live_campaign, make_vault, organization):
    campaign = live_campaign()
    assert history(campaign) == [(PENDING, LIVE, Reason.LIVE)]
    first = last_change(campaign)
    assert first.changed_at == campaign.status_changed_at

    # Changes that do not move the status write nothing.
    campaign.description = "New words"
    campaign.save()
    campaign.vaults.add(make_vault(organization))
    create_integration(campaign, name="another live one", status="live")
    assert refresh_campaign_statuses([campaign.pk]) == 0
    assert refresh_campaign_statuses() == 0
    assert history(campaign) == [(PENDING, LIVE, Reason.LIVE)]

    # A change that moves it writes exactly one row.
    campaign.ends_at = timezone.now() - timedelta(minutes=1)
    campaign.save()
    assert history(campaign) == [(PENDING, LIVE, Reason.LIVE), (LIVE, COMPLETED, Reason.COMPLETED)]
    change = last_change(campaign)
    assert change.changed_at == campaign.status_changed_at
    assert change.changed_at >= first.changed_at
    assert str(change) == f"{campaign.pk}: live → completed"


# --- the beat roll --------------------------------------------------------------------------------------


def moving_specs(count: int, now: datetime) -> list:
    """Campaigns that bulk_create leaves pending and the roll must move: a third each to live, completed, archived."""
    shapes = [
        (now - DAY, now + 10 * DAY, True, ("live",)),  # → live
        (now - 10 * DAY, now - DAY, False, ()),  # → completed
        (now - 60 * DAY, now - 40 * DAY, True, ("live",)),  # → archived
    ]
    return [shapes[n % 3] for n in range(count)]


def roll_and_count_queries(django_assert_max_num_queries) -> tuple[int, int]:
    with django_assert_max_num_queries(4) as queries:  # INSERT … SELECT and UPDATE (plus the savepoint pair)
        moved = roll_campaign_statuses()
    return moved, len(queries)


def test_beat_task_is_scheduled_every_minute():
    assert roll_campaign_statuses.name == "campaigns.roll_campaign_statuses"
    schedule = settings.CELERY_BEAT_SCHEDULE.values()
    assert [entry["schedule"] for entry in schedule if entry["task"] == roll_campaign_statuses.name] == [60.0]


def test_beat_roll_moves_thousands_in_a_constant_number_of_queries(
    organization, admin_user, make_vault, django_assert_max_num_queries
):
    now = timezone.now()
    vault = make_vault(organization)

    small = bulk_campaigns(organization, admin_user, moving_specs(30, now), prefix="small", vault=vault)
    moved_small, queries_small = roll_and_count_queries(django_assert_max_num_queries)
    assert moved_small == 30

    large = bulk_campaigns(organization, admin_user, moving_specs(3_000, now), prefix="large", vault=vault)
    moved_large, queries_large = roll_and_count_queries(django_assert_max_num_queries)
    assert moved_large == 3_000
    assert queries_large == queries_small

    ids = [campaign.pk for campaign in small + large]
    assert dict(Campaign._base_manager.filter(pk__in=ids).values_list("status").annotate(n=Count("pk"))) == {
        LIVE: 1_010, COMPLETED: 1_010, ARCHIVED: 1_010
    }
    assert not Campaign._base_manager.filter(pk__in=ids, status_changed_at__isnull=True).exists()
    # One history row per moved campaign, from pending, saying why.
    changes = CampaignStatusChange._base_manager.filter(campaign__in=ids)
    assert changes.count() == 3_030
    assert not changes.values("campaign").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert set(changes.values_list("from_status", "to_status", "reason")) == {
        (PENDING, LIVE, Reason.LIVE),
        (PENDING, COMPLETED, Reason.COMPLETED),
        (PENDING, ARCHIVED, Reason.ARCHIVED),
    }
    assert changes.filter(campaign__in=[c.pk for c in large]).values("changed_at").distinct().count() == 1

    # A second roll right after finds nothing to move and writes nothing.
    assert roll_campaign_statuses() == 0
    assert changes.count() == 3_030
