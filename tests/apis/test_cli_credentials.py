"""Service credentials from the command line: ``-v`` names the one used, ``auth status`` lists them apart,
``agentfetch config`` masks secrets, a malformed config.toml names its file and line; the helper's output
reaches neither stdout nor stderr."""

from __future__ import annotations

import json

from apis_support import cloudflared_entry, run_cli, write_config


def test_a_helper_token_is_used_named_in_verbose_and_never_printed(demo, tmp_path):
    home = tmp_path / "home"
    service = demo.service_token
    env = {"TUNNEL_SERVICE_TOKEN_ID": service.client_id, "TUNNEL_SERVICE_TOKEN_SECRET": service.client_secret,
           "CI_SECRET": "literal-env-secret"}
    write_config(home, f'''
[issuers."https://login.example.com"]
client_id = "registered"
client_secret = "issuer-secret-value"

{cloudflared_entry(demo.origin, ttl=600)}
[[credentials]]
match = "https://ci.internal.example.com"
headers = {{ "CF-Access-Client-Id" = "ci-id-literal", "CF-Access-Client-Secret" = "env:CI_SECRET" }}
''')
    fetched = run_cli(demo.origin + "/api/me", "--json", "-v", "--consent", "deny", home=home, env=env)
    assert fetched.returncode == 0, fetched.stderr
    answer = json.loads(json.loads(fetched.stdout)["markdown"].removeprefix("```json\n").rsplit("```", 1)[0])
    assert answer["auth"] == "app_token" and answer["client_id"] == service.client_id
    assert f"credential: [[credentials]] #1 ({demo.origin}), command, as cf-access-token" in fetched.stderr
    token = run_cli("auth", "status", demo.url, "--json", home=home, env=env)
    assert token.returncode == 0, token.stderr
    status = json.loads(token.stdout)
    assert status["credentials"] == []  # no OAuth grant: the service credential is listed apart
    (row,) = status["service_credentials"]
    assert row["match"] == demo.origin and row["source"] == "command" and row["kept"] is True
    # The helper's token: kept in the store's vault, never on any output; its stderr line never shown.
    from agentfetch._credentials import STORE_NAMESPACE
    from agentfetch.store import open_store

    jwt = open_store(backend="file", home=home).secret_get(STORE_NAMESPACE, f"{demo.origin} {demo.origin}")
    assert jwt and jwt.count(".") == 2
    for output in (fetched.stdout, fetched.stderr, token.stdout, token.stderr):
        assert jwt not in output and "cloudflared: fetching" not in output
    assert jwt not in (home / "data" / "store.json").read_text()

    shown = run_cli("config", "--json", home=home, env=env)
    assert shown.returncode == 0, shown.stderr
    config = json.loads(shown.stdout)
    assert config["issuers"]["https://login.example.com"]["client_secret"] == "***"
    values = config["credentials"][1]["values"]
    assert values == {"CF-Access-Client-Id": "***", "CF-Access-Client-Secret": "env:CI_SECRET"}
    assert config["credentials"][0]["line"] == 6
    text = run_cli("config", home=home, env=env).stdout
    for secret in ("issuer-secret-value", "ci-id-literal", "literal-env-secret", service.client_secret):
        assert secret not in shown.stdout and secret not in text
    assert f"[[credentials]] #1 (line 6): match = {demo.origin}" in text


def test_a_malformed_config_names_the_file_and_line(demo, tmp_path):
    home = tmp_path / "home"
    path = write_config(home, f'[[credentials]]\nmatch = "{demo.origin}"\nenv = "X"\nheader = "no spaces allowed"\n')
    for args in ((demo.url,), ("config",), ("auth", "status")):
        proc = run_cli(*args, home=home)
        assert proc.returncode == 2, (args, proc.stderr)
        assert f"{path} line 1: [[credentials]] #1: header must be a header name" in proc.stderr
        assert "Traceback" not in proc.stderr
    write_config(home, "[[credentials]\nmatch = 1\n")
    broken = run_cli(demo.url, home=home)
    assert broken.returncode == 2 and f"{path} is not valid TOML" in broken.stderr and "line 1" in broken.stderr
