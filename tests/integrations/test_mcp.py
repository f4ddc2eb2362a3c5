"""``agentfetch mcp`` spoken to with the official MCP SDK's own stdio client."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from integration_support import Site, cli_markdown

mcp = pytest.importorskip("mcp", reason="the MCP SDK is not installed (pip install 'agentfetch[mcp]')")

from mcp import ClientSession, StdioServerParameters, stdio_client, types  # noqa: E402


@asynccontextmanager
async def mcp_session(
    command: str, args: list[str], env: dict[str, str], elicitation_callback: Any = None
) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=command, args=args, env=env)
    with open(Path(env["AGENTFETCH_HOME"]).parent / "mcp-server.stderr", "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write, elicitation_callback=elicitation_callback) as session:
                await session.initialize()
                yield session


def python_mcp(env: dict[str, str], **kwargs: Any) -> Any:
    return mcp_session(sys.executable, ["-m", "agentfetch", "mcp"], env, **kwargs)


def only_text(result: types.CallToolResult) -> str:
    assert len(result.content) == 1 and isinstance(result.content[0], types.TextContent)
    return result.content[0].text


def test_elicitation_modes_from_client_capabilities() -> None:
    from agentfetch.integrations.mcp_server import _supports

    class Context:
        def __init__(self, capabilities: types.ClientCapabilities | None) -> None:
            self.client_capabilities = capabilities

    def modes(elicitation: types.ElicitationCapability | None) -> tuple[bool, bool]:
        context: Any = Context(types.ClientCapabilities(elicitation=elicitation))
        return _supports(context, "form"), _supports(context, "url")

    assert modes(None) == (False, False)
    assert modes(types.ElicitationCapability()) == (True, False)  # pre-2025-11-25 clients: form only
    assert modes(types.ElicitationCapability(form=types.FormElicitationCapability())) == (True, False)
    assert modes(types.ElicitationCapability(url=types.UrlElicitationCapability())) == (False, True)
    both = types.ElicitationCapability(form=types.FormElicitationCapability(), url=types.UrlElicitationCapability())
    assert modes(both) == (True, True)
    assert _supports(Context(None), "form") is False  # type: ignore[arg-type]


async def test_lists_fetch_and_auth_status(host_env: dict[str, str]) -> None:
    async with python_mcp(host_env) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == {"fetch", "http_request", "discover_apis", "auth_status"}
    schema = tools["fetch"].input_schema
    assert schema["required"] == ["url"]
    assert schema["properties"]["max_length"]["default"] == 20000
    assert schema["properties"]["start_index"]["default"] == 0
    assert schema["properties"]["raw"]["default"] is False
    assert tools["fetch"].annotations is not None and tools["fetch"].annotations.read_only_hint


async def test_fetch_matches_the_cli_and_pages_like_it(site: Site, host_env: dict[str, str]) -> None:
    url = site.url("/article")
    async with python_mcp(host_env) as session:
        whole = await session.call_tool("fetch", {"url": url})
        first = await session.call_tool("fetch", {"url": url, "max_length": 500})
        text = only_text(first)
        start = int(text.rsplit("start_index=", 1)[1].split(" ", 1)[0])
        second = await session.call_tool("fetch", {"url": url, "max_length": 500, "start_index": start})
    assert not whole.is_error and not first.is_error and not second.is_error
    assert only_text(whole) == cli_markdown(url, host_env, "--max-length", "20000").rstrip("\n")
    assert text.startswith(cli_markdown(url, host_env, "--max-length", "500").rstrip("\n"))
    assert text.endswith(f"Call fetch again with start_index={start} to read on.]")
    expected_second = cli_markdown(url, host_env, "--max-length", "500", "--start-index", str(start))
    assert only_text(second).startswith(expected_second.rstrip("\n"))


async def test_fetch_declares_an_output_schema_and_returns_structured_content(
    site: Site, host_env: dict[str, str]
) -> None:
    from agentfetch.integrations.spec import RESULT_FIELDS

    url = site.url("/article")
    async with python_mcp(host_env) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        # The SDK's client checks structuredContent against the declared outputSchema.
        cut = await session.call_tool("fetch", {"url": url, "max_length": 500})
        whole = await session.call_tool("fetch", {"url": url})
    schema = tools["fetch"].output_schema
    assert schema is not None and schema["type"] == "object"
    assert set(schema["properties"]) == set(RESULT_FIELDS) == set(schema["required"])
    assert not cut.is_error and cut.structured_content is not None
    data = cut.structured_content
    assert data["url"] == data["final_url"] == url and data["status"] == 200
    assert data["title"] == "Loopback article" and data["content_type"].startswith("text/html")
    assert data["truncated"] is True and isinstance(data["next_start_index"], int) and data["tokens"] > 0
    # Beside it, the Markdown text as before.
    assert only_text(cut).startswith("# Loopback article")
    assert only_text(cut).endswith(f"start_index={data['next_start_index']} to read on.]")
    assert whole.structured_content is not None
    assert whole.structured_content["truncated"] is False and whole.structured_content["next_start_index"] is None


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"max_length": 0}, "Error (usage): max_length must be at least 1"),
        ({"start_index": -1}, "Error (usage): start_index must be at least 0"),
        ({"start_index": "three"}, "Error (usage): start_index must be an integer"),
        ({"raw": "yes"}, "Error (usage): raw must be true or false"),
        ({"bogus": 1}, "Error (usage): unknown argument(s): bogus"),
    ],
)
async def test_invalid_arguments_get_a_clear_tool_error(
    site: Site, host_env: dict[str, str], arguments: dict[str, Any], expected: str
) -> None:
    async with python_mcp(host_env) as session:
        result = await session.call_tool("fetch", {"url": site.url("/article"), **arguments})
        missing = await session.call_tool("fetch", {})
    assert result.is_error and result.structured_content is None
    assert only_text(result) == expected
    assert only_text(missing) == "Error (usage): the url argument is required"
    for text in (only_text(result), only_text(missing)):
        assert "pydantic" not in text and "validation error" not in text


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_started_by_hand_it_says_what_it_is_and_quits_on_the_first_ctrl_c(host_env: dict[str, str]) -> None:
    import os
    import pty
    import select

    pid, terminal = pty.fork()
    if pid == 0:  # the child: agentfetch mcp with the terminal as stdin, stdout and stderr
        os.execve(sys.executable, [sys.executable, "-m", "agentfetch", "mcp"], host_env)
    seen, interrupted, status = b"", False, None
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([terminal], [], [], 0.1)
            if ready:
                try:
                    seen += os.read(terminal, 4096)
                except OSError:
                    pass
            if not interrupted and b"Ctrl-C" in seen:
                os.write(terminal, b"\x03")  # the terminal turns it into SIGINT, as a person's Ctrl-C
                interrupted = True
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(code)
                break
    finally:
        if status is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(terminal)
    text = seen.decode(errors="replace")
    assert "MCP server on stdio" in text and "waiting for an MCP host" in text, text
    assert interrupted and status == 130, (status, text)
    assert "Traceback" not in text


@pytest.mark.parametrize("url", ["not a url", "file:///etc/passwd"])
async def test_bad_url_is_an_error_result(host_env: dict[str, str], url: str) -> None:
    async with python_mcp(host_env) as session:
        result = await session.call_tool("fetch", {"url": url})
    assert result.is_error
    assert only_text(result).startswith("Error (usage)")


async def test_http_error_is_an_error_result(site: Site, host_env: dict[str, str]) -> None:
    async with python_mcp(host_env) as session:
        result = await session.call_tool("fetch", {"url": site.url("/nothing-here")})
    assert result.is_error and "404" in only_text(result)


def cli_auth_status(env: dict[str, str]) -> dict[str, Any]:
    import json
    import subprocess

    done = subprocess.run([sys.executable, "-m", "agentfetch", "auth", "status", "--json"],
                          env=env, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


async def test_auth_status_with_an_empty_store(host_env: dict[str, str]) -> None:
    import json

    async with python_mcp(host_env) as session:
        result = await session.call_tool("auth_status", {})
    assert not result.is_error
    assert json.loads(only_text(result)) == {"credentials": [], "service_credentials": []} == cli_auth_status(host_env)


# --- protected pages: need the demo app (tests/conftest.py) and the OAuth client


def demo_protected_url(demo: Any) -> str:
    return demo.url


def demo_browser(env: dict[str, str]) -> dict[str, str]:
    """BROWSER for the OAuth flow: the demo's scripted user agent, which signs in and follows the redirect."""
    env = dict(env)
    # In the background ("&"): the sign-in ends on the loopback listener, which
    # only answers once the browser command has returned.
    env["BROWSER"] = f"{sys.executable} -m agentfetch.demo.useragent --user alice %s &"
    return env


async def test_protected_page_with_pre_approved_consent(demo_or_skip: Any, host_env: dict[str, str]) -> None:
    env = demo_browser(host_env) | {"AGENTFETCH_CONSENT": "allow"}
    # A browser that talks on stdout must not corrupt the JSON-RPC stream.
    useragent = f"{sys.executable} -m agentfetch.demo.useragent --user alice"
    env["BROWSER"] = f"sh -c 'echo browser noise on stdout; exec {useragent} \"$0\"' %s &"
    url = demo_protected_url(demo_or_skip)
    async with python_mcp(env) as session:
        result = await session.call_tool("fetch", {"url": url})
        status = await session.call_tool("auth_status", {})
    assert not result.is_error, only_text(result)
    assert only_text(result).strip()
    # The noise was written, and went to the server's stderr instead of the wire.
    assert "browser noise on stdout" in (Path(env["AGENTFETCH_HOME"]).parent / "mcp-server.stderr").read_text()
    assert not status.is_error
    import json

    (row,) = json.loads(only_text(status))["credentials"]
    assert row["resource"] == demo_or_skip.resource
    assert json.loads(only_text(status)) == cli_auth_status(env)
    # The sign-in is stored, and auth_status never shows its secrets.
    from agentfetch.store import open_store

    (credential,) = open_store(backend="file", home=Path(env["AGENTFETCH_HOME"])).list()
    assert credential.tokens.access_token not in only_text(status)
    assert credential.tokens.refresh_token is None or credential.tokens.refresh_token not in only_text(status)


async def test_protected_page_without_any_way_to_ask_is_a_prompt_error(
    demo_or_skip: Any, host_env: dict[str, str]
) -> None:
    url = demo_protected_url(demo_or_skip)
    began = time.monotonic()
    async with python_mcp(demo_browser(host_env)) as session:
        result = await session.call_tool("fetch", {"url": url})
    assert result.is_error
    assert f"agentfetch auth login {url}" in only_text(result)
    assert time.monotonic() - began < 60, "must answer at once, not wait for a sign-in nobody sees"


async def test_consent_and_sign_in_page_through_elicitation(demo_or_skip: Any, host_env: dict[str, str]) -> None:
    import subprocess

    url = demo_protected_url(demo_or_skip)
    asked: list[str] = []
    browsers: list[subprocess.Popen[bytes]] = []

    async def elicit(context: Any, params: Any) -> types.ElicitResult:
        if params.mode == "url":
            asked.append("url")
            # The human opens the page (in the background: the sign-in ends on the
            # server's loopback listener, which answers once this elicitation does).
            useragent = [sys.executable, "-m", "agentfetch.demo.useragent", "--user", "alice", params.url]
            browsers.append(subprocess.Popen(useragent, env=host_env))
            return types.ElicitResult(action="accept")
        asked.append("form")
        assert "Allow agentfetch to access 127.0.0.1" in params.message
        assert f"resource: {demo_or_skip.resource}" in params.message
        return types.ElicitResult(action="accept", content={"allow": True})

    async with python_mcp(host_env, elicitation_callback=elicit) as session:
        result = await session.call_tool("fetch", {"url": url})
    for browser in browsers:
        assert browser.wait(timeout=30) == 0
    assert not result.is_error, only_text(result)
    assert asked == ["form", "url"]


async def test_declined_consent_is_an_error_result(demo_or_skip: Any, host_env: dict[str, str]) -> None:
    async def decline(context: Any, params: Any) -> types.ElicitResult:
        return types.ElicitResult(action="decline")

    async with python_mcp(host_env, elicitation_callback=decline) as session:
        result = await session.call_tool("fetch", {"url": demo_protected_url(demo_or_skip)})
    assert result.is_error
    assert "Error (consent_denied)" in only_text(result)


async def test_declined_sign_in_page_ends_within_the_auth_timeout(demo_or_skip: Any, host_env: dict[str, str]) -> None:
    async def approve_then_decline_the_page(context: Any, params: Any) -> types.ElicitResult:
        if params.mode == "url":
            return types.ElicitResult(action="decline")
        return types.ElicitResult(action="accept", content={"allow": True})

    began = time.monotonic()
    server = mcp_session(sys.executable, ["-m", "agentfetch", "mcp", "--auth-timeout", "5"], host_env,
                         elicitation_callback=approve_then_decline_the_page)
    async with server as session:
        result = await session.call_tool("fetch", {"url": demo_protected_url(demo_or_skip)})
    assert result.is_error
    assert only_text(result).startswith(("Error (consent_denied)", "Error (authorization_timeout)"))
    assert time.monotonic() - began < 30


async def test_a_client_that_fails_its_elicitation_gets_the_login_command(
    demo_or_skip: Any, host_env: dict[str, str]
) -> None:
    async def broken(context: Any, params: Any) -> types.ErrorData:
        return types.ErrorData(code=types.INTERNAL_ERROR, message="no UI available")

    url = demo_protected_url(demo_or_skip)
    async with python_mcp(host_env, elicitation_callback=broken) as session:
        result = await session.call_tool("fetch", {"url": url})
    assert result.is_error
    assert only_text(result).startswith("Error (consent_required)")
    assert "agentfetch auth login" in only_text(result)
