"""The gettext catalogs shipped under ``twofactor/mail/locale``, compiled in memory when first used.

Only the ``.po`` sources are checked in; compiling them here keeps binary ``.mo`` files out of
the repository and guarantees the running service uses exactly the reviewed text.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
#: The language the message ids are written in; it needs no catalog.
SOURCE_LOCALE = "en"


def available_locales() -> frozenset[str]:
    shipped = {path.parent.parent.name for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return frozenset(shipped | {SOURCE_LOCALE})


@cache
def translations_for(locale: str) -> NullTranslations:
    """The translations of ``locale`` (one of ``available_locales()``); English is the source."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if locale == SOURCE_LOCALE or not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)
