"""The table of configuration variables agrees with ``Settings`` and with the README.

``twofactor.config.VARIABLES`` is the one list of variables; these tests keep the two other
places that name them, the ``Settings`` fields and the operators' table in the README, in step,
and check that the secret rows stay out of reprs.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from pathlib import Path

from twofactor.config import VARIABLES, Settings
from twofactor.security.keys import NamedKey, encode_base64

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_configuration_variables() -> list[str]:
    """Every `NAME` in the first cell of the rows of the table under "## Configuration"."""
    section = README.read_text(encoding="utf-8").split("\n## Configuration\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    names: list[str] = []
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.extend(re.findall(r"`([A-Z][A-Z0-9_]*)`", first_cell))
    return names


def test_the_readme_documents_exactly_the_public_variables() -> None:
    documented = readme_configuration_variables()
    public = [variable.name for variable in VARIABLES if not variable.internal]
    assert len(documented) == len(set(documented)), "a variable is documented twice"
    assert sorted(documented) == sorted(public)


def test_the_internal_variables_are_the_ones_serve_hands_to_its_workers() -> None:
    internal = [variable.name for variable in VARIABLES if variable.internal]
    assert internal == ["TWOFACTOR_EMBEDDED_DATABASE", "PROMETHEUS_MULTIPROC_DIR"]


def test_every_settings_field_has_exactly_one_variable() -> None:
    fields = [variable.field for variable in VARIABLES]
    assert fields == [field.name for field in dataclasses.fields(Settings)]


def test_variable_names_are_unique_and_upper_case() -> None:
    names = [variable.name for variable in VARIABLES]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", name) for name in names)


def test_the_secret_variables_are_the_keys_and_the_smtp_password() -> None:
    secret = [variable.name for variable in VARIABLES if variable.kind.secret]
    assert secret == ["JWT_SIGNING_KEYS", "ENCRYPTION_KEYS", "HASH_KEY", "SMTP_PASSWORD"]


def test_no_secret_variable_shows_in_the_repr_of_settings() -> None:
    settings = Settings(
        jwt_signing_keys=(NamedKey("j", secrets.token_bytes(32)),),
        encryption_keys=(NamedKey("e", secrets.token_bytes(32)),),
        hash_key=secrets.token_bytes(32),
        smtp_password=secrets.token_urlsafe(16),
    )
    text = repr(settings)
    for variable in VARIABLES:
        if not variable.kind.secret:
            continue
        value = getattr(settings, variable.field)
        pieces = [key.secret for key in value] if isinstance(value, tuple) else [value]
        for piece in pieces:
            shown = [piece] if isinstance(piece, str) else [repr(piece), encode_base64(piece)]
            assert not any(form in text for form in shown), variable.name


def test_a_database_password_in_a_connection_string_stays_out_of_the_repr() -> None:
    settings = Settings(
        mongodb_uri="mongodb://app:s3cret-db-pass@db.example.com/",
        allowlist_mongodb_uri="mongodb://app:s3cret-allow-pass@allow.example.com/",
    )
    assert "s3cret" not in repr(settings)
