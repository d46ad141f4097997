"""Which locale an alert is written in: exact catalog, language fallback, or the default."""

from __future__ import annotations

import pytest

from handlers.services.locales import resolve_locale

AVAILABLE = frozenset({"en", "de", "pt_BR"})


@pytest.mark.parametrize("requested", [None, ""])
def test_no_requested_locale_gives_the_default(requested: str | None) -> None:
    assert resolve_locale(requested, "de", AVAILABLE) == "de"


@pytest.mark.parametrize("requested", ["en", "de"])
def test_an_available_locale_is_used_as_is(requested: str) -> None:
    assert resolve_locale(requested, "en", AVAILABLE) == requested


@pytest.mark.parametrize("requested", ["pt_BR", "pt-BR", "pt-br", "pt_br"])
def test_every_spelling_of_a_regional_catalog_finds_it(requested: str) -> None:
    assert resolve_locale(requested, "en", AVAILABLE) == "pt_BR"


@pytest.mark.parametrize("requested", ["de-AT", "de_AT", "de-DE", "de-CH", "DE-at"])
def test_a_region_without_its_own_catalog_falls_back_to_its_language(requested: str) -> None:
    assert resolve_locale(requested, "en", AVAILABLE) == "de"


def test_a_regional_catalog_wins_over_its_language() -> None:
    assert resolve_locale("de-AT", "en", {"en", "de", "de_AT"}) == "de_AT"


@pytest.mark.parametrize("requested", ["fr", "fr-FR", "ja", "es-419", "pt-PT", "zh-Hant-TW"])
def test_a_well_formed_locale_without_a_catalog_falls_back_to_the_default(requested: str) -> None:
    assert resolve_locale(requested, "en", AVAILABLE) == "en"


@pytest.mark.parametrize("requested", ["xx", "zz-ZZ", "qq_QQ"])
def test_a_locale_unknown_to_babel_falls_back_to_the_default(requested: str) -> None:
    assert resolve_locale(requested, "en", AVAILABLE) == "en"


@pytest.mark.parametrize("requested", ["not a locale!", "123", "en/US", "-"])
def test_a_malformed_locale_falls_back_to_the_default_instead_of_raising(requested: str) -> None:
    # Request validation rejects these first; the service still never fails on one.
    assert resolve_locale(requested, "en", AVAILABLE) == "en"


def test_the_default_is_returned_even_when_no_catalog_is_available() -> None:
    assert resolve_locale("de", "en", set()) == "en"


def test_the_default_itself_is_not_rewritten() -> None:
    assert resolve_locale(None, "pt_BR", AVAILABLE) == "pt_BR"
    assert resolve_locale("fr", "pt_BR", AVAILABLE) == "pt_BR"
