"""The sandbox controls' journal: every Events API request with its answer and outcome (`GET /_sandbox/events`),
and waits instead of sleeps (`/_sandbox/events/wait`, `/_sandbox/incidents/wait`: long polls that answer as soon
as a match exists, woken by the journal signal and the incident changes feed)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fake_pagerduty.domain import lifecycle
from fake_pagerduty.domain.clock import iso, parse_iso
from fake_pagerduty.errors import SandboxError
from fake_pagerduty.store import JournalQuery
from fake_pagerduty.web.journal_view import journal_event
from fake_pagerduty.web.sandbox_access import guarded
from fake_pagerduty.web.sandbox_api import listed, number, page_json, paging

JOURNAL_DEFAULT_LIMIT = 100
JOURNAL_MAX_LIMIT = 1000
WAIT_DEFAULT_SECONDS = 10.0
WAIT_MAX_SECONDS = 60.0


def _journal_query(request: Request) -> JournalQuery:
    params = request.query_params
    since_id = since_time = None
    since = params.get("since", "").strip()
    if since:
        if since.isdigit():
            since_id = int(since)
        elif (moment := parse_iso(since)) is not None:
            since_time = iso(moment)
        else:
            raise SandboxError.invalid(["'since' must be a journal id or an ISO 8601 time"])
    after = params.get("after_id", "").strip()
    if after and not after.isdigit():
        raise SandboxError.invalid(["'after_id' must be a journal id (a whole number)"])
    return JournalQuery(
        routing_key=params.get("routing_key") or None,
        dedup_key=params.get("dedup_key") or None,
        outcomes=listed(request, "outcome"),
        apis=listed(request, "api"),
        incident_id=params.get("incident_id") or None,
        fault_id=params.get("fault_id") or None,
        since_id=since_id,
        since_time=since_time,
        after_id=int(after) if after else None,
    )


@guarded
async def events(request: Request) -> Response:
    store = request.app.state.store
    query = _journal_query(request)
    limit, offset = paging(request, JOURNAL_DEFAULT_LIMIT, JOURNAL_MAX_LIMIT)
    order = request.query_params.get("order", "desc").lower()
    if order not in ("asc", "desc"):
        raise SandboxError.invalid(["'order' must be asc or desc"])
    rows, total, last_id = await store.journal.page(query, limit=limit, offset=offset, newest_first=order == "desc")
    return JSONResponse(page_json("events", [journal_event(row) for row in rows], limit, offset, total,
                                  last_event_id=last_id))


def _timeout(request: Request) -> float:
    return number(request, "timeout", WAIT_DEFAULT_SECONDS, 0, WAIT_MAX_SECONDS, whole=False)


async def _wait_for(check: Callable[[], Awaitable[Any]], wake: Callable[[], asyncio.Future],
                    patience: float, what: str) -> Any:
    """Return `check()` as soon as it finds something; wake up only when `wake()`'s future is set."""
    found = await check()  # already there (a wait right after its 202): no waiter to make and take back
    if found is not None:
        return found
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        waiter = wake()  # before the check: a change between check and await still wakes us
        try:
            found = await check()
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise SandboxError(408, f"Timed out waiting for a matching {what}")
            try:
                await asyncio.wait_for(asyncio.shield(waiter), remaining)
            except TimeoutError:
                pass
        finally:
            waiter.cancel()


@guarded
async def wait_for_event(request: Request) -> Response:
    state = request.app.state
    query = _journal_query(request)
    async def first_match() -> dict | None:
        row = await state.store.journal.first_match(query)
        return journal_event(row) if row else None

    found = await _wait_for(first_match, state.journal_signal.waiter,
                            _timeout(request), "event")
    return JSONResponse({"event": found})


@guarded
async def wait_for_incident(request: Request) -> Response:
    state = request.app.state
    params = request.query_params
    status = params.get("status") or None
    if status is not None and status not in lifecycle.INCIDENT_STATUSES:
        raise SandboxError.invalid(["'status' must be one of: triggered acknowledged resolved"])
    incident_number = number(request, "incident_number", 0, 1, 10**12, whole=True) or None
    filters = {"status": status, "incident_key": params.get("incident_key") or None,
               "service_id": params.get("service_id") or None, "incident_number": incident_number}

    def wake() -> asyncio.Future:
        """Incidents change through events (the journal) and everything that publishes to `changes`."""
        future = asyncio.get_running_loop().create_future()

        def poke(*_: Any) -> None:
            if not future.done():
                future.set_result(None)

        journal = state.journal_signal.waiter()
        journal.add_done_callback(poke)
        stop_listening = state.changes.listen(poke)
        future.add_done_callback(lambda _: (stop_listening(), journal.cancel()))
        return future

    found = await _wait_for(lambda: state.store.incidents.find_newest(**filters), wake, _timeout(request),
                            "incident")
    return JSONResponse({"incident": found})
