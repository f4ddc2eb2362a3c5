"""RFC 8707 ``invalid_target`` at refresh, driven with canned responses.

Keycloak's resource-indicators code refuses a refresh that names a ``resource`` its grant
did not have ("The requested resource is not matching the original request."); the 26.7.3
release that the live tests run ignores ``resource`` at refresh, so this one fault is canned.
The live cases (honoured, refused at the code exchange) are in tests/interop/keycloak.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import httpx

from agentfetch.oauth._refresh import refresh
from agentfetch.store import Credential, CredentialKey, TokenSet

from .test_core import Canned, core, drive  # noqa: F401 - core is a fixture

AS = "https://as.example/realms/agents"
RS = "https://rs.example/notes"


def _form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def test_refresh_refused_for_its_resource_is_retried_without_and_remembered(core: Any, store: Any) -> None:  # noqa: F811
    forms: list[dict[str, str]] = []

    def token(request: httpx.Request) -> httpx.Response:
        forms.append(_form(request))
        if "resource" in forms[-1]:
            return httpx.Response(400, json={"error": "invalid_target", "error_description":
                                             "The requested resource is not matching the original request."})
        return httpx.Response(200, json={"access_token": f"at{len(forms)}", "token_type": "Bearer",
                                         "expires_in": 300, "refresh_token": "rt2"})

    server = Canned({("POST", AS + "/token"): token})
    stored = Credential(CredentialKey(AS, RS, "client"), TokenSet("at0", refresh_token="rt1"), AS + "/token")
    store.put(stored)

    refreshed = drive(refresh(core.s, stored, None), server)
    assert refreshed.tokens.access_token == "at2" and refreshed.key.resource == RS
    assert [f.get("resource") for f in forms] == [RS, None]

    forms.clear()
    again = drive(refresh(core.s, refreshed, None), server)  # remembered: no resource, one request
    assert again.tokens.access_token == "at1" and [f.get("resource") for f in forms] == [None]


def test_other_refresh_errors_are_not_retried_without_resource(core: Any, store: Any) -> None:  # noqa: F811
    forms: list[dict[str, str]] = []

    def token(request: httpx.Request) -> httpx.Response:
        forms.append(_form(request))
        return httpx.Response(400, json={"error": "invalid_grant"})

    stored = Credential(CredentialKey(AS, RS, "client"), TokenSet("at0", refresh_token="rt1"), AS + "/token")
    store.put(stored)
    assert drive(refresh(core.s, stored, None), Canned({("POST", AS + "/token"): token})) is None
    assert [f.get("resource") for f in forms] == [RS]
    assert store.list() == []
