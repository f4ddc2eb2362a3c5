"""The protected resource in front of Spring Authorization Server: ``<origin>/wiki``.

Spring issues RS256 JWTs with ``scope`` as a JSON array and, by default, ``aud`` = the
client id; the server here puts the RFC 8707 ``resource`` of the authorization request
into ``aud`` (a token customizer), which this resource requires.
"""

from __future__ import annotations

from typing import Any

from interop_harness import LoopbackResource


class ProtectedResource(LoopbackResource):
    def validate(self, token: str, tree: str) -> dict[str, Any] | None:
        from joserfc import jwt
        from joserfc.errors import JoseError

        try:
            claims = jwt.decode(token, self.keys, algorithms=["RS256"]).claims
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.resource(tree)},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(claims)
        except (JoseError, ValueError) as exc:
            self.rejected.append(f"{type(exc).__name__}: {exc}")
            return None
        scope = claims.get("scope")
        return {**claims, "scope": " ".join(scope) if isinstance(scope, list) else str(scope or "")}
