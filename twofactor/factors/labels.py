"""Marks a factor's label for translation without translating it here.

The label is an English message id; ``pybabel extract`` finds it through ``N_`` and the mail
adapter translates it into the recipient's language when it renders an email.
"""

from __future__ import annotations


def N_(message: str) -> str:
    return message
