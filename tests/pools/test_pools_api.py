"""Incentive pools over the API (design §5, §8): 003's shapes, every rule and error code, each with its interaction."""

import uuid

import pytest

from campaigns.models import Integration
from campaigns.services.integrations import create_integration
from core.scoping import scopes_disabled
from incentives.models import IncentiveCode, IncentivePool, Issuance, Redemption
from interactions.models import IdempotencyRecord, Interaction

POOL_KEYS = {"id", "name", "issuance_allowed", "redemption_allowed", "incentive_codes", "distribution",
             "notification_email_address", "created_at", "updated_at", "url"}
CODE_KEYS = {"code", "active", "issuances", "redemptions", "incentive_pool", "created_at", "updated_at", "url"}
EVENT_KEYS = {"id", "external_issuee_id", "issuee_id", "referring_application", "referring_application_ref_id",
              "incentive_code", "incentive_pool", "created_at", "updated_at"}


def interactions(campaign):
    return list(Interaction._base_manager.filter(campaign=campaign).order_by("pk"))


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status"] == "error" and body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def issue(api, pools, pool=None, key=None, **body):
    body.setdefault("external_issuee_id", "ann@example.com")
    return api.post(f"/pools/{(pool or pools.unique).pk}/issuances", body, key=key or pools.key)


def redeem(api, pools, code, key=None, **body):
    body.setdefault("external_issuee_id", "ann@example.com")
    return api.post(f"/codes/{code}/redemptions", body, key=key or pools.key)


def code_row(code: str) -> IncentiveCode:
    with scopes_disabled():
        return IncentiveCode.objects.get(code=code)


# --- reading ------------------------------------------------------------------------------------------


def test_pool_answers_003s_entity_with_counts_from_its_codes(pools, api):
    with scopes_disabled():
        IncentiveCode.objects.filter(code=f"C{pools.unique.pk}-0").update(active=False)
    assert issue(api, pools).status_code == 201

    response = api.get(f"/pools/{pools.unique.pk}", key=pools.key)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "incentive_pool"} and body["status"] == "ok"
    pool = body["incentive_pool"]
    assert set(pool) == POOL_KEYS
    assert pool["incentive_codes"] == {"total": 5, "issued": 1, "remaining": 3, "low_threshold": 0,
                                       "max_characters": 50}
    assert pool["distribution"] == {"method": "unique"} and pool["id"] == pools.unique.pk
    assert pool["name"] == "Store coupons" and pool["url"] == f"/api/v1/pools/{pools.unique.pk}"
    assert interactions(pools.campaign)[-1].kind == Interaction.Kind.LOOKUP


def test_counts_follow_direct_changes_to_the_code_rows(pools, api):
    with scopes_disabled():
        IncentiveCode.objects.filter(pool=pools.unique).update(issued_count=1)
    counts = api.get(f"/pools/{pools.unique.pk}", key=pools.key).json()["incentive_pool"]["incentive_codes"]
    assert (counts["total"], counts["issued"], counts["remaining"]) == (5, 5, 0)


def test_multi_pool_counts_every_active_code_as_remaining(pools, api):
    issue(api, pools, pool=pools.multi)
    issue(api, pools, pool=pools.multi, external_issuee_id="bob")
    counts = api.get(f"/pools/{pools.multi.pk}", key=pools.key).json()["incentive_pool"]["incentive_codes"]
    assert (counts["total"], counts["issued"], counts["remaining"]) == (1, 2, 1)


def test_code_is_found_without_its_pool_in_003s_shape(pools, api):
    issue(api, pools, pool=pools.multi)
    issue(api, pools, pool=pools.multi)
    issue(api, pools, pool=pools.multi, external_issuee_id="bob")
    redeem(api, pools, "MULTI-1")

    response = api.get("/codes/MULTI-1", key=pools.key)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "incentive_code"}
    code = body["incentive_code"]
    assert set(code) == CODE_KEYS
    assert code["issuances"] == {"total": 3, "unique": 2} and code["redemptions"] == {"total": 1, "unique": 1}
    assert code["incentive_pool"] == {"id": pools.multi.pk, "url": f"/api/v1/pools/{pools.multi.pk}"}
    assert code["active"] is True and code["url"] == "/api/v1/codes/MULTI-1"


# --- reach ---------------------------------------------------------------------------------------------


def test_a_pool_not_linked_to_the_keys_campaign_is_not_found(pools, api, organization, make_pool):
    unlinked = make_pool(organization, codes=2, prefix="U")
    assert_error(api.get(f"/pools/{unlinked.pk}", key=pools.key), 404, "not_found")
    assert_error(issue(api, pools, pool=unlinked), 404, "not_found")
    assert_error(api.get(f"/codes/U{unlinked.pk}-0", key=pools.key), 404, "not_found")
    assert_error(api.get("/pools/999999", key=pools.key), 404, "not_found")
    logged = interactions(pools.campaign)
    assert [(i.error_code, i.http_status) for i in logged] == [("not_found", 404)] * 4


def test_another_organizations_pool_and_code_are_not_found(pools, api, make_organization, make_pool):
    other = make_organization("Other Co")
    theirs = make_pool(other, codes=1, prefix="T")
    with scopes_disabled():
        pools.campaign.pools.add(theirs)  # even linked by mistake, another organization's pool stays out of reach
    assert_error(api.get(f"/pools/{theirs.pk}", key=pools.key), 404, "not_found")
    assert_error(api.get(f"/codes/T{theirs.pk}-0", key=pools.key), 404, "not_found")
    assert_error(redeem(api, pools, f"T{theirs.pk}-0"), 404, "not_found")


def test_no_key_is_unauthorized(pools, api):
    assert_error(api.get(f"/pools/{pools.unique.pk}"), 401, "unauthorized")


# --- issuance ------------------------------------------------------------------------------------------


def test_issuance_answers_201_with_003s_entity_and_logs_one_interaction(pools, api):
    response = issue(api, pools)

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"status", "issuance"} and body["status"] == "ok"
    issuance = body["issuance"]
    assert set(issuance) == EVENT_KEYS
    assert issuance["external_issuee_id"] == "ann@example.com"
    assert issuance["referring_application"] == "Shop" and issuance["referring_application_ref_id"] == "spring-2026"
    assert issuance["incentive_pool"]["id"] == pools.unique.pk
    uuid.UUID(issuance["issuee_id"])
    code = code_row(issuance["incentive_code"]["code"])
    assert code.pool_id == pools.unique.pk and (code.issued_count, code.issued_unique) == (1, 1)
    with scopes_disabled():
        assert Issuance.objects.get().pk == issuance["id"]
    (logged,) = interactions(pools.campaign)
    assert (logged.kind, logged.outcome, logged.http_status) == ("issuance", "success", 201)
    assert logged.redeemer_external_id == "ann@example.com" and logged.request_id == response["X-Request-Id"]


def test_a_unique_pool_issues_each_code_once_then_is_exhausted(pools, api):
    codes = [issue(api, pools, external_issuee_id=f"p{n}").json()["issuance"]["incentive_code"]["code"]
             for n in range(5)]
    assert len(set(codes)) == 5

    error = assert_error(issue(api, pools), 409, "pool_exhausted")

    assert "Store coupons" in error["message"]
    logged = interactions(pools.campaign)[-1]
    assert (logged.outcome, logged.error_code, logged.http_status) == ("out_of_stock", "pool_exhausted", 409)


def test_inactive_codes_are_never_issued(pools, api):
    with scopes_disabled():
        IncentiveCode.objects.filter(pool=pools.unique).update(active=False)
    assert_error(issue(api, pools), 409, "pool_exhausted")


def test_the_issuee_id_stays_the_same_for_one_external_issuee_id(pools, api):
    first = issue(api, pools).json()["issuance"]["issuee_id"]
    again = issue(api, pools, pool=pools.multi).json()["issuance"]["issuee_id"]
    other = issue(api, pools, external_issuee_id="bob").json()["issuance"]["issuee_id"]
    assert first == again != other


def test_a_pool_that_forbids_issuance_refuses_it(pools, api):
    with scopes_disabled():
        IncentivePool.objects.filter(pk=pools.unique.pk).update(issuance_allowed=False)
    assert_error(issue(api, pools), 409, "issuance_not_allowed")
    assert code_row(f"C{pools.unique.pk}-0").issued_count == 0


def test_issuance_is_refused_once_the_campaign_ended(pools, api):
    from django.utils import timezone

    with scopes_disabled():
        type(pools.campaign).objects.filter(pk=pools.campaign.pk).update(ends_at=timezone.now())
    assert_error(issue(api, pools), 409, "campaign_ended")


def test_issuance_needs_an_external_issuee_id(pools, api):
    response = api.post(f"/pools/{pools.unique.pk}/issuances", {}, key=pools.key)
    error = assert_error(response, 400, "invalid_request")
    assert "external_issuee_id" in error["fields"]


def test_an_issuance_reference_replays_the_first_answer_and_issues_nothing(pools, api):
    first = issue(api, pools, reference="order-1")
    again = issue(api, pools, reference="order-1")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    with scopes_disabled():
        assert Issuance.objects.count() == 1
    assert [i.http_status for i in interactions(pools.campaign)] == [201, 200]
    assert_error(issue(api, pools, reference="order-1", external_issuee_id="bob"), 409, "idempotency_conflict")
    assert IdempotencyRecord._base_manager.count() == 1


# --- redemption ----------------------------------------------------------------------------------------


def test_redemption_answers_201_with_003s_entity(pools, api):
    code = issue(api, pools).json()["issuance"]["incentive_code"]["code"]

    response = redeem(api, pools, code, external_issuee_id="someone-else")

    assert response.status_code == 201, response.content
    redemption = response.json()["redemption"]
    assert set(redemption) == EVENT_KEYS and set(response.json()) == {"status", "redemption"}
    assert redemption["external_issuee_id"] == "someone-else" and redemption["incentive_code"]["code"] == code
    assert redemption["referring_application"] == "Shop"
    row = code_row(code)
    assert (row.redeemed_count, row.redeemed_unique) == (1, 1)
    logged = interactions(pools.campaign)[-1]
    assert (logged.kind, logged.outcome, logged.http_status) == ("redemption", "success", 201)


def test_a_unique_code_is_redeemed_only_after_issue_and_only_once(pools, api):
    code = f"C{pools.unique.pk}-0"
    assert_error(redeem(api, pools, code), 409, "code_not_issued")
    with scopes_disabled():
        IncentiveCode.objects.filter(code=code).update(issued_count=1, issued_unique=1)
    assert redeem(api, pools, code).status_code == 201
    assert_error(redeem(api, pools, code, external_issuee_id="bob"), 409, "already_redeemed")
    assert code_row(code).redeemed_count == 1


def test_a_multi_code_is_redeemed_once_per_external_issuee_id(pools, api):
    assert redeem(api, pools, "MULTI-1").status_code == 201  # multi codes need no issuance first
    assert redeem(api, pools, "MULTI-1", external_issuee_id="bob").status_code == 201
    assert_error(redeem(api, pools, "MULTI-1"), 409, "already_redeemed")
    row = code_row("MULTI-1")
    assert (row.redeemed_count, row.redeemed_unique) == (2, 2)
    with scopes_disabled():
        assert Redemption.objects.count() == 2


def test_an_inactive_code_is_not_redeemed(pools, api):
    with scopes_disabled():
        IncentiveCode.objects.filter(code="MULTI-1").update(active=False)
    assert_error(redeem(api, pools, "MULTI-1"), 409, "code_inactive")


def test_a_pool_that_forbids_redemption_refuses_it(pools, api):
    with scopes_disabled():
        IncentivePool.objects.filter(pk=pools.multi.pk).update(redemption_allowed=False)
    assert_error(redeem(api, pools, "MULTI-1"), 409, "redemption_not_allowed")
    assert code_row("MULTI-1").redeemed_count == 0


def test_a_redemption_reference_replays_the_first_answer(pools, api):
    first = redeem(api, pools, "MULTI-1", reference="r-1")
    again = redeem(api, pools, "MULTI-1", reference="r-1")
    assert (first.status_code, again.status_code) == (201, 200) and again.json() == first.json()
    assert code_row("MULTI-1").redeemed_count == 1


def test_an_unknown_code_is_not_found(pools, api):
    assert_error(redeem(api, pools, "NOPE"), 404, "not_found")


@pytest.mark.parametrize("status", [Integration.Status.TEST])
def test_test_keys_issue_too_while_the_campaign_is_live(pools, api, status):
    with scopes_disabled():
        key = create_integration(pools.campaign, name="Shop (test)", status=status).key
    assert issue(api, pools, key=key).status_code == 201
