"""Which locale an alert is written in."""

from __future__ import annotations

from collections.abc import Collection

from babel import Locale, UnknownLocaleError, negotiate_locale


def resolve_locale(requested: str | None, default: str, available: Collection[str]) -> str:
    """``requested`` if a catalog serves it (``de-AT`` is served by ``de``), else ``default``.

    ``requested`` was already checked to be well-formed by the request validation; a well-formed
    tag without a catalog (or unknown to Babel) falls back to the default.
    """
    if not requested:
        return default
    try:
        parsed = Locale.parse(requested.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return default
    chosen = negotiate_locale([str(parsed), parsed.language], list(available), sep="_")
    return chosen or default
