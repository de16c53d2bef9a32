"""Plain library code: no module here imports Dagster (a test checks it)."""
