"""Primitives below both the domain and the store: keys, encryption, passwords, OTP, tokens."""
