"""The hostile suite: one thing wrong per case, the CLI run as a user runs it.

Each case asserts the exit code, that nothing went where it must not (the
server's request log), that nothing was stored, and that no secret the
server handed out or received shows up in stdout, stderr (``-v`` on), or any
file but the secret store. ``README.md`` here maps each case to what an
attacker would gain without the check.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hostile import (
    DROP,
    Hostile,
    Recorded,
    Reply,
    run_agentfetch,
    secret_leaks,
    stored_credentials,
)


def fetch(hostile: Hostile, home: Path, *extra: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_agentfetch(url or hostile.url, "--consent", "allow", "-v", "--timeout", "10",
                          "--auth-timeout", "10", *extra, home=home)


def assert_refused(proc: subprocess.CompletedProcess[str], code: int, hostile: Hostile, home: Path, *,
                   never: tuple[str, ...] = (), says: str | None = None) -> None:
    """Exit ``code`` with one clear line, nothing stored, no secret anywhere, no request to ``never``."""
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert "error:" in proc.stderr
    if says is not None:
        assert says in proc.stderr, proc.stderr
    assert secret_leaks(hostile.secrets, proc, home) == []
    assert stored_credentials(home) == []
    for path in never:
        assert hostile.count(path) == 0, f"{path} was requested: {[r.target for r in hostile.requests(path)]}"


def test_the_unbroken_server_signs_in_and_leaks_nothing(hostile: Hostile, home: Path) -> None:
    """The baseline every case below departs from by exactly one thing."""
    proc = fetch(hostile, home)
    assert proc.returncode == 0, proc.stderr
    assert "protected text" in proc.stdout
    assert secret_leaks(hostile.secrets, proc, home) == []
    assert [c.key.resource for c in stored_credentials(home)] == [hostile.url]


# -- item 3: a token that cannot go into a header is refused on arrival ------------------------------


@pytest.mark.parametrize("token", ["tok\r\nX-Injected: 1", "tök-non-ascii", "has space", "nul\x00byte"],
                         ids=["crlf", "non-ascii", "space", "nul"])
def test_access_token_that_is_not_a_b64token_is_refused(hostile: Hostile, home: Path, token: str) -> None:
    hostile.patch["token"] = {"access_token": token}
    hostile.remember(token)
    proc = fetch(hostile, home)
    assert_refused(proc, 5, hostile, home, says="b64token")
    assert hostile.count("/page") == 1  # the only request to the resource is the first, token-less one
    assert "X-Injected" not in proc.stderr


def test_refresh_token_that_is_not_a_b64token_is_refused(hostile: Hostile, home: Path) -> None:
    hostile.patch["token"] = {"refresh_token": "rt\nwith-newline-secret"}
    hostile.remember("rt\nwith-newline-secret", "with-newline-secret")
    assert_refused(fetch(hostile, home), 5, hostile, home, says="refresh_token")


# -- item 4: nothing a server says reaches the terminal as a control sequence --------------------------


def test_control_and_bidi_characters_in_a_server_error_are_escaped(hostile: Hostile, home: Path) -> None:
    hostile.routes["/as/token"] = lambda request: Reply.json(
        {"error": "invalid_grant\x1b[2J",
         "error_description": "see \x1b]8;;http://evil/\x07here\x1b]8;;\x07 \u202eevil"},
        400,
    )
    proc = fetch(hostile, home)
    assert_refused(proc, 5, hostile, home)
    assert "\x1b" not in proc.stderr and "\u202e" not in proc.stderr and "\x07" not in proc.stderr
    assert "invalid_grant" in proc.stderr and "[2J" in proc.stderr  # shown, not obeyed


# -- item 5: hostile documents end in a typed error, never "internal error" ----------------------------


def _deep(request: Recorded) -> Reply:
    return Reply.json(b"[" * 200_000 + b"]" * 200_000)


@pytest.mark.parametrize("where", ["/.well-known/oauth-protected-resource/page",
                                   "/.well-known/oauth-authorization-server/as", "/as/register", "/as/token"],
                         ids=["prm", "as", "registration", "token"])
def test_deeply_nested_json_is_a_typed_error(hostile: Hostile, home: Path, where: str) -> None:
    hostile.routes[where] = _deep
    assert_refused(fetch(hostile, home), 5, hostile, home)


@pytest.mark.parametrize("expires_in", [10**400, "1" + "0" * 399], ids=["number", "string"])
def test_absurd_expires_in_is_refused(hostile: Hostile, home: Path, expires_in: object) -> None:
    document = {"access_token": "at-absurd-lifetime-0123456789", "token_type": "Bearer", "expires_in": expires_in}
    hostile.remember(document["access_token"])
    hostile.routes["/as/token"] = lambda request: Reply.json(json.dumps(document).encode())
    assert_refused(fetch(hostile, home), 5, hostile, home, says="expires_in")


def test_control_characters_in_the_issuer_path_are_refused(hostile: Hostile, home: Path) -> None:
    hostile.patch["prm"] = {"authorization_servers": [hostile.issuer + "\x1b[2J"]}
    proc = fetch(hostile, home)
    assert_refused(proc, 6, hostile, home, never=("/as/",))
    assert "\x1b" not in proc.stderr


def test_unbalanced_ipv6_metadata_url_is_refused(hostile: Hostile, home: Path) -> None:
    hostile.challenge = 'Bearer resource_metadata="http://[::1/.well-known/oauth-protected-resource"'
    assert_refused(fetch(hostile, home), 6, hostile, home, never=("/.well-known/", "/as/"))


def test_prm_resource_with_an_invalid_host_is_refused(hostile: Hostile, home: Path) -> None:
    hostile.patch["prm"] = {"resource": "http://[zz]/"}
    assert_refused(fetch(hostile, home), 6, hostile, home, never=("/as/",))


@pytest.mark.parametrize("field, value", [("op_policy_uri", ["a", "b"]), ("service_documentation", 5),
                                          ("op_tos_uri", {"a": 1}), ("jwks_uri", [1])])
def test_authlib_type_errors_on_metadata_fields_are_typed(hostile: Hostile, home: Path, field: str,
                                                          value: object) -> None:
    hostile.patch["as"] = {field: value}
    proc = fetch(hostile, home)
    assert proc.returncode in (5, 6)
    assert_refused(proc, proc.returncode, hostile, home, never=("/as/register", "/as/authorize"))


def test_control_characters_in_an_html_page_do_not_crash(hostile: Hostile, home: Path) -> None:
    hostile.routes["/public"] = lambda request: Reply(200, b"a\x02", content_type="text/html")
    proc = run_agentfetch(hostile.origin + "/public", home=home)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "a"


@pytest.mark.parametrize("location", ["javascript:alert(1)", "mailto:a@b", "http://[::1/x"])
def test_redirect_to_a_non_http_url_is_a_typed_error(hostile: Hostile, home: Path, location: str) -> None:
    hostile.routes["/public"] = lambda request: Reply(302, b"", [("Location", location)], content_type=None)
    proc = run_agentfetch(hostile.origin + "/public", home=home)
    assert proc.returncode in (2, 3), proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


# -- item 7: only literal loopback and the exact name localhost count as loopback -------------------------


def test_a_subdomain_of_localhost_is_not_trusted_with_plain_http(hostile: Hostile, home: Path) -> None:
    hostile.patch["prm"] = {"authorization_servers": [f"http://evil.localhost:{hostile.port}/as"]}
    proc = fetch(hostile, home)
    assert_refused(proc, 6, hostile, home, never=("/.well-known/oauth-authorization-server", "/as/"),
                   says="plain-HTTP")


# -- item 12: identifiers with userinfo, lifetimes, scopes -------------------------------------------


def test_prm_resource_with_userinfo_is_refused(hostile: Hostile, home: Path) -> None:
    hostile.patch["prm"] = {"resource": f"http://accounts.example.com@127.0.0.1:{hostile.port}/page"}
    assert_refused(fetch(hostile, home), 6, hostile, home, never=("/as/",), says="userinfo")


def test_issuer_with_userinfo_is_refused(hostile: Hostile, home: Path) -> None:
    issuer = f"http://accounts.example.com@127.0.0.1:{hostile.port}/as"
    hostile.patch["prm"] = {"authorization_servers": [issuer]}
    hostile.patch["as"] = {"issuer": issuer}
    assert_refused(fetch(hostile, home), 6, hostile, home, never=("/as/register", "/as/authorize"), says="userinfo")


def test_negative_expires_in_means_already_expired(hostile: Hostile, home: Path) -> None:
    hostile.patch["token"] = {"expires_in": -600}
    first = fetch(hostile, home)
    assert first.returncode == 0, first.stderr
    (credential,) = stored_credentials(home)
    assert credential.tokens.expires_at is not None  # never "no expiry"
    assert credential.tokens.expires_within(0)
    second = fetch(hostile, home)
    assert second.returncode == 0, second.stderr
    grants = [r.form().get("grant_type") for r in hostile.requests("/as/token")]
    assert grants == ["authorization_code", "refresh_token"]
    assert secret_leaks(hostile.secrets, second, home) == []


def test_a_wider_granted_scope_is_kept_and_shown(hostile: Hostile, home: Path) -> None:
    hostile.granted_scope = "read admin"
    proc = fetch(hostile, home)
    assert proc.returncode == 0, proc.stderr
    (credential,) = stored_credentials(home)
    assert credential.tokens.scope == "read admin"
    status = run_agentfetch("auth", "status", "--json", home=home)
    assert status.returncode == 0, status.stderr
    (row,) = json.loads(status.stdout)["credentials"]
    assert "admin" in row["scopes"]


# -- the classic ones -------------------------------------------------------------------------------


def test_prm_naming_another_resource_is_refused(hostile: Hostile, home: Path) -> None:
    hostile.patch["prm"] = {"resource": hostile.origin + "/elsewhere"}
    assert_refused(fetch(hostile, home), 6, hostile, home, never=("/as/",), says="RFC 9728")


def test_issuer_mismatch_is_refused(hostile: Hostile, home: Path) -> None:
    hostile.patch["as"] = {"issuer": hostile.origin + "/other-as"}
    assert_refused(fetch(hostile, home), 6, hostile, home, never=("/as/register", "/as/authorize"), says="RFC 8414")


def test_forged_state_is_refused_before_the_token_request(hostile: Hostile, home: Path) -> None:
    hostile.patch["callback"] = {"state": "forged"}
    assert_refused(fetch(hostile, home), 6, hostile, home, never=("/as/token",), says="state")


def test_forged_iss_is_refused_before_the_token_request(hostile: Hostile, home: Path) -> None:
    hostile.patch["callback"] = {"iss": "http://127.0.0.1:1/evil"}
    assert_refused(fetch(hostile, home), 6, hostile, home, never=("/as/token",), says="RFC 9207")


def test_redirects_on_oauth_requests_are_never_followed(hostile: Hostile, other: Hostile, home: Path) -> None:
    hostile.routes["/as/token"] = lambda request: Reply(307, b"", [("Location", other.origin + "/as/token")])
    assert_refused(fetch(hostile, home), 5, hostile, home)
    assert other.log == []


@pytest.mark.parametrize("token_type", ["mac", "Basic", "", None])
def test_token_type_other_than_bearer_is_refused(hostile: Hostile, home: Path, token_type: object) -> None:
    hostile.patch["token"] = {"token_type": token_type if token_type is not None else DROP}
    assert_refused(fetch(hostile, home), 5, hostile, home, says="token_type")
    assert hostile.count("/page") == 1


def test_a_resource_that_rejects_every_fresh_token_does_not_loop(hostile: Hostile, home: Path) -> None:
    hostile.routes["/page"] = lambda request: Reply(
        401, b"", [("WWW-Authenticate", f'Bearer error="invalid_token", resource_metadata="{hostile.prm_url}"')]
    )
    proc = fetch(hostile, home)
    assert proc.returncode == 5, proc.stderr
    assert hostile.count("/as/authorize") == 1 and hostile.count("/as/token") == 1
    assert hostile.count("/page") == 2
    assert secret_leaks(hostile.secrets, proc, home) == []


def test_step_up_asked_again_and_again_ends_after_one(hostile: Hostile, home: Path) -> None:
    def always_more(request: Recorded) -> Reply:
        if "authorization" not in request.headers:
            return Reply(401, b"", [("WWW-Authenticate", f'Bearer resource_metadata="{hostile.prm_url}"')])
        return Reply(403, b"", [("WWW-Authenticate", f'Bearer error="insufficient_scope", scope="read admin", '
                                                     f'resource_metadata="{hostile.prm_url}"')])

    hostile.routes["/page"] = always_more
    proc = fetch(hostile, home)
    assert proc.returncode == 5, proc.stderr
    # The first sign-in and one step-up, never a third (each sign-in spends one code at the token endpoint).
    assert hostile.count("/as/token") == 2
    assert secret_leaks(hostile.secrets, proc, home) == []


def test_registration_that_changes_the_redirect_uri_is_refused(hostile: Hostile, home: Path) -> None:
    hostile.patch["registration"] = {"redirect_uris": ["http://evil.example/callback"]}
    assert_refused(fetch(hostile, home), 6, hostile, home, never=("/as/authorize", "/as/token"), says="redirect URI")
    second = fetch(hostile, home)  # and nothing of it was kept for next time
    assert second.returncode == 6


@pytest.mark.parametrize("method", ["private_key_jwt", "tls_client_auth", "client_secret_basic"])
def test_registration_demanding_an_unusable_auth_method_is_refused(hostile: Hostile, home: Path, method: str) -> None:
    hostile.patch["registration"] = {"token_endpoint_auth_method": method}
    assert_refused(fetch(hostile, home), 5, hostile, home, never=("/as/authorize", "/as/token"),
                   says="token_endpoint_auth_method")
