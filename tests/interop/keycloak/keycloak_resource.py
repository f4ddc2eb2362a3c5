"""The protected resource in front of Keycloak: ``<origin>/wiki``, ``/docs`` and ``/notes``.

Each is an RFC 8707 resource indicator with an RFC 9728 document naming the realm
``agents``. The realm knows wiki and docs as clients with a ``resource_url`` (what Keycloak's
resource-indicators feature matches), notes only as a custom audience of the ``read`` scope.
``<origin>/locked`` names the realm ``locked`` instead, whose registration policies are
Keycloak's defaults. Pages need the
``read`` scope, ``/wiki/admin`` needs ``admin``. Tokens are checked as a resource server in
front of Keycloak must: the JWT's signature against the realm's JWKS (fetched again when a
key is unknown), ``iss``, ``exp``, ``sub``, ``aud`` containing this resource, the scope the
path needs, and Keycloak's ``typ`` claim ``Bearer``: its access tokens carry ``typ: JWT`` in
the header, not RFC 9068's ``at+jwt``, so the claim is what tells them from ID tokens.
"""

from __future__ import annotations

from typing import Any

from interop_harness import LoopbackResource


class ProtectedResource(LoopbackResource):
    TREES = ("wiki", "docs", "notes", "locked")

    def __init__(self) -> None:
        super().__init__()
        #: Per tree, other authorization servers to name (a test's own Keycloak front); reset() clears it.
        self.overrides: dict[str, list[str]] = {}

    def reset(self) -> None:
        super().reset()
        self.overrides.clear()

    def scopes_supported(self, tree: str) -> list[str]:
        return ["read", "admin"] if tree == "wiki" else ["read"]

    def authorization_servers(self, tree: str) -> list[str]:
        assert self.issuer is not None
        if tree in self.overrides:
            return self.overrides[tree]
        return [self.issuer.rsplit("/", 1)[0] + "/locked"] if tree == "locked" else [self.issuer]

    def validate(self, token: str, tree: str) -> dict[str, Any] | None:
        from joserfc import jwt
        from joserfc.errors import JoseError

        algorithms = ["RS256", "ES256", "PS256"]
        try:
            try:
                decoded = jwt.decode(token, self.keys, algorithms=algorithms)
            except JoseError:
                self.load_keys()  # a rotated realm key: fetch the JWKS again, once
                decoded = jwt.decode(token, self.keys, algorithms=algorithms)
            claims = decoded.claims
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "values": self.authorization_servers(tree)},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(claims)
        except (JoseError, ValueError) as exc:
            self.rejected.append(f"{type(exc).__name__}: {exc}")
            return None
        audiences = claims.get("aud")
        audiences = [audiences] if isinstance(audiences, str) else list(audiences or [])
        if self.resource(tree) not in audiences:
            self.rejected.append(f"aud {audiences} lacks {self.resource(tree)}")
            return None
        if claims.get("typ") != "Bearer":
            self.rejected.append(f"typ {claims.get('typ')!r} is not an access token")
            return None
        return dict(claims)

    def page(self, tree: str, path: str, claims: dict[str, Any]) -> str:
        who = claims.get("preferred_username") or claims["sub"]  # Keycloak's sub is the user's UUID
        return f"# {tree} page {path}\n\nHello {who}, this is the {tree}."
