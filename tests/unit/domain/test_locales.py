"""Which locale an alert is written in: exact catalog, language fallback, or the default."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from twofactor.domain.locales import accepted_languages, resolve_locale

AVAILABLE = frozenset({"en", "de", "pt_BR"})


def resolve(requested: str | None, default: str, available: Collection[str]) -> str:
    return resolve_locale(
        requested=requested,
        stored=None,
        accept_language=None,
        default=default,
        available=available,
    )


@pytest.mark.parametrize("requested", [None, ""])
def test_no_requested_locale_gives_the_default(requested: str | None) -> None:
    assert resolve(requested, "de", AVAILABLE) == "de"


@pytest.mark.parametrize("requested", ["en", "de"])
def test_an_available_locale_is_used_as_is(requested: str) -> None:
    assert resolve(requested, "en", AVAILABLE) == requested


@pytest.mark.parametrize("requested", ["pt_BR", "pt-BR", "pt-br", "pt_br"])
def test_every_spelling_of_a_regional_catalog_finds_it(requested: str) -> None:
    assert resolve(requested, "en", AVAILABLE) == "pt_BR"


@pytest.mark.parametrize("requested", ["de-AT", "de_AT", "de-DE", "de-CH", "DE-at"])
def test_a_region_without_its_own_catalog_falls_back_to_its_language(requested: str) -> None:
    assert resolve(requested, "en", AVAILABLE) == "de"


def test_a_regional_catalog_wins_over_its_language() -> None:
    assert resolve("de-AT", "en", {"en", "de", "de_AT"}) == "de_AT"


@pytest.mark.parametrize("requested", ["fr", "fr-FR", "ja", "es-419", "pt-PT", "zh-Hant-TW"])
def test_a_well_formed_locale_without_a_catalog_falls_back_to_the_default(requested: str) -> None:
    assert resolve(requested, "en", AVAILABLE) == "en"


@pytest.mark.parametrize("requested", ["xx", "zz-ZZ", "qq_QQ"])
def test_a_locale_unknown_to_babel_falls_back_to_the_default(requested: str) -> None:
    assert resolve(requested, "en", AVAILABLE) == "en"


@pytest.mark.parametrize("requested", ["not a locale!", "123", "en/US", "-"])
def test_a_malformed_locale_falls_back_to_the_default_instead_of_raising(requested: str) -> None:
    # Request validation rejects these first; the service still never fails on one.
    assert resolve(requested, "en", AVAILABLE) == "en"


def test_the_default_is_returned_even_when_no_catalog_is_available() -> None:
    assert resolve("de", "en", set()) == "en"


def test_the_default_itself_is_not_rewritten() -> None:
    assert resolve(None, "pt_BR", AVAILABLE) == "pt_BR"
    assert resolve("fr", "pt_BR", AVAILABLE) == "pt_BR"


def test_the_request_parameter_wins_over_the_stored_locale_and_the_header() -> None:
    chosen = resolve_locale(
        requested="de", stored="pt_BR", accept_language="pt-BR", default="en", available=AVAILABLE
    )

    assert chosen == "de"


def test_the_stored_locale_wins_over_the_header() -> None:
    chosen = resolve_locale(
        requested=None, stored="pt_BR", accept_language="de", default="en", available=AVAILABLE
    )

    assert chosen == "pt_BR"


def test_accept_language_is_used_by_preference_when_nothing_else_is_known() -> None:
    chosen = resolve_locale(
        requested=None,
        stored=None,
        accept_language="fr-FR;q=0.9, pt-BR;q=0.8, de;q=0.7",
        default="en",
        available=AVAILABLE,
    )

    assert chosen == "pt_BR"


def test_an_unserved_request_parameter_still_lets_the_header_decide() -> None:
    chosen = resolve_locale(
        requested="ja", stored=None, accept_language="de-AT", default="en", available=AVAILABLE
    )

    assert chosen == "de"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-AT, en;q=0.5", ["de-AT", "en"]),
        ("en;q=0.1, fr;q=0.9", ["fr", "en"]),
        ("*, de", ["de"]),
        ("de;q=0, fr", ["fr"]),
        ("de;q=abc, fr", ["fr"]),
        ("", []),
        (None, []),
    ],
)
def test_accept_language_entries_are_ordered_by_weight(
    header: str | None, expected: list[str]
) -> None:
    assert accepted_languages(header) == expected
