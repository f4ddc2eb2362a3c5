"""Each Python agent framework accepts the tool (its own schema API) and a call
through the framework returns the page as Markdown from a loopback site."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from integration_support import Site

from agentfetch.integrations.spec import PARAMETERS, tool_spec

EXPECTED_PROPERTIES = set(PARAMETERS["properties"])


def assert_page(text: str) -> None:
    assert "# Loopback article" in text
    assert "Paragraph number 0 " in text


def test_adapters_do_not_import_frameworks_until_used() -> None:
    import subprocess

    code = (
        "import sys\n"
        "import agentfetch.integrations.langchain, agentfetch.integrations.openai_agents\n"
        "import agentfetch.integrations.pydantic_ai, agentfetch.integrations.smolagents\n"
        "import agentfetch.integrations.llamaindex, agentfetch.integrations.mcp_server\n"
        "heavy = {'langchain_core', 'agents', 'pydantic_ai', 'smolagents', 'llama_index', 'mcp', 'httpx'}\n"
        "print(sorted(heavy & {name.split('.')[0] for name in sys.modules}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- LangChain


def test_langchain_tool(site: Site) -> None:
    pytest.importorskip(
        "langchain_core", reason="langchain-core is not installed (pip install 'agentfetch[langchain]')"
    )
    from langchain_core.utils.function_calling import convert_to_openai_tool

    from agentfetch.integrations.langchain import fetch_tool

    tool = fetch_tool()
    function = convert_to_openai_tool(tool)["function"]
    assert function["name"] == "fetch"
    assert set(function["parameters"]["properties"]) == EXPECTED_PROPERTIES
    assert function["parameters"]["required"] == ["url"]

    assert_page(tool.invoke({"url": site.url("/article")}))
    cut = tool.invoke({"url": site.url("/article"), "max_length": 400})
    assert "Call fetch again with start_index=" in cut
    # A tool call as a model makes it: the ToolMessage carries the Markdown.
    message = tool.invoke({"type": "tool_call", "id": "call-1", "name": "fetch", "args": {"url": site.url("/article")}})
    assert message.tool_call_id == "call-1"
    assert_page(message.content)


async def test_langchain_tool_async(site: Site) -> None:
    pytest.importorskip(
        "langchain_core", reason="langchain-core is not installed (pip install 'agentfetch[langchain]')"
    )
    from agentfetch.integrations.langchain import fetch_tool

    assert_page(await fetch_tool().ainvoke({"url": site.url("/article")}))
    error = await fetch_tool().ainvoke({"url": "not a url"})
    assert error.startswith("Error (usage)")


# --- OpenAI Agents SDK


async def test_openai_agents_tool(site: Site) -> None:
    pytest.importorskip("agents", reason="openai-agents is not installed (pip install 'agentfetch[openai-agents]')")
    from agents import FunctionTool
    from agents.tool_context import ToolContext

    from agentfetch.integrations.openai_agents import fetch_tool

    tool = fetch_tool()
    assert isinstance(tool, FunctionTool)
    assert tool.name == "fetch"
    assert set(tool.params_json_schema["properties"]) == EXPECTED_PROPERTIES
    assert tool.strict_json_schema is False

    arguments = json.dumps({"url": site.url("/article")})
    context = ToolContext(context=None, tool_name="fetch", tool_call_id="call-1", tool_arguments=arguments)
    assert_page(await tool.on_invoke_tool(context, arguments))
    bad = await tool.on_invoke_tool(context, "[1, 2]")
    assert bad.startswith("Error (usage)")


# --- PydanticAI


async def test_pydantic_ai_tool_called_by_an_agent(site: Site) -> None:
    pytest.importorskip(
        "pydantic_ai", reason="pydantic-ai-slim is not installed (pip install 'agentfetch[pydantic-ai]')"
    )
    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    from agentfetch.integrations.pydantic_ai import fetch_tool

    seen_tools: list[Any] = []

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        seen_tools.extend(info.function_tools)
        returns = [part for message in messages for part in message.parts if isinstance(part, ToolReturnPart)]
        if not returns:
            return ModelResponse(parts=[ToolCallPart("fetch", {"url": site.url("/article"), "max_length": 5000})])
        return ModelResponse(parts=[TextPart(returns[-1].model_response_str())])

    agent = Agent(FunctionModel(model), tools=[fetch_tool()])
    result = await agent.run("Read the loopback article")
    assert_page(result.output)
    definition = seen_tools[0]
    assert definition.name == "fetch"
    assert set(definition.parameters_json_schema["properties"]) == EXPECTED_PROPERTIES


# --- smolagents


def test_smolagents_tool(site: Site) -> None:
    pytest.importorskip("smolagents", reason="smolagents is not installed (pip install 'agentfetch[smolagents]')")
    from smolagents import Tool
    from smolagents.models import get_tool_json_schema

    from agentfetch.integrations.smolagents import fetch_tool

    tool = fetch_tool()
    assert isinstance(tool, Tool)
    schema = get_tool_json_schema(tool)["function"]
    assert schema["name"] == "fetch"
    assert set(schema["parameters"]["properties"]) == EXPECTED_PROPERTIES
    assert schema["parameters"]["required"] == ["url"]

    assert_page(tool(url=site.url("/article")))
    assert "start_index=" in tool(url=site.url("/article"), max_length=300)
    # A code agent calls tools with keyword arguments; a dict of them works too.
    assert_page(tool({"url": site.url("/article"), "start_index": 0}))


# --- LlamaIndex


async def test_llamaindex_tool(site: Site) -> None:
    pytest.importorskip(
        "llama_index.core", reason="llama-index-core is not installed (pip install 'agentfetch[llamaindex]')"
    )
    from agentfetch.integrations.llamaindex import fetch_tool

    tool = fetch_tool()
    function = tool.metadata.to_openai_tool()["function"]
    assert function["name"] == "fetch"
    assert set(function["parameters"]["properties"]) == EXPECTED_PROPERTIES
    assert function["parameters"]["required"] == ["url"]

    assert_page(tool.call(url=site.url("/article")).content)
    output = await tool.acall(url=site.url("/article"), max_length=300)
    assert "start_index=" in output.content


def test_custom_spec_name_reaches_every_framework() -> None:
    spec = tool_spec(name="web_fetch")
    built = []
    for module, package in [
        ("langchain", "langchain_core"),
        ("openai_agents", "agents"),
        ("pydantic_ai", "pydantic_ai"),
        ("smolagents", "smolagents"),
        ("llamaindex", "llama_index.core"),
    ]:
        try:
            __import__(package)
        except ImportError:
            continue
        adapter = __import__(f"agentfetch.integrations.{module}", fromlist=["fetch_tool"])
        tool = adapter.fetch_tool(spec)
        name = tool.metadata.name if module == "llamaindex" else tool.name
        built.append((module, name))
    if not built:
        pytest.skip("no agent framework is installed")
    assert all(name == "web_fetch" for _, name in built), built
