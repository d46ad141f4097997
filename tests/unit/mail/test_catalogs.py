"""The shipped catalogs: complete, really translated, and in step with the source."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from twofactor.mail.catalogs import LOCALE_DIR, available_locales, translations_for

SHIPPED = ["de", "fr", "es", "pt_BR"]
ROOT = Path(__file__).resolve().parents[3]
#: Also the command that updates ``messages.pot`` (see the README).
EXTRACT_OPTIONS = ["--no-location", "--sort-output", "--omit-header"]
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def template_ids() -> set[str]:
    with (LOCALE_DIR / "messages.pot").open("rb") as source:
        return {message.id for message in read_po(source) if message.id}


def test_the_five_required_locales_are_available() -> None:
    assert available_locales() >= {"en", *SHIPPED}


@pytest.mark.parametrize("locale", SHIPPED)
def test_every_message_of_the_template_is_translated_in(locale: str) -> None:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=locale)
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}

    assert set(translated) == template_ids()
    for message_id, text in translated.items():
        assert text != message_id or not re.search(r"[a-z]{4,}", message_id), message_id
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(message_id))


@pytest.mark.parametrize("locale", SHIPPED)
def test_translations_are_really_loaded_for(locale: str) -> None:
    subject = "A two-factor method was removed from your account"

    assert translations_for(locale).gettext(subject) != subject


def test_english_is_the_source_and_needs_no_catalog() -> None:
    assert translations_for("en").gettext("Email codes") == "Email codes"


def test_the_checked_in_template_matches_a_fresh_extraction(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [str(pybabel), "-q", "extract", "-F", "babel.cfg", *EXTRACT_OPTIONS, "-o", str(fresh), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )

    assert fresh.read_text() == (LOCALE_DIR / "messages.pot").read_text(), (
        "messages.pot is out of date: run the extraction command of the README"
    )
