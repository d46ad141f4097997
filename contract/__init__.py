"""Contract checks: Schemathesis runs that hold the service to openapi.yaml.

``python contract/run_live.py`` (``make contract``) is the whole stage:

* ``python -m pytest contract -q -p no:cacheprovider``: every operation in-process through ASGI
  (``test_schema_inprocess.py``), with fresh real credentials per generated case (``auth.py``);
* then the real server (``twofactor-api serve``) on a SecantusDB, and the Schemathesis CLI
  against it; the stage also fails when the server log shows an unhandled error.

Shared settings (seed, determinism, bounds, checks) live in ``schemathesis.toml``. The plain
``pytest`` run does not collect this directory (``testpaths = ["tests"]``).
"""
