"""README's list of the REST endpoints served, with their parameters, is generated from the one table the sandbox
checks requests against (`fake_pagerduty/domain/rest_params.py`), so it cannot drift from what is served.

After changing the table: `.venv/bin/python -m tests.test_readme_rest --write` rewrites the README block."""

from __future__ import annotations

import sys
from pathlib import Path

from fake_pagerduty.domain import rest_params

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN = "<!-- rest-endpoints: generated from fake_pagerduty/domain/rest_params.py by tests/test_readme_rest.py -->"
END = "<!-- /rest-endpoints -->"


def _codes(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{name}`" for name in names) or "—"


def render(endpoints: dict[tuple[str, str], rest_params.Endpoint]) -> str:
    lines = ["| Endpoint (under `/api`) | Query parameters honoured | Refused (400: not in the sandbox) |"
             " `include[]` accepted (**expanded**) |", "|---|---|---|---|"]
    for (method, path), row in endpoints.items():
        include = ", ".join(f"**`{v}`**" if v in row.expands else f"`{v}`" for v in row.include) or "—"
        lines.append(f"| `{method} {path}` | {_codes(row.honoured)} | {_codes(row.refused)} | {include} |")
    return "\n".join([BEGIN, *lines, END])


def _block(text: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[start:end]


def test_the_readme_lists_every_rest_endpoint_served_with_its_parameters_as_the_table_says():
    text = README.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, "README has no generated REST endpoints block"
    assert _block(text) == render(rest_params.ENDPOINTS), (
        "README's REST endpoints block is not the table's: run `.venv/bin/python -m tests.test_readme_rest --write`")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    current = README.read_text(encoding="utf-8")
    README.write_text(current.replace(_block(current), render(rest_params.ENDPOINTS)), encoding="utf-8")
