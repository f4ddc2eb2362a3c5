"""Proof Key for Code Exchange: RFC 7636 (S256 only)."""

from __future__ import annotations

import secrets

__all__ = ["new_code_verifier", "s256_challenge"]


def new_code_verifier() -> str:
    """A fresh verifier: 64 unreserved characters (RFC 7636 §4.1 allows 43 to 128)."""
    # token_urlsafe uses only A-Z a-z 0-9 - _, all "unreserved"; 48 bytes → 64 chars.
    return secrets.token_urlsafe(48)


def s256_challenge(verifier: str) -> str:
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    challenge: str = create_s256_code_challenge(verifier)  # authlib is untyped
    return challenge
