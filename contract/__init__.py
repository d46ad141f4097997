"""Contract checks: Schemathesis runs of openapi.yaml against the app (in-process and live)."""
