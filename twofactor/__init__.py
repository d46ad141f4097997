"""twofactor-api: an OpenAPI-first service to manage second factors safely."""

__version__ = "0.1.0"
