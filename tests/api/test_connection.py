"""The key lookup is the request's first statement and stands in for Django's CONN_HEALTH_CHECKS probe."""

from datetime import UTC, datetime, timedelta

from django.db import connection
from psycopg.postgres import types
from psycopg.pq import Format

from api.keys import integration_for_key
from campaigns.models import Integration
from campaigns.services.integrations import create_integration
from core import sql
from core.scoping import scopes_disabled

from .conftest import award_body


def _key(organization, admin_user, make_campaign) -> str:
    campaign = make_campaign(organization, admin_user)
    with scopes_disabled():
        return create_integration(campaign, name="Shop", status=Integration.Status.TEST).key


def test_the_key_lookup_spares_the_probe_round_trip(
    transactional_db, organization, admin_user, make_campaign, monkeypatch
):
    key = _key(organization, admin_user, make_campaign)
    assert connection.health_check_enabled
    connection.health_check_done = False  # as at the start of every request
    monkeypatch.setattr(connection, "is_usable", lambda: (_ for _ in ()).throw(AssertionError("probed")))
    assert integration_for_key(key).name == "Shop"
    assert connection.health_check_done


def test_a_persistent_connection_that_went_bad_is_replaced(transactional_db, organization, admin_user, make_campaign):
    key = _key(organization, admin_user, make_campaign)
    broken = connection.connection
    broken.close()  # the server dropped it between two requests
    connection.health_check_done = False
    integration = integration_for_key(key)
    assert integration is not None and integration.campaign.organization == organization
    assert connection.connection is not broken


def test_the_hot_statements_are_prepared_once_per_connection(setup, api):
    for _ in range(3):
        assert api.post("/awards", award_body(), key=setup.live_key).status_code == 201
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE name LIKE '_pg3_%%'")
        statements = [row[0] for row in cursor.fetchall()]
    assert len([s for s in statements if '"campaigns_integration"."key_hash" = $1' in s]) == 1
    vaults = f'"incentives_voucher"."vault_id" IN ({setup.vault.pk}, {setup.test_vault.pk})'
    awards = [s for s in statements if s.startswith("WITH picked") and vaults in s]
    assert len(awards) == 2  # the first pick, then the pick from the frontier on


def test_the_hot_statements_read_timestamps_as_the_orm_does(db):
    """The hot statements' cursor loads timestamptz with psycopg's compiled loader, not Django's Python one: the
    same instant, aware, in UTC (the connection's zone, which Django sets)."""
    instant = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)
    (read,) = sql.fetchone("SELECT %s::timestamptz", [instant])
    assert read == instant and read.utcoffset() == timedelta(0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz", [instant])
        assert cursor.fetchone()[0] == read
    loader = sql._cursor(connection.connection).adapters.get_loader(types["timestamptz"].oid, Format.TEXT)
    assert loader.__module__.startswith("psycopg_binary")  # the compiled one
    assert sql._cursor(connection.connection) is sql._cursor(connection.connection)  # made once per connection
