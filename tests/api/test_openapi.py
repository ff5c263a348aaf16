"""The OpenAPI document and its docs page, and the API checked against its own document by schemathesis."""

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from core.scoping import scopes_disabled
from incentives.models import IncentiveCode


def test_the_openapi_document_is_served_with_both_operations_and_bearer_auth(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert {"/api/v1/awards", "/api/v1/campaign"} <= set(document["paths"])
    award_answers = document["paths"]["/api/v1/awards"]["post"]["responses"]
    assert {"200", "201", "400", "401", "403", "409", "422", "429", "500"} <= set(award_answers)
    assert "Retry-After" in award_answers["429"]["headers"]
    assert document["components"]["securitySchemes"]["IntegrationKey"] == {"type": "http", "scheme": "bearer"}


def test_every_operation_has_a_clean_operation_id(client):
    """A client generated from the document gets methods named for what they do (createAward), not for our
    module paths (incentives_api_create_award)."""
    document = client.get("/api/v1/openapi.json").json()
    operation_ids = {
        (method, path): operation["operationId"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert operation_ids == {
        ("post", "/api/v1/awards"): "createAward",
        ("get", "/api/v1/campaign"): "getCampaign",
        ("get", "/api/v1/pools/{pool_id}"): "getPool",
        ("post", "/api/v1/pools/{pool_id}/issuances"): "createIssuance",
        ("get", "/api/v1/codes/{code}"): "getCode",
        ("post", "/api/v1/codes/{code}/redemptions"): "createRedemption",
        ("post", "/api/v1/customers/{external_id}/opt_in"): "optIn",
        ("post", "/api/v1/customers/{external_id}/opt_out"): "optOut",
        ("get", "/api/v1/customers/{external_id}/progress"): "getProgress",
        ("post", "/api/v1/customers/{external_id}/claim"): "claimReward",
        ("delete", "/api/v1/customers/{external_id}/instance"): "deleteInstance",
        ("post", "/api/v1/events"): "createEvent",
    }


def test_the_document_states_the_body_limits(client):
    from api.main import MAX_BODY_BYTES, MAX_BODY_DEPTH

    description = client.get("/api/v1/openapi.json").json()["info"]["description"]
    assert f"{MAX_BODY_BYTES} bytes" in description and f"{MAX_BODY_DEPTH} arrays or objects deep" in description


def test_the_docs_are_browsable_beside_it(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content
    # Swagger UI comes from this project's static files: no CDN at run time.
    page = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert finders.find("ninja/swagger-ui-bundle.js")  # collected with our static files


@pytest.fixture
def wsgi_keeps_the_test_transaction():
    """Like Django's test client: the WSGI handler must not close the connection holding the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Loaded at collection (the document needs no database); each operation becomes one test.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@schema.parametrize()
@settings(max_examples=75, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_document_says(case, setup, wsgi_keeps_the_test_transaction):
    """No 5xx, and every answer (status, content type, headers, body) is one the document declares."""
    case.call_and_validate(
        headers={"Authorization": f"Bearer {setup.test_key}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )


def test_an_unknown_path_answers_not_found_in_the_api_envelope(client):
    response = client.post("/api/v1/no-such-thing", data="{}", content_type="application/json")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"
    assert response["X-Request-Id"]


@pytest.fixture
def linked_pool(setup, make_pool):
    """A unique pool of 20 codes linked to the fuzzed campaign, one code already issued (so it can be redeemed)."""
    pool = make_pool(setup.campaign.organization, codes=20, name="Fuzzed pool")
    with scopes_disabled():
        setup.campaign.pools.add(pool)
        issued = IncentiveCode.objects.filter(pool=pool).order_by("code").first()
        IncentiveCode.objects.filter(pk=issued.pk).update(issued_count=1, issued_unique=1)
    return pool, issued.code


# Random ids and codes almost always miss: the pool operations again, aimed at a real pool and code, so the
# fuzzed bodies reach issuance and redemption and their 2xx / 409 answers are checked against the document.
@schema.include(path_regex=r"^/api/v1/(pools|codes)/").parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_pool_api_on_a_real_pool_answers_as_its_document_says(
    case, setup, linked_pool, wsgi_keeps_the_test_transaction
):
    pool, code = linked_pool
    if "pool_id" in (case.path_parameters or {}):
        case.path_parameters["pool_id"] = pool.pk
    if "code" in (case.path_parameters or {}):
        case.path_parameters["code"] = code
    case.call_and_validate(
        headers={"Authorization": f"Bearer {setup.test_key}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                response_headers_conformance, response_schema_conformance],
    )
