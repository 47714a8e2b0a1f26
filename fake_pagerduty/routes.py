"""The sandbox's whole URL map, in one list."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from fake_pagerduty.web import (
    auth,
    connect,
    console,
    events_api,
    oauth_authorize,
    oauth_token,
    oidc,
    rest_api,
    sandbox_api,
    sandbox_ca,
    sandbox_faults,
    sandbox_journal,
    sandbox_partner_apps,
    webhook_subscriptions,
)


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
        Route("/api/webhook_subscriptions", webhook_subscriptions.list_subscriptions, methods=["GET"]),
        Route("/api/webhook_subscriptions", webhook_subscriptions.create_subscription, methods=["POST"]),
        Route("/api/webhook_subscriptions/{id}", webhook_subscriptions.get_subscription, methods=["GET"]),
        Route("/api/webhook_subscriptions/{id}", webhook_subscriptions.update_subscription, methods=["PUT"]),
        Route("/api/webhook_subscriptions/{id}", webhook_subscriptions.delete_subscription, methods=["DELETE"]),
        Route("/api/webhook_subscriptions/{id}/ping", webhook_subscriptions.ping_subscription, methods=["POST"]),
        Route("/api/webhook_subscriptions/{id}/enable", webhook_subscriptions.enable_subscription,
              methods=["POST"]),
        # Sandbox controls (README "Sandbox controls"; OpenAPI at /_sandbox/openapi.json)
        Route("/_sandbox/ca.pem", sandbox_ca.ca_pem, methods=["GET"]),
        Route("/_sandbox", sandbox_api.page, methods=["GET"]),
        Route("/_sandbox/openapi.json", sandbox_api.openapi, methods=["GET"]),
        Route("/_sandbox/reset", sandbox_api.reset, methods=["POST"]),
        Route("/_sandbox/state", sandbox_api.state_dump, methods=["GET"]),
        Route("/_sandbox/events", sandbox_journal.events, methods=["GET"]),
        Route("/_sandbox/events/wait", sandbox_journal.wait_for_event, methods=["GET"]),
        Route("/_sandbox/incidents/wait", sandbox_journal.wait_for_incident, methods=["GET"]),
        Route("/_sandbox/faults", sandbox_faults.list_faults, methods=["GET"]),
        Route("/_sandbox/faults", sandbox_faults.add_fault, methods=["POST"]),
        Route("/_sandbox/faults", sandbox_faults.replace_faults, methods=["PUT"]),
        Route("/_sandbox/faults", sandbox_faults.clear_faults, methods=["DELETE"]),
        Route("/_sandbox/faults/{fault_id}", sandbox_faults.get_fault, methods=["GET"]),
        Route("/_sandbox/faults/{fault_id}", sandbox_faults.delete_fault, methods=["DELETE"]),
        Route("/_sandbox/rate-limits", sandbox_faults.get_rate_limits, methods=["GET"]),
        Route("/_sandbox/rate-limits", sandbox_faults.put_rate_limits, methods=["PUT"]),
        Route("/_sandbox/clock", sandbox_faults.get_clock, methods=["GET"]),
        Route("/_sandbox/clock", sandbox_faults.advance_clock, methods=["POST"]),
        Route("/_sandbox/partner-apps", sandbox_partner_apps.list_partner_apps, methods=["GET"]),
        Route("/_sandbox/partner-apps/{vendor_key}", sandbox_partner_apps.get_partner_app, methods=["GET"]),
        Route("/_sandbox/partner-apps/{vendor_key}", sandbox_partner_apps.put_partner_app, methods=["PUT"]),
        Route("/_sandbox/partner-apps/{vendor_key}", sandbox_partner_apps.delete_partner_app, methods=["DELETE"]),
        # People: sign in, sign up, sign out
        Route("/login", auth.login_page, methods=["GET"]),
        Route("/login", auth.login, methods=["POST"]),
        Route("/signup", auth.signup_page, methods=["GET"]),
        Route("/signup", auth.signup, methods=["POST"]),
        Route("/logout", auth.logout, methods=["POST"]),
        # Handshakes: legacy Connect and the Simple Install Flow
        Route("/connect", connect.connect_page, methods=["GET"]),
        Route("/connect", connect.connect_submit, methods=["POST"]),
        Route("/connect/cancel", connect.connect_cancel, methods=["POST"]),
        Route("/install/integration", connect.install_page, methods=["GET"]),
        Route("/install/integration", connect.install_submit, methods=["POST"]),
        Route("/install/integration/cancel", connect.install_cancel, methods=["POST"]),
        # OAuth 2.0 apps (issue 14)
        Route("/oauth/authorize", oauth_authorize.authorize_page, methods=["GET"]),
        Route("/oauth/authorize", oauth_authorize.authorize_submit, methods=["POST"]),
        Route("/oauth/token", oauth_token.token, methods=["POST"]),
        Route("/oauth/revoke", oauth_token.revoke, methods=["POST"]),
        Route("/.well-known/openid-configuration", oidc.discovery, methods=["GET"]),
        Route("/global/oauth/anonymous/.well-known/openid-configuration", oidc.discovery, methods=["GET"]),
        Route("/global/oauth/anonymous/jwks", oidc.jwks, methods=["GET"]),
        # The incident console
        Route("/", console.home, methods=["GET"]),
        Route("/incidents", console.incidents, methods=["GET"]),
        Route("/incidents/live", console.incidents_live, methods=["GET"]),
        Route("/incidents/{incident_id}", console.incident_detail, methods=["GET"]),
        Route("/incidents/{incident_id}/live", console.incident_live, methods=["GET"]),
        Route("/incidents/{incident_id}/acknowledge", console.acknowledge, methods=["POST"]),
        Route("/incidents/{incident_id}/resolve", console.resolve, methods=["POST"]),
        Route("/services", console.services, methods=["GET"]),
        Route("/services/{service_id}", console.service_detail, methods=["GET"]),
        Route("/events/{event_id:int}", console.journal_event, methods=["GET"]),
        # Static files: the console's CSS/JS, and the Connect button partners hot-link
        Mount("/static", app=StaticFiles(packages=[("fake_pagerduty", "static")]), name="static"),
        Mount("/assets", app=StaticFiles(packages=[("fake_pagerduty", "static/assets")]), name="assets"),
    ]
