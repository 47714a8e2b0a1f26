"""The README's OAuth recipes (section "OAuth apps") as the e2e tests run them: the python block that uses a
given client, and `approve_in_browser(url)`, an httpx "browser" that signs in as Dana and presses Authorize."""

from __future__ import annotations

import html
import re
import ssl
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

README = Path(__file__).resolve().parents[1] / "README.md"
REDIRECT = "http://127.0.0.1:8000/integrations/pagerduty/oauth/callback"


def recipe(marker: str) -> str:
    """The README's one python block in "OAuth apps" that mentions `marker` (e.g. "OAuthTokenClient")."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("\n## OAuth apps\n"):]
    section = section[:section.index("\n## ", 1)]
    blocks = [b for b in re.findall(r"```python\n(.*?)```", section, re.S) if marker in b]
    assert len(blocks) == 1, f"the README's OAuth section should have one {marker} recipe"
    return blocks[0]


def _hidden_fields(page: str, action: str) -> dict[str, str]:
    form = page[page.index(f'action="{action}"'):]
    form = form[:form.index("</form>")]
    return {html.unescape(name): html.unescape(value)
            for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)}


def browser_approval(ca: ssl.SSLContext | bool = True):
    """`approve_in_browser(url)`: what a person does in a browser — sign in when asked, press Authorize — and
    the code the sandbox sends back to the redirect URI."""

    def approve_in_browser(url: str) -> str:
        with httpx.Client(verify=ca, follow_redirects=False, timeout=10) as browser:
            answer = browser.get(url)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login?")
            login = browser.get(urljoin(url, answer.headers["location"]))
            form = {**_hidden_fields(login.text, "/login"), "email": "demo@acme.test", "password": "demo"}
            signed_in = browser.post(urljoin(url, "/login"), data=form)
            assert signed_in.status_code == 303, signed_in.text[:300]
            consent = browser.get(urljoin(url, signed_in.headers["location"]))
            assert consent.status_code == 200 and "Demo Monitor wants to use your PagerDuty account" in consent.text
            approved = browser.post(urljoin(url, "/oauth/authorize"),
                                    data={**_hidden_fields(consent.text, "/oauth/authorize"), "decision": "authorize"})
            assert approved.status_code == 302, approved.text[:300]
            location = approved.headers["location"]
            assert location.startswith(REDIRECT + "?")
            return parse_qs(urlsplit(location).query)["code"][0]

    return approve_in_browser
