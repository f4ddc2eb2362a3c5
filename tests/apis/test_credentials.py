"""``[[credentials]]`` in config.toml: service credentials for hosts without managed OAuth, against the demo."""

from __future__ import annotations

import json
import sys

import pytest
from apis_support import cloudflared_entry, write_config

from agentfetch import AuthorizationError, CredentialHelperError, Fetcher, UsageError
from agentfetch._credentials import best_match, load_credentials
from agentfetch.store import open_store


def toml_list(argv: list[str]) -> str:
    return json.dumps(argv)  # a JSON array of strings is a TOML array


@pytest.fixture
def service_env(demo, monkeypatch):
    token = demo.service_token
    monkeypatch.setenv("TUNNEL_SERVICE_TOKEN_ID", token.client_id)
    monkeypatch.setenv("TUNNEL_SERVICE_TOKEN_SECRET", token.client_secret)
    return token


def me(fetcher: Fetcher, demo, path: str = "/api/me") -> dict:
    return json.loads(fetcher.request("GET", demo.origin + path, raw=True).body)


def test_a_cloudflared_style_helper_runs_once_per_ttl_and_its_token_stays_in_the_store(
        demo, agentfetch_home, service_env, tmp_path, monkeypatch):
    runs = tmp_path / "runs.txt"
    monkeypatch.setenv("CLOUDFLARED_RUNS", str(runs))
    write_config(agentfetch_home, cloudflared_entry(demo.origin, ttl=300))
    lines: list[str] = []
    with Fetcher(consent="deny", log=lines.append) as fetcher:
        first = me(fetcher, demo)
        second = me(fetcher, demo, "/api/me")
    assert first["auth"] == second["auth"] == "app_token" and first["user"] is None
    assert runs.read_text().splitlines() == [demo.origin]  # one run: the second request used the kept output
    kept = open_store().secret_get("service-credential", f"{demo.origin} {demo.origin}")
    assert kept and kept.count(".") == 2
    # Kept in the store's vault (the file vault here), never in the index, the cache or a log line.
    data = agentfetch_home / "data"
    assert kept not in (data / "store.json").read_text()
    assert not (data / "cache.json").exists() or kept not in (data / "cache.json").read_text()
    assert kept in (data / "secrets.json").read_text()  # the file vault, as AGENTFETCH_STORE=file asks
    assert not any(kept in line for line in lines)
    assert any(line.startswith(f"credential: [[credentials]] #1 ({demo.origin}), command, as cf-access-token")
               for line in lines)
    # A new process (a new fetcher) reuses it too.
    with Fetcher(consent="deny") as fetcher:
        assert me(fetcher, demo)["auth"] == "app_token"
    assert len(runs.read_text().splitlines()) == 1


def test_an_environment_token_and_a_header_pair(demo, agentfetch_home, service_env, monkeypatch):
    import httpx

    jwt = httpx.get(demo.origin + "/access/token", headers=service_env.headers()).text.strip()
    monkeypatch.setenv("CI_ACCESS_TOKEN", jwt)
    monkeypatch.setenv("CI_CLIENT_ID", service_env.client_id)
    monkeypatch.setenv("CI_CLIENT_SECRET", service_env.client_secret)
    alias = demo.alias_url.rstrip("/")
    write_config(agentfetch_home, f'''
[[credentials]]
match = "{demo.origin}"
env = "CI_ACCESS_TOKEN"
header = "cf-access-token"

[[credentials]]
match = "{alias}"
headers = {{ "CF-Access-Client-Id" = "env:CI_CLIENT_ID", "CF-Access-Client-Secret" = "env:CI_CLIENT_SECRET" }}
''')
    with Fetcher(consent="deny") as fetcher:
        assert me(fetcher, demo)["auth"] == "app_token"
        created = fetcher.request("POST", alias + "/api/pages", json={"title": "By CI"})
        assert created.status == 201
    assert [(e["auth"], e["user"]) for e in demo.audit if e.get("event") == "page.created"] == [("service", None)]
    monkeypatch.delenv("CI_ACCESS_TOKEN")
    with Fetcher(consent="deny") as fetcher, pytest.raises(CredentialHelperError, match="CI_ACCESS_TOKEN is not set"):
        fetcher.request("GET", demo.origin + "/api/me")


@pytest.mark.parametrize(("code", "message"), [
    # The output is built at run time, so that only the output (not the configured command) holds the marker.
    ("import sys; sys.stderr.write('SEC' + 'RET-err'); print('SEC' + 'RET-out'); sys.exit(3)",
     "failed with exit status 3"),
    ("import time; time.sleep(60)", "did not answer within 1 s"),
    ("print('two\\nlines')", "printed no usable token"),
    ("pass", "printed no usable token"),
])
def test_a_failing_helper_is_named_never_quoted(demo, agentfetch_home, code, message):
    write_config(agentfetch_home, f'''
[[credentials]]
match = "{demo.origin}"
command = {toml_list([sys.executable, "-c", code])}
timeout = 1
''')
    with Fetcher(consent="deny") as fetcher, pytest.raises(CredentialHelperError, match=message) as caught:
        fetcher.request("GET", demo.origin + "/api/me")
    text = str(caught.value)
    assert "python" in text and "SECRET" not in text and caught.value.exit_code == 5
    assert demo.requests == []  # nothing was sent without the credential


def test_only_matching_origins_get_it_and_a_redirect_away_drops_it(demo, agentfetch_home, service_env, tmp_path,
                                                                   monkeypatch):
    runs = tmp_path / "runs.txt"
    monkeypatch.setenv("CLOUDFLARED_RUNS", str(runs))
    write_config(agentfetch_home, cloudflared_entry(demo.origin))
    with Fetcher(consent="deny") as fetcher:
        # /api/moved answers 307 to the other domain, which no pattern matches: it gets nothing.
        with pytest.raises(AuthorizationError):
            fetcher.fetch(demo.origin + "/api/moved/me")
    moved, arrived = [r for r in demo.requests if r.path.startswith("/api")][:2]
    assert (moved.path, moved.status, moved.client_id) == ("/api/moved/me", 307, demo.service_token.client_id)
    assert (arrived.path, arrived.status, arrived.client_id) == ("/api/me", 401, None)
    assert runs.read_text().splitlines() == [demo.origin]  # the helper ran for the matching origin only


def test_an_rfc9728_challenge_still_gets_the_oauth_flow(demo, agentfetch_home, monkeypatch, browser):
    monkeypatch.setenv("STALE_TOKEN", "not-a-valid-token")
    write_config(agentfetch_home, f'''
[[credentials]]
match = "{demo.origin}"
env = "STALE_TOKEN"
''')
    with Fetcher(consent="allow", open_browser=browser) as fetcher:
        identity = me(fetcher, demo)
    assert identity["auth"] == "bearer" and identity["user"] == "alice" and len(browser.opened) == 1
    # With the refused credential, then as OAuth starts (without it), then with the token just issued.
    assert [r.status for r in demo.requests if r.path == "/api/me"] == [401, 401, 200]


def test_longest_match_wins_and_config_errors_name_the_file_and_line(agentfetch_home):
    path = write_config(agentfetch_home, '''
[[credentials]]
match = "https://*.internal.example.com"
env = "WIDE"

[[credentials]]
match = "https://api.internal.example.com"
env = "NARROW"
''')
    found = load_credentials()
    assert best_match(found, "https://api.internal.example.com/x").env == "NARROW"
    assert best_match(found, "https://wiki.internal.example.com:443/").env == "WIDE"
    assert best_match(found, "https://internal.example.com/") is None
    assert best_match(found, "https://wiki.internal.example.com:8443/") is None
    assert best_match(found, "http://wiki.internal.example.com/") is None
    assert [c.line for c in found] == [2, 6]
    for text, message in [
        ("[[credentials]]\nmatch = 'https://a.example'\nenv = 'X'\ncolor = 'red'\n",
         rf"{path} line 1: \[\[credentials\]\] #1: unknown key\(s\) color"),
        ("[[credentials]]\nmatch = 'http://a.example'\nenv = 'X'\n", "line 1: .*never sent over plain http"),
        ("[[credentials]]\nmatch = 'https://a.example/path'\nenv = 'X'\n", "no path"),
        ("[[credentials]]\nmatch = 'https://a.example'\nenv = 'X'\ncommand = ['a']\n", "exactly one of"),
        ("[[credentials]]\nmatch = 'https://a.example'\nenv = 'X'\nttl = 5\n", "only apply to a command"),
        ("[[credentials]]\nmatch = 'https://a.example'\ncommand = ['a']\ntimeout = 0\n", "above 0"),
        ("[[credentials]]\nmatch = 'https://a.example'\nheaders = { 'Bad Name' = 'x' }\n", "headers must be"),
        ("[[credentials]]\nmatch = https://unquoted\n", rf"{path} is not valid TOML: .*line 2"),
    ]:
        write_config(agentfetch_home, text)
        with pytest.raises(UsageError, match=message):
            load_credentials()
