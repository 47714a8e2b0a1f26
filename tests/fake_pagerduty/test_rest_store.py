"""The store behind the REST API: incident list queries stay index-driven (fast with 100,000 incidents)."""

from __future__ import annotations

import sqlite3

import pytest
from starlette.datastructures import QueryParams

from fake_pagerduty.domain import rest_query


def _plan(sandbox_app, query_string: str) -> list[str]:
    store = sandbox_app.state.store
    query, _ = rest_query.incident_query(QueryParams(query_string), sandbox_app.state.clock.now())
    sql, params = store.incidents.page_sql("PACME00", query)
    with sqlite3.connect(store.path) as db:
        return [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", (*params, 101, 0))]


@pytest.mark.parametrize(
    ("query_string", "index"),
    [
        ("", "sqlite_autoindex_incidents_2"),  # UNIQUE (account_id, incident_number): pages in number order
        ("limit=100", "sqlite_autoindex_incidents_2"),
        ("date_range=all", "sqlite_autoindex_incidents_2"),
        ("sort_by=incident_number:desc", "sqlite_autoindex_incidents_2"),
        ("sort_by=created_at:desc", "incidents_account_created"),
        ("date_range=all&sort_by=created_at", "incidents_account_created"),
        ("statuses[]=triggered", "incidents_account_status"),
        ("service_ids[]=PWEBS00", "incidents_service"),
    ],
)
async def test_a_page_of_incidents_reads_an_index_in_order(sandbox_app, query_string, index):
    plan = _plan(sandbox_app, query_string)
    incident_steps = [step for step in plan if step.startswith(("SEARCH i ", "SCAN i"))]
    assert len(incident_steps) == 1 and f"USING INDEX {index} " in incident_steps[0], plan
    assert not any("TEMP B-TREE" in step for step in plan), plan  # no sorting of the whole window


async def test_incident_key_lookups_use_the_key_index(sandbox_app):
    plan = _plan(sandbox_app, "incident_key=abc")
    assert any("USING INDEX incidents_key (account_id=? AND incident_key=?)" in step for step in plan), plan
