"""HTTP handlers, grouped by surface."""
