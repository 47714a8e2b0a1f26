"""The sandbox's whole URL map, in one list."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from fake_pagerduty.web import events_api, rest_api, sandbox_ca


def routes() -> list[BaseRoute]:
    return [
        # Events API
        Route("/generic/2010-04-15/create_event.json", events_api.create_event_v1, methods=["POST"]),
        Route("/v2/enqueue", events_api.enqueue_v2, methods=["POST"]),
        Route("/v2/enqueue/", events_api.enqueue_v2, methods=["POST"]),
        Route("/v2/change/enqueue", events_api.enqueue_change, methods=["POST"]),
        Route("/v2/change/enqueue/", events_api.enqueue_change, methods=["POST"]),
        # REST API (clients use base URL {public url}/api)
        Route("/api/incidents", rest_api.list_incidents, methods=["GET"]),
        Route("/api/incidents", rest_api.update_incidents, methods=["PUT"]),
        Route("/api/incidents/{id}", rest_api.get_incident, methods=["GET"]),
        Route("/api/incidents/{id}", rest_api.update_incident, methods=["PUT"]),
        Route("/api/incidents/{id}/alerts", rest_api.incident_alerts, methods=["GET"]),
        Route("/api/incidents/{id}/log_entries", rest_api.incident_log_entries, methods=["GET"]),
        Route("/api/services", rest_api.list_services, methods=["GET"]),
        Route("/api/services", rest_api.create_service, methods=["POST"]),
        Route("/api/services/{id}", rest_api.get_service, methods=["GET"]),
        Route("/api/services/{id}/integrations", rest_api.create_integration, methods=["POST"]),
        Route("/api/services/{id}/integrations/{integration_id}", rest_api.get_integration, methods=["GET"]),
        Route("/api/change_events", rest_api.list_change_events, methods=["GET"]),
        # Sandbox controls
        Route("/_sandbox/ca.pem", sandbox_ca.ca_pem, methods=["GET"]),
    ]
