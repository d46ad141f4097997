"""Reading a ``SecondFactorProof``: the body's one key names the method, its value is the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from handlers._http.web import second_factor_proof
from twofactor.domain.model import TwoFactorMethod
from twofactor.domain.verification import Proof

SPECIFICATION = Path(__file__).resolve().parents[3] / "openapi.yaml"


@pytest.mark.parametrize("method", list(TwoFactorMethod))
def test_the_one_key_of_the_body_names_the_method(method: TwoFactorMethod) -> None:
    assert second_factor_proof({method.value: "492039"}) == Proof(method=method, code="492039")


def test_the_keys_of_a_proof_are_the_names_of_the_methods() -> None:
    document: dict[str, Any] = yaml.safe_load(SPECIFICATION.read_text())
    keys = set(document["components"]["schemas"]["SecondFactorProof"]["properties"])

    assert keys == {method.value for method in TwoFactorMethod}


@pytest.mark.parametrize("body", [{}, {"totp": "492039", "email": "815274"}, {"sms": "1"}])
def test_a_body_the_spec_would_refuse_is_a_programming_error(body: dict[str, str]) -> None:
    with pytest.raises(RuntimeError):
        second_factor_proof(body)
