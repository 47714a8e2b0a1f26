"""HTTP handlers, grouped by surface. They parse input, call the Monitor, and render pages or JSON."""
