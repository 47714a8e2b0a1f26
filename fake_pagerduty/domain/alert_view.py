"""What of an alert's event data a page may show, and how: details as rows, safe links and images.

Pure rules. Only absolute http(s) URLs become links; only https images are shown (never http, data: or
javascript:). Escaping is the templates' job (autoescape); this module decides what becomes a link at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fake_pagerduty.domain.callbacks import is_http_url, is_https_url


@dataclass(frozen=True)
class DetailRow:
    key: str
    value: str
    nested: bool  # rendered as pretty JSON in a <pre>


@dataclass(frozen=True)
class Link:
    text: str
    href: str | None  # None: shown as text, not a link


@dataclass(frozen=True)
class Image:
    src: str
    alt: str
    href: str | None


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def detail_rows(details: Any) -> list[DetailRow]:
    """custom_details (v2) or details (v1) as key/value rows; nested values as indented JSON."""
    if details is None or details == {} or details == "":
        return []
    if not isinstance(details, dict):
        details = {"details": details}
    rows = []
    for key, value in details.items():
        if isinstance(value, dict | list):
            rows.append(DetailRow(str(key), json.dumps(value, indent=2, ensure_ascii=False), True))
        else:
            rows.append(DetailRow(str(key), _scalar(value), False))
    return rows


def contexts(body: dict, kind: str) -> list:
    """An alert body's link or image contexts (bodies stored before contexts held v2's links: their lists)."""
    found = [c for c in body.get("contexts") or [] if isinstance(c, dict) and c.get("type") == kind]
    old = body.get(f"{kind}s")
    return found or (old if isinstance(old, list) else [])


def links(raw: Any) -> list[Link]:
    found = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        href = item.get("href")
        text = item.get("text") if isinstance(item.get("text"), str) and item.get("text") else href
        if not isinstance(text, str) or not text:
            continue
        found.append(Link(text, href if is_http_url(href) else None))
    return found


def images(raw: Any) -> list[Image]:
    found = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not is_https_url(item.get("src")):
            continue
        alt = item.get("alt") if isinstance(item.get("alt"), str) else ""
        href = item.get("href")
        found.append(Image(item["src"], alt, href if is_http_url(href) else None))
    return found


def source_link(client: Any, client_url: Any) -> Link | None:
    """"View at {client}" (or "View at source") for an http(s) client_url; None otherwise."""
    if not is_http_url(client_url):
        return None
    name = client if isinstance(client, str) and client.strip() else "source"
    return Link(f"View at {name}", client_url)
