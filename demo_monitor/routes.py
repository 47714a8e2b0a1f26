"""The monitor's whole URL map, in one list."""

from __future__ import annotations

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from demo_monitor.web import alerts, api, dashboard, integration, oauth, rules, servers, stream, webhook


def routes() -> list:
    return [
        Route("/", dashboard.home, name="home"),
        Route("/scenario", dashboard.scenario, methods=["POST"], name="scenario"),
        Route("/servers/{name}", servers.server_page, name="server"),
        Route("/servers/{name}/fault", servers.fault_form, methods=["POST"], name="server_fault"),
        Route("/alerts", alerts.alerts_page, name="alerts"),
        Route("/alerts/{alert_id}", alerts.alert_page, name="alert"),
        Route("/alerts/{alert_id}/{action:str}", alerts.action_form, methods=["POST"], name="alert_action"),
        Route("/rules", rules.rules_page, name="rules"),
        Route("/rules/{rule_id:int}", rules.update_form, methods=["POST"], name="rule_update"),
        Route("/integrations/pagerduty", integration.page, name="integration"),
        Route("/integrations/pagerduty/connect", integration.connect, name="integration_connect"),
        Route("/integrations/pagerduty/callback", integration.callback, name="integration_callback"),
        Route("/integrations/pagerduty/oauth/start", oauth.start, methods=["POST"], name="oauth_start"),
        Route("/integrations/pagerduty/oauth/callback", oauth.callback, name="oauth_callback"),
        Route("/integrations/pagerduty/oauth/service", oauth.service_page, name="oauth_service"),
        Route("/integrations/pagerduty/oauth/service", oauth.service_form, methods=["POST"],
              name="oauth_service_form"),
        Route("/integrations/pagerduty/disconnect", integration.disconnect, methods=["POST"],
              name="integration_disconnect"),
        Route("/integrations/pagerduty/settings", integration.settings_form, methods=["POST"],
              name="integration_settings"),
        Route("/integrations/pagerduty/webhook", webhook.receive, methods=["POST"], name="webhook"),
        Route("/api/servers", api.servers, name="api_servers"),
        Route("/api/servers/{name}", api.server, name="api_server"),
        Route("/api/servers/{name}/history", api.server_history, name="api_server_history"),
        Route("/api/servers/{name}/fault", api.fault, methods=["POST", "DELETE"], name="api_fault"),
        Route("/api/alerts", api.alerts, name="api_alerts"),
        Route("/api/alerts/{alert_id}", api.alert, name="api_alert"),
        Route("/api/alerts/{alert_id}/{action:str}", api.alert_action, methods=["POST"], name="api_alert_action"),
        Route("/api/rules", api.rules, name="api_rules"),
        Route("/api/integration", api.integration, name="api_integration"),
        Route("/api/stream", stream.events, name="stream"),
        Route("/healthz", api.health, name="health"),
        Mount("/static", StaticFiles(packages=[("demo_monitor", "static")]), name="static"),
    ]
