"""A demo monitoring service: a simulated fleet, threshold alerts, and reliable delivery to PagerDuty."""

__version__ = "0.1.0"
