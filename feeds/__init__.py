"""feeds: items, sources, deadline extraction, rendering, publishing and serving."""
