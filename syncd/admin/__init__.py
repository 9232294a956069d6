"""Admin HTTP app, status page and metrics."""
