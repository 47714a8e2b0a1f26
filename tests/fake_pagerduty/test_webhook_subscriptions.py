"""REST API `/api/webhook_subscriptions`: create, list, show, delete; validation; auth."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REST_HEADERS

URL = "/api/webhook_subscriptions"
UNAUTHORIZED = {"error": {"message": "Authentication failed", "code": 2006}}
NOT_FOUND = {"error": {"message": "Not Found", "code": 2100}}


def subscription(**overrides) -> dict:
    body = {
        "type": "webhook_subscription",
        "delivery_method": {
            "type": "http_delivery_method",
            "url": "https://receiver.test/pagerduty",
            "custom_headers": [{"name": "X-Partner-Token", "value": "abc123"}],
        },
        "events": ["incident.triggered", "incident.resolved"],
        "filter": {"type": "service_reference", "id": "PWEBS00"},
        "description": "Sends incidents to the receiver.",
        "active": True,
    }
    body.update(overrides)
    return {"webhook_subscription": body}


async def create(sandbox, **overrides) -> dict:
    response = await sandbox.post(URL, json=subscription(**overrides), headers=REST_HEADERS)
    assert response.status_code == 200, response.text
    return response.json()["webhook_subscription"]


async def test_create_answers_200_with_the_subscription_and_its_secret_once(sandbox):
    """PagerDuty's rest.json: `POST /webhook_subscriptions` answers 200 (not 201)."""
    response = await sandbox.post(URL, json=subscription(), headers=REST_HEADERS)
    assert response.status_code == 200
    body = response.json()["webhook_subscription"]
    secret, sub_id, method_id = body["delivery_method"]["secret"], body["id"], body["delivery_method"]["id"]
    assert re.fullmatch(r"P[A-Z0-9]{6}", sub_id) and re.fullmatch(r"P[A-Z0-9]{6}", method_id)
    assert isinstance(secret, str) and len(secret) >= 32
    assert body == {
        "id": sub_id,
        "type": "webhook_subscription",
        "active": True,
        "delivery_method": {
            "id": method_id,
            "secret": secret,
            "temporarily_disabled": False,
            "type": "http_delivery_method",
            "url": "https://receiver.test/pagerduty",
            "custom_headers": [{"name": "X-Partner-Token", "value": "abc123"}],
        },
        "description": "Sends incidents to the receiver.",
        "events": ["incident.triggered", "incident.resolved"],
        "filter": {"id": "PWEBS00", "type": "service_reference"},
    }

    shown = await sandbox.get(f"{URL}/{sub_id}", headers=REST_HEADERS)
    assert shown.status_code == 200
    expected = dict(body)
    expected["delivery_method"] = {
        **body["delivery_method"],
        "secret": None,
        "custom_headers": [{"name": "X-Partner-Token", "value": "-- redacted --"}],
    }
    assert shown.json() == {"webhook_subscription": expected}


async def test_secrets_differ_between_subscriptions(sandbox):
    first, second = await create(sandbox), await create(sandbox)
    assert first["id"] != second["id"]
    assert first["delivery_method"]["secret"] != second["delivery_method"]["secret"]


async def test_account_filter_defaults_to_the_callers_account(sandbox):
    body = await create(sandbox, filter={"type": "account_reference"})
    assert body["filter"] == {"id": "PACME00", "type": "account_reference"}


async def test_list_is_paginated(sandbox):
    created = [(await create(sandbox, description=f"hook {i}"))["id"] for i in range(3)]

    first = await sandbox.get(URL, params={"limit": 2}, headers=REST_HEADERS)
    assert first.status_code == 200
    page = first.json()
    assert [s["id"] for s in page["webhook_subscriptions"]] == created[:2]
    assert (page["limit"], page["offset"], page["more"], page["total"]) == (2, 0, True, None)
    assert all(s["delivery_method"]["secret"] is None for s in page["webhook_subscriptions"])

    rest = (await sandbox.get(URL, params={"limit": 2, "offset": 2, "total": "true"}, headers=REST_HEADERS)).json()
    assert [s["id"] for s in rest["webhook_subscriptions"]] == created[2:]
    assert (rest["limit"], rest["offset"], rest["more"], rest["total"]) == (2, 2, False, 3)

    default = (await sandbox.get(URL, headers=REST_HEADERS)).json()
    assert (default["limit"], default["offset"], default["more"]) == (25, 0, False)
    assert len(default["webhook_subscriptions"]) == 3


async def test_list_filters_by_filter_type_and_id(sandbox, sandbox_app):
    store, now = sandbox_app.state.store, sandbox_app.state.clock.now()
    other = await store.services.upsert(id="POTHER0", account_id="PACME00", name="Other", now=now)
    website = await create(sandbox)
    other_sub = await create(sandbox, filter={"type": "service_reference", "id": other})
    account_sub = await create(sandbox, filter={"type": "account_reference", "id": "PACME00"})

    async def listed(**params) -> list[str]:
        response = await sandbox.get(URL, params=params, headers=REST_HEADERS)
        assert response.status_code == 200, response.text
        return [s["id"] for s in response.json()["webhook_subscriptions"]]

    assert await listed(filter_type="service") == [website["id"], other_sub["id"]]
    assert await listed(filter_type="service", filter_id=other) == [other_sub["id"]]
    assert await listed(filter_type="account") == [account_sub["id"]]
    assert await listed(filter_type="team") == []  # a filter PagerDuty knows; the sandbox has no teams
    assert await listed(filter_type="service_reference", filter_id="PWEBS00") == [website["id"]]
    bad = await sandbox.get(URL, params={"filter_type": "galaxy"}, headers=REST_HEADERS)
    assert bad.status_code == 400
    assert bad.json() == _invalid("Filter type must be one of: account service team")


async def test_delete_answers_204_then_the_subscription_is_gone(sandbox):
    sub_id = (await create(sandbox))["id"]
    deleted = await sandbox.delete(f"{URL}/{sub_id}", headers=REST_HEADERS)
    assert deleted.status_code == 204
    assert deleted.content == b""

    for response in (
        await sandbox.get(f"{URL}/{sub_id}", headers=REST_HEADERS),
        await sandbox.delete(f"{URL}/{sub_id}", headers=REST_HEADERS),
    ):
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    listed = (await sandbox.get(URL, params={"total": "true"}, headers=REST_HEADERS)).json()
    assert listed["webhook_subscriptions"] == [] and listed["total"] == 0


async def test_unknown_subscription_is_404(sandbox):
    response = await sandbox.get(f"{URL}/PNOPE00", headers=REST_HEADERS)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def _invalid(*errors: str) -> dict:
    return {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": list(errors)}}


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        (
            {"delivery_method": {"type": "http_delivery_method", "url": "not a url"}},
            ["Delivery method url must be a valid http or https URL"],
        ),
        (
            {"delivery_method": {"type": "http_delivery_method", "url": "ftp://receiver.test/x"}},
            ["Delivery method url must be a valid http or https URL"],
        ),
        (
            {"events": ["incident.triggered", "incident.exploded"]},
            ["Events contains an unknown event type: 'incident.exploded'"],
        ),
        ({"events": []}, ["Events must be a non-empty list of event types"]),
        (
            {"filter": {"type": "team_reference", "id": "PTEAM00"}},
            ["Filter type team_reference is not supported by the sandbox (it has no teams)"],
        ),
        ({"filter": {"type": "service_reference"}}, ["Filter id is required for a service_reference filter"]),
        ({"filter": {"type": "service_reference", "id": "PNOSUCH"}}, ["Filter service PNOSUCH was not found"]),
        ({"type": "webhook"}, ["Type must be webhook_subscription"]),
        ({"delivery_method": "https://receiver.test/pagerduty"}, ["Delivery method is missing or not an object"]),
        ({"delivery_method": {"type": "email_delivery_method", "url": "https://receiver.test/pagerduty"}},
         ["Delivery method type must be http_delivery_method"]),
        ({"delivery_method": {"url": " https://receiver.test/pagerduty"}},
         ["Delivery method url must be a valid http or https URL"]),
        ({"delivery_method": {"url": "https://receiver.test:99999/x"}},
         ["Delivery method url must be a valid http or https URL"]),
        ({"delivery_method": {"url": "https:///x"}}, ["Delivery method url must be a valid http or https URL"]),
        ({"delivery_method": {"url": 5}}, ["Delivery method url must be a valid http or https URL"]),
        ({"delivery_method": {"url": "https://receiver.test/" + "x" * 2028}},  # 2,049 characters
         ["Delivery method url must be a valid http or https URL"]),
        ({"delivery_method": {"url": "https://receiver.test/", "custom_headers": {"X-A": "b"}}},
         ["Delivery method custom_headers must be a list"]),
        ({"delivery_method": {"url": "https://receiver.test/",
                              "custom_headers": [{"name": f"X-H{i}", "value": "v"} for i in range(11)]}},
         ["Delivery method custom_headers may hold at most 10 headers"]),
        ({"delivery_method": {"url": "https://receiver.test/", "custom_headers": [
            "X-A: b", {"name": " ", "value": "v"}, {"name": "X A", "value": "v"}, {"name": "User-Agent", "value": "v"},
            {"name": "X-B", "value": 5}, {"name": "X-C", "value": "a\r\nX-D: e"}, {"name": "X-E", "value": "\0"},
            {"name": "X-F", "value": "a\nb"}]}},
         ["Delivery method custom_headers[0].name is invalid", "Delivery method custom_headers[1].name is invalid",
          "Delivery method custom_headers[2].name is invalid",
          "Delivery method custom_headers[3].name 'User-Agent' is reserved",
          "Delivery method custom_headers[4].value is invalid", "Delivery method custom_headers[5].value is invalid",
          "Delivery method custom_headers[6].value is invalid", "Delivery method custom_headers[7].value is invalid"]),
        ({"events": "incident.triggered"}, ["Events must be a non-empty list of event types"]),
        ({"events": [7, "incident.triggered", "incident.triggered"]},
         ["Events contains an unknown event type: 7", "Events must not repeat an event type"]),
        ({"filter": "PWEBS00"}, ["Filter is missing or not an object"]),
        ({"filter": {"type": "account_reference", "id": 7}}, ["Filter id must be a string"]),
        ({"filter": {"type": "service_reference", "id": 7}},
         ["Filter id is required for a service_reference filter", "Filter id must be a string"]),
        ({"description": 7, "active": "yes"}, ["Description must be a string", "Active must be true or false"]),
    ],
)
async def test_invalid_subscriptions_are_rejected(sandbox, overrides, errors):
    response = await sandbox.post(URL, json=subscription(**overrides), headers=REST_HEADERS)
    assert response.status_code == 400
    assert response.json() == _invalid(*errors)
    listed = (await sandbox.get(URL, params={"total": "true"}, headers=REST_HEADERS)).json()
    assert listed["total"] == 0


async def test_every_problem_is_reported_at_once(sandbox):
    body = subscription(
        delivery_method={"type": "http_delivery_method", "url": ""},
        events=["nope"],
        filter={"type": "galaxy_reference"},
    )
    response = await sandbox.post(URL, json=body, headers=REST_HEADERS)
    assert response.status_code == 400
    assert response.json() == _invalid(
        "Delivery method url must be a valid http or https URL",
        "Events contains an unknown event type: 'nope'",
        "Filter type must be one of: service_reference account_reference team_reference",
    )


async def test_body_must_be_a_json_subscription(sandbox):
    not_json = await sandbox.post(URL, content=b"{oops", headers=REST_HEADERS)
    assert not_json.status_code == 400
    assert not_json.json() == _invalid("The request body is not valid JSON")
    unwrapped = await sandbox.post(URL, json={"url": "https://x.test"}, headers=REST_HEADERS)
    assert unwrapped.status_code == 400
    assert unwrapped.json() == _invalid("webhook_subscription is missing or not an object")


async def _other_account(sandbox_app) -> tuple[dict, str]:
    store, now = sandbox_app.state.store, sandbox_app.state.clock.now()
    await store.accounts.upsert(id="PGLOBEX", subdomain="globex", name="Globex", now=now)
    await store.accounts.upsert_api_key(token="globex-key", account_id="PGLOBEX", description="test", now=now)
    service_id = await store.services.upsert(id="PGLOBSV", account_id="PGLOBEX", name="Globex Web", now=now)
    headers = {**REST_HEADERS, "Authorization": "Token token=globex-key"}
    return headers, service_id


async def test_filter_on_another_accounts_service_is_rejected(sandbox, sandbox_app):
    _, globex_service = await _other_account(sandbox_app)
    response = await sandbox.post(
        URL, json=subscription(filter={"type": "service_reference", "id": globex_service}), headers=REST_HEADERS
    )
    assert response.status_code == 400
    assert response.json() == _invalid(f"Filter service {globex_service} was not found")


async def test_filter_on_another_account_is_rejected(sandbox, sandbox_app):
    await _other_account(sandbox_app)
    response = await sandbox.post(
        URL, json=subscription(filter={"type": "account_reference", "id": "PGLOBEX"}), headers=REST_HEADERS
    )
    assert response.status_code == 400
    assert response.json() == _invalid("Filter account PGLOBEX is not the account of this API key")


async def test_accounts_see_only_their_own_subscriptions(sandbox, sandbox_app):
    globex_headers, _ = await _other_account(sandbox_app)
    sub_id = (await create(sandbox))["id"]
    assert (await sandbox.get(f"{URL}/{sub_id}", headers=globex_headers)).status_code == 404
    assert (await sandbox.delete(f"{URL}/{sub_id}", headers=globex_headers)).status_code == 404
    listed = (await sandbox.get(URL, params={"total": "true"}, headers=globex_headers)).json()
    assert listed["webhook_subscriptions"] == [] and listed["total"] == 0
    assert (await sandbox.get(f"{URL}/{sub_id}", headers=REST_HEADERS)).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [None, "Token token=wrong-key", "Bearer wrong-key", "Token sandbox-api-key-acme", "Token token="],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", URL), ("POST", URL), ("GET", f"{URL}/PANY000"), ("DELETE", f"{URL}/PANY000")],
)
async def test_requests_without_a_valid_key_get_401(sandbox, authorization, method, path):
    headers = {"Accept": REST_HEADERS["Accept"]}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = await sandbox.request(method, path, json=subscription() if method == "POST" else None,
                                     headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    listed = (await sandbox.get(URL, params={"total": "true"}, headers=REST_HEADERS)).json()
    assert listed["total"] == 0


async def test_update_changes_events_filter_description_and_active(sandbox):
    created = await create(sandbox)
    response = await sandbox.put(f"{URL}/{created['id']}", headers=REST_HEADERS, json={"webhook_subscription": {
        "events": ["incident.acknowledged"], "filter": {"type": "account_reference"},
        "description": "Everything on the account", "active": False}})
    assert response.status_code == 200, response.text
    expected = {
        **created,
        "events": ["incident.acknowledged"],
        "filter": {"id": "PACME00", "type": "account_reference"},
        "description": "Everything on the account",
        "active": False,
        "delivery_method": {**created["delivery_method"], "secret": None,
                            "custom_headers": [{"name": "X-Partner-Token", "value": "-- redacted --"}]},
    }
    assert response.json() == {"webhook_subscription": expected}
    assert (await sandbox.get(f"{URL}/{created['id']}", headers=REST_HEADERS)).json() == response.json()


async def test_an_update_names_every_problem_and_changes_nothing(sandbox):
    created = await create(sandbox)
    for body, errors in (
        ({"description": 5, "active": None, "filter": []},
         ["Description must be a string", "Filter is missing or not an object", "Active must be true or false"]),
        ({"events": ["incident.triggered", "incident.triggered"]}, ["Events must not repeat an event type"]),
    ):
        response = await sandbox.put(f"{URL}/{created['id']}", headers=REST_HEADERS,
                                     json={"webhook_subscription": body})
        assert (response.status_code, response.json()) == (400, _invalid(*errors))
    unwrapped = await sandbox.put(f"{URL}/{created['id']}", headers=REST_HEADERS, json={"active": False})
    assert (unwrapped.status_code, unwrapped.json()) == (400, _invalid("webhook_subscription is missing or not an object"))
    shown = (await sandbox.get(f"{URL}/{created['id']}", headers=REST_HEADERS)).json()["webhook_subscription"]
    assert (shown["description"], shown["active"], shown["events"]) == (
        created["description"], True, created["events"])


async def test_an_http_url_of_2048_characters_and_ten_custom_headers_are_taken(sandbox):
    url = "http://receiver.test/" + "x" * 2027
    headers = [{"name": f"X-H{i}", "value": f"Xval {i}"} for i in range(10)]
    created = await create(sandbox, delivery_method={"url": url, "custom_headers": headers})
    assert (created["delivery_method"]["url"], created["delivery_method"]["custom_headers"]) == (url, headers)


async def test_type_and_description_may_be_left_out(sandbox):
    body = subscription()
    del body["webhook_subscription"]["type"], body["webhook_subscription"]["description"]
    response = await sandbox.post(URL, json=body, headers=REST_HEADERS)
    assert response.status_code == 200, response.text
    created = response.json()["webhook_subscription"]
    assert (created["type"], created["description"]) == ("webhook_subscription", "")


async def test_a_custom_header_name_may_use_every_token_character(sandbox):
    name = "!#$%&'*+-.^_`|~09azAZ"
    created = await create(sandbox, delivery_method={"url": "https://receiver.test/",
                                                     "custom_headers": [{"name": name, "value": "v"}]})
    assert created["delivery_method"]["custom_headers"] == [{"name": name, "value": "v"}]


async def test_update_leaves_out_fields_unchanged_and_validates_the_rest(sandbox, sandbox_app):
    created = await create(sandbox)
    only_description = await sandbox.put(f"{URL}/{created['id']}", headers=REST_HEADERS,
                                         json={"webhook_subscription": {"description": "renamed"}})
    assert only_description.status_code == 200
    assert only_description.json()["webhook_subscription"]["events"] == created["events"]

    _, globex_service = await _other_account(sandbox_app)
    for body, errors in (
        ({"events": ["incident.nope"]}, ["Events contains an unknown event type: 'incident.nope'"]),
        ({"filter": {"type": "service_reference", "id": globex_service}},
         [f"Filter service {globex_service} was not found"]),
        ({"delivery_method": {"type": "http_delivery_method", "url": "https://elsewhere.test/"}},
         ["Delivery method cannot be changed; delete the subscription and create a new one"]),
    ):
        response = await sandbox.put(f"{URL}/{created['id']}", headers=REST_HEADERS,
                                     json={"webhook_subscription": body})
        assert response.status_code == 400
        assert response.json() == _invalid(*errors)
    shown = (await sandbox.get(f"{URL}/{created['id']}", headers=REST_HEADERS)).json()["webhook_subscription"]
    assert (shown["description"], shown["events"], shown["filter"]) == (
        "renamed", created["events"], created["filter"])


async def test_update_ping_and_enable_of_an_unknown_subscription_are_404(sandbox):
    for method, path, body in (("PUT", f"{URL}/PNOPE00", {"webhook_subscription": {"active": False}}),
                               ("POST", f"{URL}/PNOPE00/ping", None), ("POST", f"{URL}/PNOPE00/enable", None)):
        response = await sandbox.request(method, path, json=body, headers=REST_HEADERS)
        assert response.status_code == 404
        assert response.json() == NOT_FOUND


async def test_enable_answers_with_the_subscription(sandbox):
    created = await create(sandbox)
    response = await sandbox.post(f"{URL}/{created['id']}/enable", headers=REST_HEADERS)
    assert response.status_code == 200
    assert response.json()["webhook_subscription"]["id"] == created["id"]
    assert response.json()["webhook_subscription"]["delivery_method"]["temporarily_disabled"] is False
