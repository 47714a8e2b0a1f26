"""Bad input on the pages: the handshakes' query parameters and every form (hypothesis): never a 5xx, and no
redirect ever leaves for somewhere the partner app did not allow. (The REST API: test_fuzz_rest_reads.py and
test_fuzz_rest_changes.py.)"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fake_pagerduty.fuzzing import FUZZ, client
from tests.fake_pagerduty.test_security import BROWSER_TOKEN_FORMS, FORMS

__all__ = ["client"]  # the module's sandbox (a fixture)

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
urls = st.one_of(texts, st.sampled_from(["http://127.0.0.1:8123/cb", "http://localhost:1/x?state=s",
                                         "https://evil.test/", "//evil.test", "javascript:alert(1)"]),
                 st.builds(lambda a, b: a + b, st.sampled_from(["http://127.0.0.1:", "http://localhost",
                                                                 "https://127.0.0.1.", "http://[::1]:"]), texts))
handshake_params = st.fixed_dictionaries({}, optional={
    "vendor": st.one_of(st.just("demo-monitor"), texts), "callback": urls,
    "app_id": st.one_of(st.just("PDEMOMN"), texts), "redirect_url": urls,
    "version": st.one_of(st.just("2"), texts), "state": texts,
}).flatmap(lambda fixed: st.dictionaries(texts, texts, max_size=3).map(lambda extra: {**extra, **fixed}))


@settings(FUZZ, max_examples=300)
@given(path=st.sampled_from(["/connect", "/install/integration", "/login", "/signup", "/incidents"]),
       params=handshake_params)
def test_handshake_and_page_query_parameters(client, path, params):
    answer = client.request("GET", path, params=params)
    if not 300 <= answer.status_code < 400:
        assert answer.headers["content-type"].startswith("text/html"), answer.headers


def _fields(path: str):
    known = {name: st.one_of(st.just(value), texts) for name, value in FORMS[path].items()}
    return st.fixed_dictionaries({}, optional=known).flatmap(
        lambda fixed: st.dictionaries(texts, texts, max_size=3).map(lambda extra: {**extra, **fixed}))


@pytest.mark.parametrize("path", sorted(set(FORMS) - {"/logout"}))
def test_every_form_with_any_fields(client, path):
    test_client = client.client
    test_client.cookies.clear()  # a fresh browser, whatever the last test left signed in
    page = test_client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = test_client.post("/login", data={"csrf_token": token, "email": "demo@acme.test", "password": "demo"},
                              follow_redirects=False)
    assert answer.status_code == 303, answer.text[:200]
    session_token = re.search(r'name="csrf_token" value="([^"]+)"', test_client.get("/incidents").text).group(1)
    login_form = test_client.get("/login").text.partition('action="/login"')[2]  # the token bound to pd_csrf
    browser_token = re.search(r'name="csrf_token" value="([^"]+)"', login_form).group(1)
    token = browser_token if path in BROWSER_TOKEN_FORMS else session_token
    target = path.replace("{incident_id}", client.incident_id)
    slow = path in ("/login", "/signup")  # every attempt hashes a password

    @settings(FUZZ, max_examples=15 if slow else 60)
    @given(fields=_fields(path))
    def run(fields):
        client.request("POST", target, data={**fields, "csrf_token": token})

    run()
