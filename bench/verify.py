"""Every 200 of the core operation, checked afterwards in the database and at the SMTP sink."""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from bench.provision import User
from bench.sink import Mailbox

REMOVED_SUBJECT = "A two-factor method was removed from your account"


def verify_disabled(
    principals: Any, mailbox: Mailbox, users: list[User], known: set[str]
) -> list[str]:
    """The problems found, one line each (none when every DELETE did all it promises).

    ``known``: every address a DELETE of this benchmark concerned so far; an alert to any other
    address went to a stranger.
    """
    problems: list[str] = []
    for user in users:
        document = principals.find_one({"_id": ObjectId(user.id)}) or {}
        factors = document.get("twoFactor", {})
        if factors.get("methods") != ["email"]:
            problems.append(f"{user.email}: methods {factors.get('methods')} instead of ['email']")
        if "totp" in factors:
            problems.append(f"{user.email}: the TOTP secret and recovery codes are still stored")
        if not any(
            event.get("type") == "two_factor_removed" and event.get("method") == "totp"
            for event in document.get("securityEvents", [])
        ):
            problems.append(f"{user.email}: no TOTP removal in the security history")
        outbox = [
            (entry.get("status"), entry.get("attempts"))
            for entry in document.get("alertOutbox", [])
            if entry.get("kind") == "two_factor_removed"
        ]
        if outbox != [("sent", 1)]:
            # A 200 means sent, recorded as sent, at the first attempt.
            problems.append(f"{user.email}: removal alert in the outbox as {outbox}")
    for user in users:
        # Waits only while mail is still arriving (the service may still be retrying).
        alerts = mailbox.wait_for(user.email, 1, REMOVED_SUBJECT, timeout=30)
        if len(alerts) != 1:
            problems.append(f"{user.email}: {len(alerts)} removal alerts at the sink instead of 1")
    strangers = [
        message["To"]
        for message in mailbox.messages()
        if message["Subject"] == REMOVED_SUBJECT and message["To"] not in known
    ]
    if strangers:
        problems.append(f"removal alerts to addresses no DELETE concerned: {strangers[:5]}")
    return problems
