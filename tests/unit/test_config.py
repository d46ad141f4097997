"""Settings read from the environment (contract §5): every variable, defaults, and failures.

The lists of variables come from the table ``twofactor.config.VARIABLES``, so a new row is
tested like its kind; what is specification (defaults, bounds, the contract's list, which keys
are required) stays written out here, so the table cannot quietly change it.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from twofactor.config import (
    VARIABLES,
    Boolean,
    BudgetKind,
    ConfigError,
    Integer,
    NamedKeys,
    Settings,
    Variable,
    export_to_environment,
    load_settings,
    load_settings_from_environment,
    settings_to_environ,
)
from twofactor.domain.throttle import Budget
from twofactor.security.keys import NamedKey, decode_base64

CONTRACT_VARIABLES = (
    "MONGODB_URI",
    "MONGODB_DATABASE",
    "ALLOWLIST_MONGODB_URI",
    "DATA_DIR",
    "JWT_SIGNING_KEYS",
    "ENCRYPTION_KEYS",
    "HASH_KEY",
    "ACCESS_TOKEN_TTL",
    "STEP_UP_TOKEN_TTL",
    "REFRESH_TOKEN_TTL",
    "EMAIL_ENABLED",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_TLS",
    "MAIL_FROM",
    "SECURITY_ALERT_TWO_FACTOR_REMOVED",
    "DEFAULT_LOCALE",
    "COOKIE_SECURE",
    "HOST",
    "PORT",
)
ALL_VARIABLES = tuple(variable.name for variable in VARIABLES)
#: A private CA's certificate, as an operator hands it to ``SMTP_CA_FILE``.
CA_FILE = Path(__file__).resolve().parents[1] / "support" / "data" / "private-ca.pem"


def variables_of_kind(kind: type) -> list[object]:
    """``Variable`` rows of one kind as pytest parameters, named after the variable."""
    return [pytest.param(row, id=row.name) for row in VARIABLES if isinstance(row.kind, kind)]


BOOLEAN_VARIABLES = variables_of_kind(Boolean)

# A secret whose standard base64 contains "+" and "/" (and so "-" and "_" URL-safe) and
# one "=" of padding: the four spellings below really differ.
AWKWARD_SECRET = bytes([0xFB, 0xFF, 0xBF] * 10 + [0x01, 0x02])


def b64(secret: bytes) -> str:
    return base64.b64encode(secret).decode()


def random_b64(length: int) -> str:
    return b64(secrets.token_bytes(length))


def full_key_environ() -> dict[str, str]:
    return {
        "JWT_SIGNING_KEYS": f"jwt-1:{random_b64(32)}",
        "ENCRYPTION_KEYS": f"enc-1:{random_b64(32)}",
        "HASH_KEY": random_b64(32),
    }


def assert_rejected(environ: dict[str, str], variable: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    assert variable in str(caught.value)
    return caught.value


# Defaults ----------------------------------------------------------------------------------


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    settings = load_settings({})
    assert settings.mongodb_uri is None
    assert settings.mongodb_database == "twofactor"
    assert settings.allowlist_mongodb_uri is None
    assert settings.data_dir == Path("data")
    assert settings.jwt_signing_keys == ()
    assert settings.encryption_keys == ()
    assert settings.hash_key == b""
    assert settings.access_token_ttl == 900
    assert settings.step_up_token_ttl == 300
    assert settings.refresh_token_ttl == 30 * 24 * 3600
    assert settings.email_enabled is True
    assert settings.smtp_host is None
    assert settings.smtp_port == 587
    assert settings.smtp_username is None
    assert settings.smtp_password is None
    assert settings.smtp_tls == "starttls"
    assert settings.mail_from == "twofactor-api <no-reply@localhost>"
    assert settings.security_alert_two_factor_removed is True
    assert settings.security_alert_two_factor_added is True
    assert settings.default_locale == "en"
    assert settings.cookie_secure is False
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.security_settings_url == "http://127.0.0.1:8000/api/ui/"
    assert settings.support_contact == "support@localhost"
    assert settings.alert_retry_interval == 60
    assert settings.max_body_size == 65_536
    assert settings.jwt_issuer == "twofactor-api"
    assert settings.jwt_audience == ("twofactor-api",)
    assert settings.keep_alive_timeout == 5
    assert settings.max_connections == 1000
    assert settings.mongodb_timeout == 5
    assert settings.smtp_timeout == 10
    assert settings.smtp_ca_file is None
    assert settings.alert_send_wait == 5
    assert settings.embedded_database is False


def test_an_empty_environment_is_local_mode_without_keys() -> None:
    settings = load_settings({})
    assert settings.local_mode is True
    assert settings.has_keys is False


def test_the_defaults_of_load_settings_agree_with_the_dataclass_defaults() -> None:
    assert load_settings({}) == Settings()


def test_the_table_has_every_variable_of_the_contract() -> None:
    public = {variable.name for variable in VARIABLES if not variable.internal}
    assert set(CONTRACT_VARIABLES) <= public


@pytest.mark.parametrize("variable", ALL_VARIABLES)
def test_a_blank_value_counts_as_unset(variable: str) -> None:
    assert load_settings({variable: "   "}) == load_settings({})


# Every variable parsed ---------------------------------------------------------------------


def test_every_variable_is_read() -> None:
    jwt_old, jwt_new = secrets.token_bytes(32), secrets.token_bytes(48)
    enc_key, hash_key = secrets.token_bytes(32), secrets.token_bytes(40)
    environ = {
        "MONGODB_URI": "mongodb://db.example:27017/?replicaSet=rs0",
        "MONGODB_DATABASE": "auth",
        "ALLOWLIST_MONGODB_URI": "mongodb://allowlist.example:27017",
        "DATA_DIR": "/var/lib/twofactor",
        "JWT_SIGNING_KEYS": f"jwt-2:{b64(jwt_new)},jwt-1:{b64(jwt_old)}",
        "ENCRYPTION_KEYS": f"enc-1:{b64(enc_key)}",
        "HASH_KEY": b64(hash_key),
        "ACCESS_TOKEN_TTL": "600",
        "STEP_UP_TOKEN_TTL": "120",
        "REFRESH_TOKEN_TTL": "86400",
        "EMAIL_ENABLED": "false",
        "SMTP_HOST": "smtp.example",
        "SMTP_PORT": "2525",
        "SMTP_USERNAME": "mailer",
        "SMTP_PASSWORD": "smtp-secret",
        "SMTP_TLS": "tls",
        "MAIL_FROM": "Security <security@example.com>",
        "SECURITY_ALERT_TWO_FACTOR_REMOVED": "false",
        "SECURITY_ALERT_TWO_FACTOR_ADDED": "no",
        "DEFAULT_LOCALE": "de-DE",
        "COOKIE_SECURE": "true",
        "HOST": "192.0.2.10",
        "PORT": "9000",
        "SECURITY_SETTINGS_URL": "https://account.example/security",
        "SUPPORT_CONTACT": "help@example.com",
        "ALERT_RETRY_INTERVAL": "30",
        "MAX_BODY_SIZE": "4096",
        "JWT_ISSUER": "https://auth.example/",
        "JWT_AUDIENCE": "accounts.example, accounts-old.example",
        "TRUSTED_PROXIES": "10.0.0.0/8,192.0.2.1",
        "THROTTLE_LOGIN_PER_ACCOUNT": "30/1h",
        "THROTTLE_LOGIN_PER_ACCOUNT_ADDRESS": "3/10m",
        "THROTTLE_LOGIN_PER_ADDRESS": "500/15m",
        "THROTTLE_STEP_UP_PER_USER": "4/600",
        "THROTTLE_TWO_FACTOR_CODES_PER_TOKEN": "3/5m",
        "THROTTLE_TWO_FACTOR_CODES_PER_USER": "10/15m",
        "THROTTLE_SECURITY_CHANGES_PER_USER": "10/1d",
        "THROTTLE_REGISTER_PER_ADDRESS": "50/1h",
        "THROTTLE_GUESTS_PER_ADDRESS": "200/2h",
        "KEEP_ALIVE_TIMEOUT": "75",
        "MAX_CONNECTIONS": "200",
        "MONGODB_TIMEOUT": "3",
        "SMTP_TIMEOUT": "20",
        "SMTP_CA_FILE": str(CA_FILE),
        "ALERT_SEND_WAIT": "2",
        "TWOFACTOR_EMBEDDED_DATABASE": "true",
        "LOG_FORMAT": "Text",
        "METRICS_ENABLED": "false",
        "PROMETHEUS_MULTIPROC_DIR": "/run/twofactor-metrics",
    }
    assert set(environ) == set(ALL_VARIABLES)
    settings = load_settings(environ)
    assert settings.mongodb_uri == "mongodb://db.example:27017/?replicaSet=rs0"
    assert settings.local_mode is False
    assert settings.mongodb_database == "auth"
    assert settings.allowlist_mongodb_uri == "mongodb://allowlist.example:27017"
    assert settings.data_dir == Path("/var/lib/twofactor")
    assert settings.jwt_signing_keys == (NamedKey("jwt-2", jwt_new), NamedKey("jwt-1", jwt_old))
    assert settings.encryption_keys == (NamedKey("enc-1", enc_key),)
    assert settings.hash_key == hash_key
    assert settings.has_keys is True
    assert settings.access_token_ttl == 600
    assert settings.step_up_token_ttl == 120
    assert settings.refresh_token_ttl == 86400
    assert settings.email_enabled is False
    assert settings.smtp_host == "smtp.example"
    assert settings.smtp_port == 2525
    assert settings.smtp_username == "mailer"
    assert settings.smtp_password == "smtp-secret"
    assert settings.smtp_tls == "tls"
    assert settings.mail_from == "Security <security@example.com>"
    assert settings.security_alert_two_factor_removed is False
    assert settings.security_alert_two_factor_added is False
    assert settings.default_locale == "de_DE"
    assert settings.cookie_secure is True
    assert settings.host == "192.0.2.10"
    assert settings.port == 9000
    assert settings.security_settings_url == "https://account.example/security"
    assert settings.support_contact == "help@example.com"
    assert settings.alert_retry_interval == 30
    assert settings.max_body_size == 4096
    assert settings.jwt_issuer == "https://auth.example/"
    assert settings.jwt_audience == ("accounts.example", "accounts-old.example")
    assert settings.trusted_proxies == "10.0.0.0/8,192.0.2.1"
    assert settings.throttle_login_per_account == Budget(30, timedelta(hours=1))
    assert settings.throttle_login_per_account_address == Budget(3, timedelta(minutes=10))
    assert settings.throttle_login_per_address == Budget(500, timedelta(minutes=15))
    assert settings.throttle_step_up_per_user == Budget(4, timedelta(minutes=10))
    assert settings.throttle_two_factor_codes_per_token == Budget(3, timedelta(minutes=5))
    assert settings.throttle_two_factor_codes_per_user == Budget(10, timedelta(minutes=15))
    assert settings.throttle_security_changes_per_user == Budget(10, timedelta(days=1))
    assert settings.throttle_register_per_address == Budget(50, timedelta(hours=1))
    assert settings.throttle_guests_per_address == Budget(200, timedelta(hours=2))
    assert settings.keep_alive_timeout == 75
    assert settings.max_connections == 200
    assert settings.mongodb_timeout == 3
    assert settings.smtp_timeout == 20
    assert settings.smtp_ca_file == CA_FILE
    assert settings.alert_send_wait == 2
    assert settings.embedded_database is True
    assert settings.log_format == "text"
    assert settings.metrics_enabled is False
    assert settings.metrics_dir == Path("/run/twofactor-metrics")


def test_surrounding_whitespace_is_trimmed_from_values() -> None:
    settings = load_settings({"MONGODB_DATABASE": "  auth \n", "PORT": " 9000 "})
    assert settings.mongodb_database == "auth"
    assert settings.port == 9000


# Budgets -----------------------------------------------------------------------------------

BUDGET_VARIABLES = variables_of_kind(BudgetKind)


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("5/15m", Budget(5, timedelta(minutes=15))),
        ("5/900", Budget(5, timedelta(seconds=900))),
        ("5/900s", Budget(5, timedelta(seconds=900))),
        (" 20 / 1H ", Budget(20, timedelta(hours=1))),
        ("1/1s", Budget(1, timedelta(seconds=1))),
        ("1000000/7d", Budget(1_000_000, timedelta(days=7))),
    ],
)
def test_a_budget_is_a_count_per_window(text: str, budget: Budget) -> None:
    settings = load_settings({"THROTTLE_LOGIN_PER_ACCOUNT": text})
    assert settings.throttle_login_per_account == budget


@pytest.mark.parametrize("variable", BUDGET_VARIABLES)
@pytest.mark.parametrize("text", ["5", "5/", "/15m", "five/15m", "5/15 min", "-5/15m", "5/1.5h"])
def test_a_budget_that_is_not_count_per_window_is_rejected(variable: Variable, text: str) -> None:
    error = assert_rejected({variable.name: text}, variable.name)
    assert "COUNT/WINDOW" in str(error)


@pytest.mark.parametrize(
    ("text", "part"),
    [("0/15m", "count"), ("1000001/15m", "count"), ("5/0s", "window"), ("5/8d", "window")],
)
def test_a_budget_out_of_bounds_is_rejected(text: str, part: str) -> None:
    error = assert_rejected({"THROTTLE_GUESTS_PER_ADDRESS": text}, "THROTTLE_GUESTS_PER_ADDRESS")
    assert f"the {part} must be between" in str(error)


@pytest.mark.parametrize(
    ("budget", "text"),
    [
        (Budget(5, timedelta(minutes=15)), "5/15m"),
        (Budget(20, timedelta(hours=1)), "20/1h"),
        (Budget(3, timedelta(days=2)), "3/2d"),
        (Budget(3, timedelta(seconds=90)), "3/90s"),
    ],
)
def test_a_budget_is_written_back_in_its_largest_whole_unit(budget: Budget, text: str) -> None:
    assert BudgetKind().format(budget) == text


# Booleans ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", BOOLEAN_VARIABLES)
@pytest.mark.parametrize("spelling", ["1", "true", "TRUE", "True", "yes", "on", "On"])
def test_true_spellings_are_accepted(variable: Variable, spelling: str) -> None:
    settings = load_settings({variable.name: spelling})
    assert getattr(settings, variable.field) is True


@pytest.mark.parametrize("variable", BOOLEAN_VARIABLES)
@pytest.mark.parametrize("spelling", ["0", "false", "FALSE", "no", "off", "Off"])
def test_false_spellings_are_accepted(variable: Variable, spelling: str) -> None:
    settings = load_settings({variable.name: spelling})
    assert getattr(settings, variable.field) is False


@pytest.mark.parametrize("variable", BOOLEAN_VARIABLES)
@pytest.mark.parametrize("value", ["maybe", "2", "-1", "tru", "y", "enabled", "true false"])
def test_a_bad_boolean_is_rejected_naming_the_variable(variable: Variable, value: str) -> None:
    assert_rejected({variable.name: value}, variable.name)


# Integers ----------------------------------------------------------------------------------

# The bounds are specification, so they are written out rather than read from the table.
INTEGER_RANGES = [
    ("ACCESS_TOKEN_TTL", 30, 86_400),
    ("STEP_UP_TOKEN_TTL", 30, 3_600),
    ("REFRESH_TOKEN_TTL", 60, 365 * 24 * 3600),
    ("SMTP_PORT", 1, 65_535),
    ("PORT", 0, 65_535),
    ("ALERT_RETRY_INTERVAL", 1, 86_400),
    ("MAX_BODY_SIZE", 1_024, 10 * 1024 * 1024),
    ("KEEP_ALIVE_TIMEOUT", 1, 600),
    ("MAX_CONNECTIONS", 1, 100_000),
    ("MONGODB_TIMEOUT", 1, 120),
    ("SMTP_TIMEOUT", 1, 300),
    ("ALERT_SEND_WAIT", 1, 60),
]
FIELDS = {variable.name: variable.field for variable in VARIABLES}


def test_every_integer_variable_of_the_table_has_its_range_checked_here() -> None:
    integers = [variable.name for variable in VARIABLES if isinstance(variable.kind, Integer)]
    assert sorted(integers) == sorted(name for name, _, _ in INTEGER_RANGES)


@pytest.mark.parametrize(("variable", "minimum", "maximum"), INTEGER_RANGES)
def test_integers_at_the_limits_of_their_range_are_accepted(
    variable: str, minimum: int, maximum: int
) -> None:
    assert getattr(load_settings({variable: str(minimum)}), FIELDS[variable]) == minimum
    assert getattr(load_settings({variable: str(maximum)}), FIELDS[variable]) == maximum


@pytest.mark.parametrize(("variable", "minimum", "maximum"), INTEGER_RANGES)
def test_integers_just_outside_their_range_are_rejected_naming_the_variable(
    variable: str, minimum: int, maximum: int
) -> None:
    assert_rejected({variable: str(minimum - 1)}, variable)
    assert_rejected({variable: str(maximum + 1)}, variable)


@pytest.mark.parametrize("variable", [name for name, _, _ in INTEGER_RANGES])
@pytest.mark.parametrize("value", ["abc", "900s", "9.5", "1e3", "0x10", "--5"])
def test_a_non_integer_is_rejected_naming_the_variable(variable: str, value: str) -> None:
    error = assert_rejected({variable: value}, variable)
    assert "whole number" in str(error)


def test_a_negative_token_lifetime_is_rejected() -> None:
    assert_rejected({"ACCESS_TOKEN_TTL": "-900"}, "ACCESS_TOKEN_TTL")


# SMTP_CA_FILE ------------------------------------------------------------------------------


def test_a_missing_ca_file_is_rejected_naming_the_variable(tmp_path: Path) -> None:
    error = assert_rejected({"SMTP_CA_FILE": str(tmp_path / "absent.pem")}, "SMTP_CA_FILE")
    assert "readable" in str(error)


def test_a_ca_file_without_a_certificate_is_rejected_naming_the_variable(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("this is not a certificate\n")
    error = assert_rejected({"SMTP_CA_FILE": str(not_pem)}, "SMTP_CA_FILE")
    assert "PEM" in str(error)


def test_a_directory_as_ca_file_is_rejected_naming_the_variable(tmp_path: Path) -> None:
    assert_rejected({"SMTP_CA_FILE": str(tmp_path)}, "SMTP_CA_FILE")


# SMTP_TLS and the SMTP port ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tls", "expected_port"), [("none", 25), ("starttls", 587), ("tls", 465), ("TLS", 465)]
)
def test_the_default_smtp_port_follows_smtp_tls(tls: str, expected_port: int) -> None:
    settings = load_settings({"SMTP_TLS": tls})
    assert settings.smtp_tls == tls.lower()
    assert settings.smtp_port == expected_port


def test_an_explicit_smtp_port_wins_over_the_tls_default() -> None:
    assert load_settings({"SMTP_TLS": "tls", "SMTP_PORT": "2465"}).smtp_port == 2465


@pytest.mark.parametrize("value", ["ssl", "starttls1", "yes", "true", "start-tls"])
def test_an_unknown_smtp_tls_mode_is_rejected_naming_the_variable(value: str) -> None:
    error = assert_rejected({"SMTP_TLS": value}, "SMTP_TLS")
    assert "none, starttls, tls" in str(error)


# DEFAULT_LOCALE ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("en", "en"), ("EN", "en"), ("de", "de"), ("de-DE", "de_DE"), ("pt_BR", "pt_BR")],
)
def test_the_default_locale_is_normalised(value: str, expected: str) -> None:
    assert load_settings({"DEFAULT_LOCALE": value}).default_locale == expected


@pytest.mark.parametrize("value", ["xx", "zz-ZZ", "klingon", "not a locale!", "123", "en/US"])
def test_an_unknown_default_locale_is_rejected_naming_the_variable(value: str) -> None:
    assert_rejected({"DEFAULT_LOCALE": value}, "DEFAULT_LOCALE")


# Key formats -------------------------------------------------------------------------------

# (name, a valid key length) of every key-list variable of the table.
NAMED_KEY_VARIABLES = [
    (variable.name, variable.kind.exact_length or variable.kind.min_length)
    for variable in VARIABLES
    if isinstance(variable.kind, NamedKeys)
]


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(base64.b64encode(AWKWARD_SECRET).decode(), id="standard-padded"),
        pytest.param(base64.b64encode(AWKWARD_SECRET).decode().rstrip("="), id="standard-bare"),
        pytest.param(base64.urlsafe_b64encode(AWKWARD_SECRET).decode(), id="urlsafe-padded"),
        pytest.param(
            base64.urlsafe_b64encode(AWKWARD_SECRET).decode().rstrip("="), id="urlsafe-bare"
        ),
    ],
)
def test_standard_and_url_safe_base64_with_or_without_padding_are_accepted(spelling: str) -> None:
    settings = load_settings(
        {
            "JWT_SIGNING_KEYS": f"j:{spelling}",
            "ENCRYPTION_KEYS": f"e:{spelling}",
            "HASH_KEY": spelling,
        }
    )
    assert settings.jwt_signing_keys == (NamedKey("j", AWKWARD_SECRET),)
    assert settings.encryption_keys == (NamedKey("e", AWKWARD_SECRET),)
    assert settings.hash_key == AWKWARD_SECRET


def test_the_awkward_secret_really_has_four_different_spellings() -> None:
    standard = base64.b64encode(AWKWARD_SECRET).decode()
    urlsafe = base64.urlsafe_b64encode(AWKWARD_SECRET).decode()
    assert "+" in standard
    assert "/" in standard
    assert "-" in urlsafe
    assert "_" in urlsafe
    assert standard.endswith("=")


@pytest.mark.parametrize(("variable", "length"), NAMED_KEY_VARIABLES)
def test_several_keys_keep_their_order_and_tolerate_spaces(variable: str, length: int) -> None:
    first, second = secrets.token_bytes(length), secrets.token_bytes(length)
    settings = load_settings({variable: f" new:{b64(first)} , old:{b64(second)} "})
    keys = (NamedKey("new", first), NamedKey("old", second))
    assert getattr(settings, FIELDS[variable]) == keys


@pytest.mark.parametrize(("variable", "length"), NAMED_KEY_VARIABLES)
@pytest.mark.parametrize("key_id", ["a", "key-2024.01_A", "0", "x" * 64])
def test_key_ids_of_the_allowed_alphabet_are_accepted(
    variable: str, length: int, key_id: str
) -> None:
    settings = load_settings({variable: f"{key_id}:{random_b64(length)}"})
    assert getattr(settings, FIELDS[variable])[0].key_id == key_id


@pytest.mark.parametrize(("variable", "length"), NAMED_KEY_VARIABLES)
@pytest.mark.parametrize(
    "make_value",
    [
        pytest.param(lambda key: key, id="missing-colon"),
        pytest.param(lambda key: f":{key}", id="empty-key-id"),
        pytest.param(lambda key: f"key 1:{key}", id="space-in-key-id"),
        pytest.param(lambda key: f"key/1:{key}", id="slash-in-key-id"),
        pytest.param(lambda key: f"clé:{key}", id="non-ascii-key-id"),
        pytest.param(lambda key: f"{'x' * 65}:{key}", id="key-id-of-65-chars"),
        pytest.param(lambda key: f"k1:{key},", id="trailing-comma"),
        pytest.param(lambda key: f"k1:{key},,k2:{key}", id="empty-pair"),
    ],
)
def test_a_malformed_key_list_is_rejected_naming_the_variable(
    variable: str, length: int, make_value: Callable[[str], str]
) -> None:
    assert_rejected({variable: make_value(random_b64(length))}, variable)


@pytest.mark.parametrize(("variable", "length"), NAMED_KEY_VARIABLES)
def test_a_key_id_ending_in_a_newline_is_rejected(variable: str, length: int) -> None:
    assert_rejected({variable: f"k1\n:{random_b64(length)}"}, variable)


@pytest.mark.parametrize(("variable", "length"), NAMED_KEY_VARIABLES)
@pytest.mark.parametrize("encoded", ["!!!!", "abc$def", "ab cd", "A", "AAAAA", "AA=A"])
def test_a_key_that_is_not_base64_is_rejected_naming_the_variable(
    variable: str, length: int, encoded: str
) -> None:
    error = assert_rejected({variable: f"k1:{encoded}"}, variable)
    assert "base64" in str(error)


@pytest.mark.parametrize(("variable", "length"), NAMED_KEY_VARIABLES)
def test_a_duplicate_key_id_is_rejected_naming_the_variable(variable: str, length: int) -> None:
    environ = {variable: f"k1:{random_b64(length)},k1:{random_b64(length)}"}
    error = assert_rejected(environ, variable)
    assert "twice" in str(error)


@pytest.mark.parametrize("length", [0, 16, 24, 31])
def test_a_jwt_key_shorter_than_32_bytes_is_rejected_naming_the_variable(length: int) -> None:
    assert_rejected({"JWT_SIGNING_KEYS": f"k1:{random_b64(length)}"}, "JWT_SIGNING_KEYS")


@pytest.mark.parametrize("length", [32, 33, 64])
def test_a_jwt_key_of_32_bytes_or_more_is_accepted(length: int) -> None:
    settings = load_settings({"JWT_SIGNING_KEYS": f"k1:{random_b64(length)}"})
    assert len(settings.jwt_signing_keys[0].secret) == length


def test_a_short_second_jwt_key_is_rejected_even_after_a_good_first_one() -> None:
    environ = {"JWT_SIGNING_KEYS": f"new:{random_b64(32)},old:{random_b64(31)}"}
    error = assert_rejected(environ, "JWT_SIGNING_KEYS")
    assert "old" in str(error)


def test_an_encryption_key_of_31_bytes_is_rejected_naming_the_variable() -> None:
    error = assert_rejected({"ENCRYPTION_KEYS": f"k1:{random_b64(31)}"}, "ENCRYPTION_KEYS")
    assert "exactly 32 bytes" in str(error)


@pytest.mark.parametrize("length", [0, 16, 24, 33, 64])
def test_an_encryption_key_not_of_exactly_32_bytes_is_rejected(length: int) -> None:
    assert_rejected({"ENCRYPTION_KEYS": f"k1:{random_b64(length)}"}, "ENCRYPTION_KEYS")


@pytest.mark.parametrize("length", [1, 16, 31])
def test_a_hash_key_shorter_than_32_bytes_is_rejected_naming_the_variable(length: int) -> None:
    error = assert_rejected({"HASH_KEY": random_b64(length)}, "HASH_KEY")
    assert "at least 32 bytes" in str(error)


@pytest.mark.parametrize("length", [32, 64])
def test_a_hash_key_of_32_bytes_or_more_is_accepted(length: int) -> None:
    assert len(load_settings({"HASH_KEY": random_b64(length)}).hash_key) == length


@pytest.mark.parametrize("encoded", ["!!!!", "not base64 at all", "A"])
def test_a_hash_key_that_is_not_base64_is_rejected_naming_the_variable(encoded: str) -> None:
    error = assert_rejected({"HASH_KEY": encoded}, "HASH_KEY")
    assert "base64" in str(error)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("JWT_SIGNING_KEYS", "k1:{secret}"),
        ("ENCRYPTION_KEYS", "k1:{secret}"),
        ("HASH_KEY", "{secret}"),
    ],
)
def test_a_rejected_key_is_not_repeated_in_the_message(variable: str, value: str) -> None:
    secret = random_b64(20)
    error = assert_rejected({variable: value.format(secret=secret)}, variable)
    assert secret not in str(error)
    assert secret.rstrip("=") not in str(error)


# Keys are required against a real deployment -----------------------------------------------


@pytest.mark.parametrize("missing", ["JWT_SIGNING_KEYS", "ENCRYPTION_KEYS", "HASH_KEY"])
def test_each_key_is_required_when_mongodb_uri_is_set(missing: str) -> None:
    environ = {"MONGODB_URI": "mongodb://db.example", **full_key_environ()}
    del environ[missing]
    error = assert_rejected(environ, missing)
    assert "MONGODB_URI" in str(error)


def test_all_keys_present_with_mongodb_uri_is_accepted() -> None:
    settings = load_settings({"MONGODB_URI": "mongodb://db.example", **full_key_environ()})
    assert settings.local_mode is False
    assert settings.has_keys is True


@pytest.mark.parametrize("missing", ["JWT_SIGNING_KEYS", "ENCRYPTION_KEYS", "HASH_KEY"])
def test_keys_are_optional_in_local_mode(missing: str) -> None:
    environ = full_key_environ()
    del environ[missing]
    settings = load_settings(environ)
    assert settings.local_mode is True
    assert settings.has_keys is False


# Settings helpers ---------------------------------------------------------------------------


def test_with_keys_and_with_embedded_database_return_changed_copies() -> None:
    base = Settings()
    jwt_keys = (NamedKey("j", secrets.token_bytes(32)),)
    encryption_keys = (NamedKey("e", secrets.token_bytes(32)),)
    hash_key = secrets.token_bytes(32)
    keyed = base.with_keys(jwt_keys, encryption_keys, hash_key)
    assert keyed.has_keys is True
    assert (keyed.jwt_signing_keys, keyed.encryption_keys, keyed.hash_key) == (
        jwt_keys,
        encryption_keys,
        hash_key,
    )
    assert base.has_keys is False
    moved = keyed.with_embedded_database("mongodb://127.0.0.1:27017")
    assert moved.mongodb_uri == "mongodb://127.0.0.1:27017"
    assert moved.embedded_database is True
    assert moved.local_mode is False
    assert keyed.local_mode is True


def test_the_repr_of_settings_shows_no_secret() -> None:
    jwt_secret, enc_secret, hash_key = (secrets.token_bytes(32) for _ in range(3))
    settings = Settings(
        jwt_signing_keys=(NamedKey("j", jwt_secret),),
        encryption_keys=(NamedKey("e", enc_secret),),
        hash_key=hash_key,
        smtp_password="smtp-secret-value",
    )
    text = repr(settings)
    assert "smtp-secret-value" not in text
    for secret in (jwt_secret, enc_secret, hash_key):
        assert repr(secret) not in text
    assert "'j'" in text


@pytest.mark.parametrize(
    "encoded",
    [
        base64.b64encode(AWKWARD_SECRET).decode(),
        base64.urlsafe_b64encode(AWKWARD_SECRET).decode().rstrip("="),
        f"  {base64.b64encode(AWKWARD_SECRET).decode()}\n",
    ],
)
def test_decode_base64_reads_every_spelling(encoded: str) -> None:
    assert decode_base64(encoded) == AWKWARD_SECRET


# Round trip to worker processes -------------------------------------------------------------


def _non_default_settings() -> Settings:
    return Settings(
        mongodb_uri="mongodb://db.example:27017",
        mongodb_database="auth",
        allowlist_mongodb_uri="mongodb://allowlist.example:27017",
        data_dir=Path("/srv/twofactor"),
        jwt_signing_keys=(
            NamedKey("jwt-2", AWKWARD_SECRET),
            NamedKey("jwt-1", secrets.token_bytes(48)),
        ),
        encryption_keys=(
            NamedKey("enc-2", secrets.token_bytes(32)),
            NamedKey("enc-1", secrets.token_bytes(32)),
        ),
        hash_key=secrets.token_bytes(32),
        access_token_ttl=600,
        step_up_token_ttl=120,
        refresh_token_ttl=7200,
        email_enabled=False,
        smtp_host="smtp.example",
        smtp_port=2525,
        smtp_username="mailer",
        smtp_password="smtp-secret",
        smtp_tls="none",
        mail_from="Security <security@example.com>",
        security_alert_two_factor_removed=False,
        security_alert_two_factor_added=False,
        default_locale="pt_BR",
        cookie_secure=True,
        host="192.0.2.10",
        port=9000,
        security_settings_url="https://account.example/security",
        support_contact="help@example.com",
        alert_retry_interval=30,
        max_body_size=4096,
        jwt_issuer="https://auth.example/",
        jwt_audience=("accounts.example", "accounts-old.example"),
        trusted_proxies="*",
        throttle_login_per_account=Budget(30, timedelta(hours=1)),
        throttle_login_per_account_address=Budget(3, timedelta(seconds=90)),
        throttle_login_per_address=Budget(500, timedelta(minutes=15)),
        throttle_step_up_per_user=Budget(4, timedelta(minutes=10)),
        throttle_two_factor_codes_per_token=Budget(3, timedelta(minutes=5)),
        throttle_two_factor_codes_per_user=Budget(10, timedelta(minutes=15)),
        throttle_security_changes_per_user=Budget(10, timedelta(days=1)),
        throttle_register_per_address=Budget(50, timedelta(seconds=7)),
        throttle_guests_per_address=Budget(200, timedelta(hours=2)),
        keep_alive_timeout=75,
        max_connections=200,
        mongodb_timeout=3,
        smtp_timeout=20,
        smtp_ca_file=CA_FILE,
        alert_send_wait=2,
        embedded_database=True,
        log_format="text",
        metrics_enabled=False,
        metrics_dir=Path("/run/twofactor-metrics"),
    )


def test_the_round_trip_settings_differ_from_the_defaults_in_every_field() -> None:
    settings, defaults = _non_default_settings(), Settings()
    for variable in VARIABLES:
        assert getattr(settings, variable.field) != getattr(defaults, variable.field), variable


def test_settings_to_environ_round_trips_through_load_settings() -> None:
    settings = _non_default_settings()
    assert load_settings(settings_to_environ(settings)) == settings


def test_default_settings_round_trip_without_keys() -> None:
    settings = Settings()
    environ = settings_to_environ(settings)
    assert "MONGODB_URI" not in environ
    assert load_settings(environ) == settings


def test_settings_to_environ_names_exactly_the_variables_the_service_reads() -> None:
    environ = settings_to_environ(_non_default_settings())
    assert set(environ) == set(ALL_VARIABLES)


def test_export_to_environment_is_read_back_by_the_next_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Blank every variable first, so the test neither depends on nor leaks into the real
    # environment (monkeypatch restores the previous values afterwards).
    for variable in ALL_VARIABLES:
        monkeypatch.setenv(variable, "")
    settings = _non_default_settings()
    export_to_environment(settings)
    assert load_settings_from_environment() == settings


# Token issuer and audience -------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["twofactor-api", "https://auth.example/", "urn:example:auth", "a", "x" * 255]
)
def test_a_visible_ascii_issuer_is_accepted(value: str) -> None:
    assert load_settings({"JWT_ISSUER": value}).jwt_issuer == value


@pytest.mark.parametrize(
    "value",
    ["two factor", "api\tone", "api\x00", "api\x7f", "caf\u00e9", "x" * 256, "api\u200b"],
    ids=["space", "tab", "nul", "del", "non-ascii", "too-long", "zero-width"],
)
def test_an_issuer_with_whitespace_control_or_non_ascii_characters_is_rejected(
    value: str,
) -> None:
    message = str(assert_rejected({"JWT_ISSUER": value}, "JWT_ISSUER"))
    assert "visible ASCII" in message


def test_one_audience_is_a_list_of_one() -> None:
    assert load_settings({"JWT_AUDIENCE": "accounts"}).jwt_audience == ("accounts",)


def test_several_audiences_keep_their_order_and_tolerate_spaces() -> None:
    settings = load_settings({"JWT_AUDIENCE": " new , old,older "})
    assert settings.jwt_audience == ("new", "old", "older")


@pytest.mark.parametrize(
    "value",
    ["a,,b", "a,", ",a", "a b", "a,b\x01", "a," + "x" * 256],
    ids=["empty-between", "empty-last", "empty-first", "space", "control", "too-long"],
)
def test_a_malformed_audience_list_is_rejected_naming_the_variable(value: str) -> None:
    assert_rejected({"JWT_AUDIENCE": value}, "JWT_AUDIENCE")


def test_an_audience_named_twice_is_rejected_naming_the_variable() -> None:
    message = str(assert_rejected({"JWT_AUDIENCE": "a,b,a"}, "JWT_AUDIENCE"))
    assert "twice" in message
