"""Second factors written straight into a principal document, for tests and contract runs.

Enabling a factor over HTTP takes a step-up, a code and (for TOTP) a setup token; most tests only
need the account to *have* the factor. The update is built by the store's own builders, so the
seeded document has exactly the shape the service writes, and the step-up generation is left
alone so that step-up tokens taken before keep their meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twofactor.domain.model import FactorState, TwoFactorMethod
from twofactor.security.crypto import FieldCipher
from twofactor.store.changes import factor_state_document


def enabled_methods_update(
    principal_id: str, states: Mapping[TwoFactorMethod, FactorState], cipher: FieldCipher
) -> dict[str, Any]:
    """The update that enables exactly the methods of ``states`` (the first is preferred)."""
    methods = list(states)
    update: dict[str, Any] = {
        "$set": {
            "twoFactor.methods": [method.value for method in methods],
            "twoFactor.preferred": methods[0].value if methods else None,
            **{
                f"twoFactor.{method.value}": factor_state_document(principal_id, state, cipher)
                for method, state in states.items()
            },
        }
    }
    disabled = {f"twoFactor.{m.value}": "" for m in TwoFactorMethod if m not in states}
    if disabled:
        update["$unset"] = disabled
    return update
