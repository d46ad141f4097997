"""One-time codes: RFC 6238 TOTP (SHA-1, 6 digits, 30 s, one step of drift either way),
recovery codes and emailed codes."""

from __future__ import annotations

import base64
import hmac
import io
import secrets
from datetime import datetime

import pyotp
import segno

from twofactor.security.crypto import keyed_hash

TIME_STEP = 30
DIGITS = 6
ALLOWED_DRIFT = 1
ISSUER = "twofactor-api"
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to copy by hand
_RECOVERY_LENGTH = 16  # 16 x 5 bits = 80 bits


def new_totp_secret() -> str:
    """A base32 secret of 160 bits (RFC 4226 recommends at least 128, 160 for SHA-1)."""
    return pyotp.random_base32(length=32)


def time_step(moment: datetime) -> int:
    return int(moment.timestamp()) // TIME_STEP


def matching_step(secret: str, code: str, moment: datetime) -> int | None:
    """The time step ``code`` belongs to within the allowed drift, or ``None``.

    Every candidate is compared in constant time, whatever matched before it.
    """
    if not (code.isascii() and code.isdigit() and len(code) == DIGITS):
        return None  # compare_digest only takes ASCII; the spec only lets six digits through
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=TIME_STEP)
    current = time_step(moment)
    found = None
    for step in range(current - ALLOWED_DRIFT, current + ALLOWED_DRIFT + 1):
        if hmac.compare_digest(totp.at(step * TIME_STEP), code):
            found = step
    return found


def provisioning_uri(secret: str, account: str) -> str:
    """``otpauth://totp/Issuer:account?secret=...&issuer=...``, percent-encoded by pyotp."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=TIME_STEP).provisioning_uri(
        name=account, issuer_name=ISSUER
    )


def qr_code_data_uri(uri: str) -> str:
    """The URI as an SVG QR code, inline (``data:image/svg+xml;base64,...``)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=4, border=2)

    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4)))
    return codes


def normalize_recovery_code(code: str) -> str:
    """What the user typed, in the stored form: upper case, grouped by four."""
    raw = "".join(character for character in code.upper() if character.isalnum())
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def email_code_hash(key: bytes, principal_id: str, code: str) -> str:
    """How an emailed code is stored and compared: keyed, and bound to its principal."""
    return keyed_hash(key, "email-code", f"{principal_id}:{code}")


def new_email_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
