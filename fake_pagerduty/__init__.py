"""A faithful local PagerDuty sandbox: Events API, REST API subset, Connect handshake and incident console."""

__version__ = "0.1.0"
