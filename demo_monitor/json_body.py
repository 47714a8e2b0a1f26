"""The one parser for JSON request bodies (the JSON API's, PagerDuty's webhooks): anything that is not JSON,
including JSON nested deeper than Python can parse (a RecursionError), is a ValueError for the caller's 4xx."""

from __future__ import annotations

import json
from typing import Any


def parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
