"""RFC 9110 §11.6.1 / RFC 6750 §3 challenge parsing, including hostile headers."""

from __future__ import annotations

import pytest

from agentfetch.errors import AuthorizationError
from agentfetch.oauth.challenge import MalformedChallenge, find_bearer, parse_challenges


def test_rfc9110_example_with_escapes_and_two_challenges() -> None:
    header = 'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"'
    first, second = parse_challenges([header])
    assert first.scheme == "newauth"
    assert first.params == {"realm": "apps", "type": "1", "title": 'Login to "apps"'}
    assert second.scheme == "basic" and second.params == {"realm": "simple"}


def test_token68_then_bearer_in_one_header() -> None:
    negotiate, bearer = parse_challenges(['Negotiate YIIBhwYGKwYBBQUCoIIBezCCAXeg==, Bearer realm="x"'])
    assert negotiate.token68 == "YIIBhwYGKwYBBQUCoIIBezCCAXeg==" and not negotiate.params
    assert bearer.scheme == "bearer" and bearer.params == {"realm": "x"}


def test_bearer_found_across_several_headers_case_insensitive() -> None:
    bearer = find_bearer(
        [
            'Basic realm="legacy"',
            'BEARER Resource_Metadata="https://h/.well-known/oauth-protected-resource/docs", '
            'scope="read  write", error="insufficient_scope", error_description="need \\"write\\""',
        ]
    )
    assert bearer is not None
    assert bearer.resource_metadata == "https://h/.well-known/oauth-protected-resource/docs"
    assert bearer.scopes == ("read", "write")
    assert bearer.insufficient_scope
    assert bearer.error_description == 'need "write"'


def test_bare_scheme_and_empty_list_elements() -> None:
    challenges = parse_challenges([" , Bearer ,, Basic realm=x ,"])
    assert [c.scheme for c in challenges] == ["bearer", "basic"]
    assert find_bearer(["Bearer"]) is not None and find_bearer(["Bearer"]).resource_metadata is None


def test_whitespace_around_equals_and_token_values() -> None:
    (challenge,) = parse_challenges(["Bearer realm = example , error=invalid_token"])
    assert challenge.params == {"realm": "example", "error": "invalid_token"}


def test_no_bearer_gives_none() -> None:
    assert find_bearer(['Basic realm="x"', "Digest realm=y, nonce=\"abc\""]) is None
    assert find_bearer([]) is None


@pytest.mark.parametrize(
    "header",
    [
        'Bearer realm="unterminated',
        'Bearer realm="bad \x01 control"',
        "Bearer realm=@x",
        'Bearer realm="a", realm="b"',  # duplicate: ambiguous
        'Bearer resource_metadata="a" junk',
        "=Bearer",
        '"quoted-scheme"',
        "Bearer\x00realm=x",
        "Negotiate abc== def",
        'Bearer realm="trailing backslash\\',
        "Bearer " + ", ".join(f"p{i}=v" for i in range(200)),
        "Bearer realm=" + '"' + "a" * 20000 + '"',
    ],
)
def test_hostile_headers_raise_a_typed_error(header: str) -> None:
    with pytest.raises(MalformedChallenge) as info:
        find_bearer([header])
    assert isinstance(info.value, AuthorizationError)
    assert info.value.exit_code == 5
    assert len(str(info.value)) < 200


def test_a_malformed_header_is_skipped_when_another_carries_bearer() -> None:
    bearer = find_bearer(['Basic realm="oops', 'Bearer resource_metadata="https://h/m"'])
    assert bearer is not None and bearer.resource_metadata == "https://h/m"


def test_non_ascii_obs_text_in_quoted_string() -> None:
    (challenge,) = parse_challenges(['Bearer realm="caf\xe9"'])
    assert challenge.params["realm"] == "caf\xe9"
