"""A progress read and an event run on their key's last lookup in the process, which their first statement checks
(``core.keys``): one statement fewer, and any change to the key, its campaign or its organization since that lookup
is answered as a fresh lookup would answer it, with one interaction and the request counted once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api import keys
from campaigns.models import Integration
from campaigns.services.integrations import revoke_integration, rotate_integration_key
from core.scoping import scopes_disabled
from interactions.models import Interaction

from .conftest import award_body, event_body, wait_for_a_fresh_minute

LOOKUP = 'SELECT "campaigns_integration"."id", '  # the key's lookup statement


@pytest.fixture(autouse=True)
def no_lookup_kept():
    keys._known.clear()
    yield
    keys._known.clear()


def statements(call) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, [query["sql"] for query in captured.captured_queries]


def lookups() -> list[tuple[int, str]]:
    return list(Interaction._base_manager.filter(kind="lookup").order_by("pk").values_list("http_status", "error_code"))


def test_a_progress_read_and_an_event_run_on_the_keys_last_lookup_in_one_statement_fewer(engage, api):
    setup = engage()
    first, sql = statements(lambda: api.get("/customers/cust-1/progress", key=setup.live_key))
    assert first.status_code == 404 and sql[0].startswith(LOOKUP)  # the first request of the key in this process

    api.post("/events", event_body(), key=setup.live_key)
    read, sql = statements(lambda: api.get("/customers/cust-1/progress", key=setup.live_key))
    assert read.status_code == 200 and len(sql) == 1 and "checked AS" in sql[0] and not sql[0].startswith(LOOKUP)
    assert lookups() == [(404, "not_found"), (200, "")]

    replay, sql = statements(lambda: api.post("/events", event_body(), key=setup.live_key))
    assert replay.status_code == 200 and len(sql) == 1 and "checked AS" in sql[0]
    counted, sql = statements(lambda: api.post("/events", event_body(reference="ev-2"), key=setup.live_key))
    assert counted.status_code == 201 and not sql[0].startswith(LOOKUP)
    assert counted.json()["event"]["outcome"] is not None  # the purchase goal of 2: a voucher

    # An award keeps its lookup (its first statement does not check the key).
    _, sql = statements(lambda: api.post("/awards", award_body(), key=setup.live_key))
    assert sql[0].startswith(LOOKUP)


def test_a_key_revoked_since_its_last_lookup_is_refused_and_logged_once(engage, api):
    setup = engage()
    api.post("/events", event_body(), key=setup.live_key)
    assert api.get("/customers/cust-1/progress", key=setup.live_key).status_code == 200
    with scopes_disabled():
        revoke_integration(setup.live)

    refused = api.get("/customers/cust-1/progress", key=setup.live_key)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "integration_revoked"
    event = api.post("/events", event_body(reference="ev-2"), key=setup.live_key)
    assert event.status_code == 403 and event.json()["error"]["code"] == "integration_revoked"
    assert lookups() == [(200, ""), (403, "integration_revoked")]
    assert Interaction._base_manager.filter(kind="event", http_status=403).count() == 1


def test_a_rotated_key_stops_working_at_once(engage, api):
    setup = engage()
    api.post("/events", event_body(), key=setup.live_key)
    assert api.get("/customers/cust-1/progress", key=setup.live_key).status_code == 200
    with scopes_disabled():
        new_key = rotate_integration_key(setup.live).key

    old = api.get("/customers/cust-1/progress", key=setup.live_key)
    assert old.status_code == 401 and old.json()["error"]["code"] == "unauthorized"
    assert api.get("/customers/cust-1/progress", key=new_key).status_code == 200
    assert lookups() == [(200, ""), (200, "")]  # an unknown key's call is not logged


def test_a_campaign_changed_since_the_last_lookup_is_answered_as_it_now_is(engage, api):
    setup = engage()
    api.post("/events", event_body(), key=setup.live_key)
    assert api.get("/customers/cust-1/progress", key=setup.live_key).json()["participation"]["campaign"] == (
        "spring-2026"
    )
    with scopes_disabled():
        campaign = setup.live.campaign
        campaign.external_id = "spring-2027"
        campaign.save()

    read = api.get("/customers/cust-1/progress", key=setup.live_key)
    assert read.status_code == 200 and read.json()["participation"]["campaign"] == "spring-2027"
    assert lookups() == [(200, ""), (200, "")]


def test_a_request_run_again_on_a_fresh_lookup_is_counted_once_against_the_rate_limit(engage, api):
    setup = engage()
    with scopes_disabled():
        Integration._base_manager.filter(pk=setup.live.pk).update(rate_limit_per_minute=3)
    wait_for_a_fresh_minute()
    api.post("/events", event_body(), key=setup.live_key)  # 1: looked up
    with scopes_disabled():
        campaign = setup.live.campaign
        campaign.name = "Spring promo, renamed"
        campaign.save()
    assert api.get("/customers/cust-1/progress", key=setup.live_key).status_code == 200  # 2: run again
    assert api.get("/customers/cust-1/progress", key=setup.live_key).status_code == 200  # 3: on the last lookup
    over = api.get("/customers/cust-1/progress", key=setup.live_key)  # 4: refused, on a fresh lookup
    assert over.status_code == 429 and over.json()["error"]["code"] == "rate_limited"
    assert lookups() == [(200, ""), (200, ""), (429, "rate_limited")]


def test_an_invalid_request_on_the_last_lookup_is_answered_on_a_fresh_one(engage, api):
    """Refused before any statement checked the key (a path parameter out of its pattern): the key is looked up
    afresh, so a key revoked meanwhile is answered as revoked."""
    setup = engage()
    api.post("/events", event_body(), key=setup.live_key)
    bad = api.get("/customers/no%20spaces/progress", key=setup.live_key)
    assert bad.status_code == 400
    with scopes_disabled():
        revoke_integration(setup.live)
    refused = api.get("/customers/no%20spaces/progress", key=setup.live_key)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "integration_revoked"
    assert [status for status, _ in lookups()] == [400, 403]


@pytest.mark.usefixtures("transactional_db")
def test_a_read_on_the_last_lookup_replaces_a_persistent_connection_that_went_bad(engage, api):
    """The read is then the request's first statement: it stands in for the health check's probe, as the lookup
    does (``core.sql.as_first_statement``)."""
    setup = engage()
    api.post("/events", event_body(), key=setup.live_key)
    assert api.get("/customers/cust-1/progress", key=setup.live_key).status_code == 200
    broken = connection.connection
    broken.close()  # the server dropped it between two requests
    connection.health_check_done = False  # as at the start of every request (the test client skips it)

    read, sql = statements(lambda: api.get("/customers/cust-1/progress", key=setup.live_key))
    assert read.status_code == 200 and not sql[-1].startswith(LOOKUP)
    assert connection.connection is not broken
    assert lookups() == [(200, ""), (200, "")]


def test_a_dry_run_on_the_last_lookup_is_answered_on_a_fresh_one_and_logged_once(engage, api):
    """A dry run reads without the hot path's statement, so no statement checks the key: it runs again on a fresh
    lookup, and its answer and its one interaction are those of any dry run."""
    setup = engage()
    api.post("/events", event_body(), key=setup.live_key)
    with scopes_disabled():
        revoke_integration(setup.live)
    refused = api.post("/events?dry_run=true", event_body(reference="ev-2"), key=setup.live_key)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "integration_revoked"

    # The campaign's test key, looked up once before.
    api.post("/events", event_body(external_id="bob"), key=setup.test_key)
    dry, sql = statements(lambda: api.post("/events?dry_run=true", event_body(external_id="bob", reference="ev-3"),
                                           key=setup.test_key))
    assert dry.status_code == 200 and dry.json()["event"]["dry_run"] is True
    assert sum(statement.startswith(LOOKUP) for statement in sql) == 1  # the fresh lookup, after the first try
    events = Interaction._base_manager.filter(kind="event").order_by("pk")
    assert [(i.http_status, i.error_code) for i in events] == [(201, ""), (403, "integration_revoked"), (201, ""),
                                                                 (200, "")]
