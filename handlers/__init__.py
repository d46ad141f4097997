"""The HTTP adapter: the functions openapi.yaml names (one module per tag, security.py) and the
private request plumbing in ``_http``. The service itself is the ``twofactor`` package."""
