"""The OpenAPI document says what the API refuses (issue 16, item 12): a request the document calls valid is never
refused for its form, one it calls invalid always is, every error status lists the codes it carries, and the links
lead a stateful client from a pool to its issuances and from a code to its redemptions."""

import json

import jsonschema_rs
import pytest

from core.scoping import scopes_disabled

from .conftest import award_body

SHOP = {"vendor": "ACME", "amount": "10.00", "redeemer": {"email": "ann@example.com"}}


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").json()


def valid_by_the_document(document, component: str, body) -> bool:
    validator = jsonschema_rs.validator_for(
        {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    )
    return validator.is_valid(body)


def refused_for_its_form(response) -> bool:
    return response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        (SHOP, True),
        ({**SHOP, "redeemer": {"email": None}}, False),  # at least one redeemer id, and not null
        ({**SHOP, "redeemer": {"email": None, "mobile": None, "external_id": "cust-1"}}, True),
        ({**SHOP, "redeemer": {}}, False),
        ({**SHOP, "currency": None}, True),  # absent or null: the organization's currency
        ({**SHOP, "currency": "EUR"}, True),
        ({**SHOP, "currency": "XYZ"}, False),
        ({**SHOP, "amount": 10}, True),
        ({**SHOP, "amount": 10.5}, True),
        ({**SHOP, "amount": "10.001"}, False),
        ({**SHOP, "amount": "1e1"}, False),  # pydantic reads it as 10; the document says decimals only
        ({**SHOP, "amount": " 10"}, False),
        ({**SHOP, "amount": "+10"}, False),
        ({**SHOP, "amount": "10000000000"}, False),  # 11 digits before the point
        ({**SHOP, "amount": 0.001}, False),
        ({**SHOP, "vendor": "AC\x0bME"}, False),  # a control character: no sheet can hold it (issue 16, item 6)
        ({**SHOP, "vendor": "AC\x00ME"}, False),
        ({**SHOP, "vendor": "A" * 101}, False),
        ({**SHOP, "reference": "order\n1"}, False),
        ({**SHOP, "redeemer": {"external_id": "cust\x7f1"}}, False),
        ({**SHOP, "redeemer": {"mobile": "+1 555 123 4567"}}, True),
        ({**SHOP, "redeemer": {"mobile": "+1555\n"}}, False),
    ],
)
def test_an_award_body_is_refused_for_its_form_exactly_when_the_document_says_it_is_invalid(
    setup, api, document, body, valid
):
    assert valid_by_the_document(document, "AwardIn", body) is valid
    response = api.post("/awards", body, key=setup.live_key)
    assert refused_for_its_form(response) is not valid, response.content


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"external_issuee_id": "u1"}, True),
        ({"external_issuee_id": "u\x001"}, False),  # the NUL schemathesis found
        ({"external_issuee_id": "u\x0b1"}, False),  # the character that broke every XLSX download (item 6)
        ({"external_issuee_id": "u\u00851"}, False),  # C1 controls too
        ({"external_issuee_id": "ü 1 ☃"}, True),
        ({"external_issuee_id": ""}, False),
        ({"external_issuee_id": "u1", "reference": None}, True),
        ({"external_issuee_id": "u1", "reference": "r\t1"}, False),
    ],
)
def test_an_issuance_body_is_refused_for_its_form_exactly_when_the_document_says_it_is_invalid(
    setup, api, document, make_pool, body, valid
):
    pool = make_pool(setup.campaign.organization, codes=3)
    with scopes_disabled():
        setup.campaign.pools.add(pool)
    assert valid_by_the_document(document, "CodeEventIn", body) is valid
    response = api.post(f"/pools/{pool.pk}/issuances", body, key=setup.live_key)
    assert refused_for_its_form(response) is not valid, response.content


def test_a_refused_text_field_says_which_character_and_where(setup, api):
    response = api.post("/awards", award_body(vendor="AC\x0bME"), key=setup.live_key)
    assert response.json()["error"]["fields"] == {"vendor": ["Control characters are not allowed (U+000B at 2)."]}


@pytest.mark.parametrize("code", ["%00", "a%0Bb"])
@pytest.mark.parametrize("redeem", [False, True])
def test_a_control_character_in_a_code_in_the_path_is_an_invalid_request_not_a_500(setup, api, code, redeem):
    if redeem:
        response = api.post(f"/codes/{code}/redemptions", {"external_issuee_id": "u1"}, key=setup.live_key)
    else:
        response = api.get(f"/codes/{code}", key=setup.live_key)
    assert refused_for_its_form(response), response.content
    assert set(response.json()["error"]["fields"]) == {"code"}


@pytest.mark.parametrize("field", ["external_issuee_id", "reference"])
def test_a_lone_surrogate_is_an_invalid_request_not_a_500(setup, api, make_pool, field):
    """JSON can carry "\\ud800", which is no Unicode text: nothing can store it (PostgreSQL's UTF-8 refuses it)."""
    pool = make_pool(setup.campaign.organization, codes=3)
    with scopes_disabled():
        setup.campaign.pools.add(pool)
    body = {"external_issuee_id": "u1", "reference": "r1"}
    raw = json.dumps(body).replace(f'"{body[field]}"', '"x\\ud800"')
    response = api.post(f"/pools/{pool.pk}/issuances", raw, key=setup.live_key, raw=True)
    assert refused_for_its_form(response), response.content
    assert set(response.json()["error"]["fields"]) == {field}


# What each operation can answer, per error status (design §8's table, as the document must say it).
COMMON = {400: {"invalid_request"}, 401: {"unauthorized"}, 403: {"integration_revoked"}, 429: {"rate_limited"},
          500: {"internal_error"}, 503: {"service_unavailable"}}
WRITES = {"campaign_not_live", "campaign_ended", "idempotency_conflict"}
ERROR_CODES = {
    "createAward": {**COMMON, 409: WRITES | {"out_of_vouchers", "redeemer_limit_reached"}, 422: {"unknown_vendor"}},
    "getCampaign": COMMON,
    "getPool": {**COMMON, 404: {"not_found"}},
    "createIssuance": {**COMMON, 404: {"not_found"}, 409: WRITES | {"issuance_not_allowed", "pool_exhausted"}},
    "getCode": {**COMMON, 404: {"not_found"}},
    "createRedemption": {**COMMON, 404: {"not_found"}, 409: WRITES | {
        "redemption_not_allowed", "code_inactive", "code_not_issued", "already_redeemed"}},
    "optIn": {**COMMON, 409: WRITES | {"user_ineligible_for_campaign", "opt_in_not_started", "opt_in_ended",
                                       "opt_in_limit_reached"}},
    "optOut": {**COMMON, 409: {"idempotency_conflict"}},
    "getProgress": {**COMMON, 404: {"not_found"}},
    "claimReward": {**COMMON, 404: {"not_found"}, 409: WRITES | {"not_claimable", "out_of_vouchers", "pool_exhausted",
                                                                 "redeemer_limit_reached"}},
    "deleteInstance": {**COMMON, 404: {"not_found"}, 409: {"not_deletable"}},
    "createEvent": {**COMMON, 409: WRITES | {"out_of_vouchers", "pool_exhausted", "redeemer_limit_reached"},
                    422: {"unknown_event"}},
}


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_error_status_of_every_operation_lists_the_codes_it_carries_in_the_envelope(document):
    documented = {}
    for _, _, operation in operations(document):
        errors = {int(status): answer for status, answer in operation["responses"].items() if int(status) >= 400}
        documented[operation["operationId"]] = {
            status: set(answer["content"]["application/json"]["schema"]["properties"]["error"]["properties"]["code"][
                "enum"])
            for status, answer in errors.items()
        }
        for status, answer in errors.items():
            assert answer["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ErrorResponse"
            assert all(f"`{code}`" in answer["description"] for code in documented[operation["operationId"]][status])
    assert documented == ERROR_CODES


def test_every_operation_documents_the_request_id_header_both_ways(document):
    for _, _, operation in operations(document):
        assert {"in": "header", "name": "X-Request-Id"}.items() <= next(
            p for p in operation["parameters"] if p["name"] == "X-Request-Id").items()
        assert all("X-Request-Id" in answer["headers"] for answer in operation["responses"].values())


def _resolve(document, schema):
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_the_links_lead_from_a_pool_to_its_issuances_and_from_a_code_to_its_redemptions(document):
    by_id = {operation["operationId"]: (path, operation) for path, _, operation in operations(document)}
    followed = set()
    for _, _, operation in operations(document):
        for status, answer in operation["responses"].items():
            for link in answer.get("links", {}).values():
                target_path, target = by_id[link["operationId"]]
                for name, expression in link["parameters"].items():
                    assert f"{{{name}}}" in target_path and any(p["name"] == name for p in target["parameters"])
                    # The expression names a field the answer's schema has.
                    prefix = "$response.body#/"
                    assert expression.startswith(prefix)
                    schema = _resolve(document, answer["content"]["application/json"]["schema"])
                    for step in expression.removeprefix(prefix).split("/"):
                        schema = _resolve(document, schema["properties"][step])
                    assert schema["type"] in ("string", "integer")
                followed.add((operation["operationId"], int(status), link["operationId"]))
    assert {
        ("getPool", 200, "createIssuance"),
        ("createIssuance", 201, "getCode"),
        ("createIssuance", 201, "createRedemption"),
        ("createIssuance", 200, "getCode"),  # a replay leads to the same code
        ("getCode", 200, "createRedemption"),
        ("getCode", 200, "getPool"),
        ("createRedemption", 201, "getCode"),
        ("optIn", 201, "getProgress"),
        ("optIn", 200, "claimReward"),
        ("createEvent", 201, "getProgress"),
        ("createEvent", 201, "claimReward"),
        ("getProgress", 200, "claimReward"),
        ("getProgress", 200, "deleteInstance"),
        ("claimReward", 201, "getProgress"),
    } <= followed


# --- engagement (design §12) ----------------------------------------------------------------------------------

EVENT = {"customer": {"external_id": "cust-1"}, "event_name": "purchase", "reference": "ev-1"}


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        (EVENT, True),
        ({**EVENT, "reference": None}, False),  # required on events
        ({key: value for key, value in EVENT.items() if key != "reference"}, False),
        ({**EVENT, "reference": "r" * 101}, False),
        ({**EVENT, "event_name": "pur chase"}, False),
        ({**EVENT, "event_name": "Purchase.v2:done-1_x"}, True),
        ({**EVENT, "event_name": "p" * 101}, False),
        ({**EVENT, "occurred_at": "2026-05-01T12:00:00"}, None),  # no offset: the document's format says no
        ({**EVENT, "occurred_at": 1767225600}, False),
        ({**EVENT, "occurred_at": None}, True),
        ({**EVENT, "customer": {"external_id": ""}}, False),
        ({**EVENT, "customer": {"external_id": "a/b"}}, False),
        ({**EVENT, "customer": {"external_id": "a b"}}, False),
        ({**EVENT, "customer": {"external_id": "a\u00a0b"}}, False),
        ({**EVENT, "customer": {"external_id": "a\ufeffb"}}, False),
        ({**EVENT, "customer": {"external_id": "ü☃-1"}}, True),
        ({**EVENT, "customer": {"external_id": "x" * 201}}, False),
        ({**EVENT, "customer": {"external_id": "c1", "tags": [" VIP ", "gold:2026"]}}, True),
        ({**EVENT, "customer": {"external_id": "c1", "tags": ["v ip"]}}, False),
        ({**EVENT, "customer": {"external_id": "c1", "tags": ["é"]}}, False),
        ({**EVENT, "customer": {"external_id": "c1", "tags": ["t" * 51]}}, False),
        ({**EVENT, "customer": {"external_id": "c1", "tags": [f"t{n}" for n in range(101)]}}, False),
        ({**EVENT, "customer": {"external_id": "c1", "email": "not-an-email"}}, None),  # format: email
        ({**EVENT, "customer": {"external_id": "c1", "mobile": "+1555\n"}}, False),
    ],
)
def test_an_event_body_is_refused_for_its_form_exactly_when_the_document_says_it_is_invalid(
    setup, api, document, body, valid
):
    """``None``: a format (date-time, email) the validator here does not check, which the API refuses."""
    from engagement.services.setup import add_behavior

    with scopes_disabled():
        add_behavior(setup.campaign, name="Purchase", event_name="purchase", goal=5)
    if valid is not None:
        assert valid_by_the_document(document, "EventIn", body) is valid
    response = api.post("/events", body, key=setup.live_key)
    assert refused_for_its_form(response) is not bool(valid), response.content


def test_the_document_states_every_engagement_pattern(document):
    from api.schemas import EVENT_NAME_PATTERN, EXTERNAL_ID_PATTERN, TAG_PATTERN

    schemas = document["components"]["schemas"]
    customer = schemas["EventCustomerIn"]["properties"]
    assert customer["external_id"]["pattern"] == EXTERNAL_ID_PATTERN
    assert customer["tags"]["maxItems"] == 100 and customer["tags"]["items"]["pattern"] == TAG_PATTERN
    assert "lower-cased" in customer["tags"]["description"]
    event = schemas["EventIn"]["properties"]
    assert event["event_name"]["pattern"] == EVENT_NAME_PATTERN
    assert event["occurred_at"]["anyOf"][0]["format"] == "date-time"
    assert "reference" in schemas["EventIn"]["required"] and event["reference"]["maxLength"] == 100
    path = document["paths"]["/api/v1/customers/{external_id}/opt_in"]["post"]["parameters"][0]
    assert path["name"] == "external_id" and path["schema"]["pattern"] == EXTERNAL_ID_PATTERN
