"""Baton's Dagster definitions, by concern: ingest, transform, serving, jobs (definitions.py assembles them)."""
