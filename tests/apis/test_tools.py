"""The ``http_request`` and ``discover_apis`` tools: tool_spec(), the MCP server and each framework adapter,
against the demo app on loopback."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from agentfetch.demo.useragent import browser_command
from agentfetch.integrations.spec import (
    DISCOVER_APIS_PARAMETERS,
    HTTP_REQUEST_PARAMETERS,
    UsageError,
    tool_spec,
    tool_specs,
)

REPO = Path(__file__).resolve().parents[2]


def test_the_three_tools_and_their_schemas():
    specs = {spec.name: spec for spec in tool_specs()}
    assert list(specs) == ["fetch", "http_request", "discover_apis"]
    assert specs["http_request"].parameters == HTTP_REQUEST_PARAMETERS
    assert specs["http_request"].parameters["properties"]["headers"]["type"] == "object"
    assert specs["discover_apis"].parameters == DISCOVER_APIS_PARAMETERS
    assert specs["http_request"].openai_tool()["function"]["parameters"]["required"] == ["method", "url"]
    assert "as the human" in specs["http_request"].description
    with pytest.raises(UsageError, match="unknown tool"):
        tool_spec(tool="delete_everything")


def test_http_request_through_the_spec(demo, fetcher):
    spec = tool_spec(fetcher, tool="http_request")
    created = spec.invoke({"method": "POST", "url": demo.origin + "/api/pages",
                           "body": json.dumps({"title": "Tool page", "markdown": "made by a tool"})})
    assert not created.is_error, created.text
    assert created.text.startswith("HTTP 201 Created\ncontent-type: application/json\n")
    assert f"location: {demo.origin}/api/pages/tool-page" in created.text and "```json" in created.text
    data = created.structured()
    assert data["method"] == "POST" and data["status"] == 201 and data["headers"]["location"].endswith("/tool-page")
    conflict = spec.invoke({"method": "PUT", "url": demo.origin + "/api/pages/deploy", "body": '{"title": "x"}'})
    assert conflict.is_error and conflict.text.startswith("HTTP 409 Conflict") and '"read_only"' in conflict.text
    assert conflict.error.exit_code == 4
    # A plain-text body that is not JSON keeps the caller's Content-Type decision: none, so the API says 415.
    form = spec.invoke({"method": "POST", "url": demo.origin + "/api/pages", "body": "title=x"})
    assert form.is_error and form.text.startswith("HTTP 415")
    for arguments, message in [
        ({"url": demo.origin}, "the method argument is required"),
        ({"method": "GET", "url": demo.origin, "headers": {"a": 1}}, "headers must be an object of strings"),
        ({"method": "GET", "url": demo.origin, "body": 3}, "body must be a string"),
    ]:
        bad = spec.invoke(arguments)
        assert bad.is_error and bad.text.startswith(f"Error (usage): {message}"), bad.text
    assert [e["user"] for e in demo.audit if e.get("event") == "page.created"] == ["alice"]


def test_discover_apis_through_the_spec_pages_like_fetch(demo, fetcher):
    spec = tool_spec(fetcher, tool="discover_apis")
    listed = spec.invoke({"url": demo.url, "describe": True})
    assert not listed.is_error, listed.text
    assert "| POST | `/pages` | Create a page |" in listed.text
    assert listed.structured()["apis"][0]["anchor"] == demo.origin + "/api"
    cut = spec.invoke({"url": demo.url, "describe": True, "max_length": 300})
    assert "Call discover_apis again with start_index=" in cut.text
    failed = tool_spec(tool="discover_apis", auth=False).invoke({"url": demo.url})
    assert failed.is_error and failed.text.startswith("Error (authorization)")
    assert f"agentfetch auth login {demo.url}" in failed.text


# --- the MCP server


@asynccontextmanager
async def mcp_session(env: dict[str, str]) -> AsyncIterator[Any]:
    from mcp import ClientSession, StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "agentfetch", "mcp"], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@pytest.fixture
def mcp_env(tmp_path: Path) -> dict[str, str]:
    pytest.importorskip("mcp", reason="the MCP SDK is not installed (pip install 'agentfetch[mcp]')")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(AGENTFETCH_HOME=str(tmp_path / "home"), AGENTFETCH_STORE="file", AGENTFETCH_CONSENT="allow",
               BROWSER=browser_command(username="alice", background=True))
    return env


async def test_mcp_annotations_then_discover_and_write(demo, mcp_env):
    async with mcp_session(mcp_env) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        request = tools["http_request"].annotations
        assert request.destructive_hint is True and request.read_only_hint is False
        assert request.idempotent_hint is False
        assert tools["discover_apis"].annotations.read_only_hint is True
        assert tools["fetch"].annotations.read_only_hint is True
        assert tools["http_request"].input_schema["required"] == ["method", "url"]

        listed = await session.call_tool("discover_apis", {"url": demo.url, "describe": True})
        assert not listed.is_error, listed.content[0].text
        assert "| POST | `/pages` | Create a page |" in listed.content[0].text
        created = await session.call_tool("http_request", {
            "method": "POST", "url": demo.origin + "/api/pages", "body": json.dumps({"title": "MCP page"})})
        assert not created.is_error, created.content[0].text
        assert created.content[0].text.startswith("HTTP 201 Created")
        back = await session.call_tool("http_request", {"method": "GET", "url": demo.origin + "/api/pages/mcp-page"})
        assert '"author": "alice"' in back.content[0].text
        missing = await session.call_tool("http_request", {"url": demo.origin})
        assert missing.is_error and missing.content[0].text == "Error (usage): the method argument is required"
    writes = [e for e in demo.audit if e.get("event") == "page.created"]
    assert [(e["user"], e["method"]) for e in writes] == [("alice", "POST")]


# --- the framework adapters


FRAMEWORKS = {
    "langchain": "langchain_core",
    "openai_agents": "agents",
    "pydantic_ai": "pydantic_ai",
    "smolagents": "smolagents",
    "llamaindex": "llama_index.core",
}


async def call_adapter(framework: str, tool: Any, arguments: dict[str, Any]) -> str:
    """One call through the framework's own tool interface."""
    if framework == "langchain":
        return str(await tool.ainvoke(arguments))
    if framework == "openai_agents":
        from agents.tool_context import ToolContext

        text = json.dumps(arguments)
        context = ToolContext(context=None, tool_name=tool.name, tool_call_id="call-1", tool_arguments=text)
        return str(await tool.on_invoke_tool(context, text))
    if framework == "pydantic_ai":
        return str(await tool.function(**arguments))
    if framework == "smolagents":
        return str(tool(**arguments))
    return str((await tool.acall(**arguments)).content)


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
async def test_each_framework_gets_the_two_tools(framework, demo, fetcher):
    pytest.importorskip(FRAMEWORKS[framework], reason=f"{framework} is not installed (agentfetch[integrations])")
    import importlib

    module = importlib.import_module(f"agentfetch.integrations.{framework}")
    request_tool = module.http_request_tool(fetcher)
    discover_tool = module.discover_apis_tool(fetcher)
    names = [getattr(t, "name", None) or t.metadata.name for t in (request_tool, discover_tool)]
    assert names == ["http_request", "discover_apis"]
    listed = await call_adapter(framework, discover_tool, {"url": demo.url})
    assert f"| {demo.origin}/api | Acme Internal Wiki API |" in listed
    body = json.dumps({"title": f"From {framework}"})
    created = await call_adapter(framework, request_tool, {"method": "POST", "url": demo.origin + "/api/pages",
                                                           "body": body})
    assert created.startswith("HTTP 201 Created"), created
    slug = "from-" + framework.replace("_", "-")
    assert fetcher.request("GET", f"{demo.origin}/api/pages/{slug}").status == 200
