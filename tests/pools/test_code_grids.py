"""The code, issuance and redemption grids, and activating / deactivating codes in bulk (design §5, §9)."""

import uuid

from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.scoping import scopes_disabled
from incentives.models import IncentiveCode, IncentivePool, Issuance, Redemption

CODES = reverse("incentives:code-list")


def active_codes(pool: IncentivePool) -> set[str]:
    with scopes_disabled():
        return set(IncentiveCode.objects.filter(pool=pool, active=True).values_list("code", flat=True))


def pk_of(code: str) -> int:
    with scopes_disabled():
        return IncentiveCode.objects.get(code=code).pk


def test_an_admin_deactivates_the_selected_codes(client, admin_user, organization, make_pool):
    pool = make_pool(organization, codes=4, name="Spring")
    client.force_login(admin_user)

    response = client.post(CODES, {"action": "bulk:deactivate", "query": f"pool={pool.pk}",
                                   "selected": [pk_of(f"C{pool.pk}-0"), pk_of(f"C{pool.pk}-2")]}, follow=True)

    assert active_codes(pool) == {f"C{pool.pk}-1", f"C{pool.pk}-3"}
    assert response.redirect_chain[-1][0] == f"{CODES}?pool={pool.pk}"
    assert "2 codes deactivated" in response.content.decode()


def test_all_matching_rows_means_the_filtered_rows_only(client, admin_user, organization, make_pool):
    spring = make_pool(organization, codes=3, name="Spring")
    summer = make_pool(organization, codes=3, name="Summer")
    client.force_login(admin_user)

    client.post(CODES, {"action": "bulk:deactivate", "query": f"pool={spring.pk}", "scope": "all"})
    assert active_codes(spring) == set() and len(active_codes(summer)) == 3

    client.post(CODES, {"action": "bulk:activate", "query": f"pool={spring.pk}&code=C{spring.pk}-1", "scope": "all"})
    assert active_codes(spring) == {f"C{spring.pk}-1"}


def test_nothing_selected_changes_nothing_and_says_so(client, admin_user, organization, make_pool):
    pool = make_pool(organization, codes=2)
    client.force_login(admin_user)
    response = client.post(CODES, {"action": "bulk:deactivate", "query": ""}, follow=True)
    assert len(active_codes(pool)) == 2
    assert "Select rows first" in response.content.decode()


def test_another_organizations_codes_are_never_touched(
    client, admin_user, organization, make_organization, make_pool
):
    theirs = make_pool(make_organization("Other Co"), codes=2, prefix="T")
    client.force_login(admin_user)
    their_ids = [pk_of(f"T{theirs.pk}-0"), pk_of(f"T{theirs.pk}-1")]

    client.post(CODES, {"action": "bulk:deactivate", "query": "", "selected": their_ids})
    client.post(CODES, {"action": "bulk:deactivate", "query": "", "scope": "all"})

    assert len(active_codes(theirs)) == 2


def test_standard_users_have_no_bulk_actions(client, standard_user, organization, make_pool):
    pool = make_pool(organization, codes=2)
    client.force_login(standard_user)

    page = client.get(CODES)
    answer = client.post(CODES, {"action": "bulk:deactivate", "query": "", "scope": "all"})

    assert page.status_code == 200 and b'data-testid="bulk-actions"' not in page.content
    assert answer.status_code == 403 and len(active_codes(pool)) == 2


def test_a_bulk_action_makes_the_same_queries_whatever_the_number_of_codes(
    client, admin_user, organization, make_pool
):
    client.force_login(admin_user)

    def queries_to_deactivate(pool: IncentivePool) -> int:
        with CaptureQueriesContext(connection) as queries:
            client.post(CODES, {"action": "bulk:deactivate", "query": f"pool={pool.pk}", "scope": "all"})
        assert active_codes(pool) == set()
        return len(queries)

    assert queries_to_deactivate(make_pool(organization, codes=10)) == queries_to_deactivate(
        make_pool(organization, codes=500)
    )


def test_deactivating_codes_down_to_the_threshold_sends_the_email_once(
    client, admin_user, organization, make_pool, eager_celery, django_capture_on_commit_callbacks
):
    pool = make_pool(organization, codes=5, low_threshold=2, notification_email="ops@example.com")
    client.force_login(admin_user)
    keep = [pk_of(f"C{pool.pk}-{n}") for n in range(3)]

    with django_capture_on_commit_callbacks(execute=True):
        client.post(CODES, {"action": "bulk:deactivate", "query": "", "selected": keep})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(CODES, {"action": "bulk:deactivate", "query": "", "selected": keep})  # nothing changes

    assert [message.to for message in mail.outbox] == [["ops@example.com"]]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(CODES, {"action": "bulk:activate", "query": "", "scope": "all"})
    pool.refresh_from_db()
    assert pool.low_notified_at is None  # re-armed: 5 remaining is above the threshold again


def test_the_issuance_and_redemption_grids_filter_by_issuee(client, admin_user, organization, make_pool):
    pool = make_pool(organization, codes=2)
    with scopes_disabled():
        first, second = IncentiveCode.objects.filter(pool=pool).order_by("code")
        for model in (Issuance, Redemption):
            model.objects.create(code=first, pool=pool, external_issuee_id="ann", issuee_id=_uuid(1))
            model.objects.create(code=second, pool=pool, external_issuee_id="bob", issuee_id=_uuid(2))
    client.force_login(admin_user)

    for name in ("incentives:issuance-list", "incentives:redemption-list"):
        by_external = client.get(reverse(name), {"issuee": "ann"}).context["table"]
        by_uuid = client.get(reverse(name), {"issuee": str(_uuid(2))}).context["table"]
        assert [row.record.external_issuee_id for row in by_external.rows] == ["ann"]
        assert [row.record.external_issuee_id for row in by_uuid.rows] == ["bob"]


def test_max_characters_cannot_go_below_the_longest_code(client, admin_user, organization, make_pool):
    pool = make_pool(organization, codes=1, name="Spring")  # its code is "C<pk>-0"
    longest = len(f"C{pool.pk}-0")
    client.force_login(admin_user)
    fields = {"name": "Spring", "distribution": "unique", "low_threshold": 0, "notification_email": ""}

    refused = client.post(f"/incentives/pools/{pool.pk}/edit/", {**fields, "max_characters": longest - 1})
    accepted = client.post(f"/incentives/pools/{pool.pk}/edit/", {**fields, "max_characters": longest})

    assert refused.status_code == 200 and "already has codes of" in refused.context["form"].errors["max_characters"][0]
    assert accepted.status_code == 302


def _uuid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)
