"""Access tokens as signed JWTs (RFC 9068 profile), ES256, key published as a JWKS.

joserfc is imported here and only here, when a server starts.
"""

from __future__ import annotations

import secrets
from typing import Any


class TokenSigner:
    def __init__(self) -> None:
        from joserfc.jwk import ECKey

        self.kid = "demo-" + secrets.token_hex(4)
        self._key = ECKey.generate_key("P-256", parameters={"kid": self.kid, "use": "sig", "alg": "ES256"})

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self._key.as_dict(private=False)]}

    def sign(self, claims: dict[str, Any], *, typ: str = "at+jwt") -> str:
        from joserfc import jwt

        return jwt.encode({"alg": "ES256", "kid": self.kid, "typ": typ}, claims, self._key)

    def verify(self, token: str, *, typ: str = "at+jwt") -> dict[str, Any] | None:
        """The claims when the signature is ours and the header's ``typ`` is ``typ``; else ``None``.

        Time and audience are the caller's checks: it knows the clock cut-offs and the resource.
        """
        from joserfc import jwt
        from joserfc.errors import JoseError

        try:
            decoded = jwt.decode(token, self._key, algorithms=["ES256"])
        except (JoseError, ValueError, TypeError):
            return None
        if decoded.header.get("typ") != typ:
            return None
        return dict(decoded.claims)
