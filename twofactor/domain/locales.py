"""Which locale an alert is written in.

In order: the request's ``locale`` parameter, the user's stored locale, the request's
``Accept-Language``, the configured default. The first candidate a shipped catalog serves wins;
a region falls back to its language (``de-AT`` is served by ``de``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from babel import Locale, UnknownLocaleError, negotiate_locale

_MAX_ACCEPT_LANGUAGE_ENTRIES = 20


def resolve_locale(
    *,
    requested: str | None,
    stored: str | None,
    accept_language: str | None,
    default: str,
    available: Collection[str],
) -> str:
    for candidate in (requested, stored, *accepted_languages(accept_language)):
        served = _served(candidate, available)
        if served is not None:
            return served
    return default


def accepted_languages(header: str | None) -> list[str]:
    """The tags of an ``Accept-Language`` header, most preferred first (``q=0`` dropped)."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for position, entry in enumerate(header.split(",")[:_MAX_ACCEPT_LANGUAGE_ENTRIES]):
        tag, _, parameters = entry.strip().partition(";")
        weight = 1.0
        if parameters.strip().startswith("q="):
            try:
                weight = float(parameters.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and weight > 0:
            weighted.append((-weight, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def _served(candidate: str | None, available: Iterable[str]) -> str | None:
    if not candidate:
        return None
    try:
        parsed = Locale.parse(candidate.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    chosen: str | None = negotiate_locale([str(parsed), parsed.language], list(available), sep="_")
    return chosen
