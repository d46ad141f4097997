"""The gettext catalogs shipped under ``handlers/locale``."""

from __future__ import annotations

from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
#: The language the message ids are written in; it needs no catalog.
SOURCE_LOCALE = "en"


def available_locales() -> frozenset[str]:
    shipped = {path.parent.parent.name for path in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po")}
    return frozenset(shipped | {SOURCE_LOCALE})
