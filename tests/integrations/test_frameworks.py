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


def test_langchain_failure_is_a_tool_exception_handled_as_an_error_message(site: Site) -> None:
    pytest.importorskip(
        "langchain_core", reason="langchain-core is not installed (pip install 'agentfetch[langchain]')"
    )
    from langchain_core.tools import ToolException

    from agentfetch.integrations.langchain import fetch_tool

    tool = fetch_tool()
    assert tool.handle_tool_error is True
    call = {"type": "tool_call", "id": "call-2", "name": "fetch", "args": {"url": site.url("/missing")}}
    message = tool.invoke(call)
    assert message.status == "error" and message.tool_call_id == "call-2"
    assert message.content.startswith("Error (http_status)") and "404" in message.content
    # Without the handler, the framework's own exception type comes out.
    tool.handle_tool_error = False
    with pytest.raises(ToolException, match="max_length must be at least 1"):
        tool.invoke({"url": site.url("/article"), "max_length": 0})


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


def scripted_model(arguments: dict[str, Any]) -> Any:
    """An OpenAI Agents ``Model`` that calls fetch with ``arguments``, then answers with the
    tool output it received: the SDK's runner does everything in between."""
    from agents.items import ModelResponse
    from agents.models.interface import Model
    from agents.usage import Usage
    from openai.types.responses import (
        ResponseFunctionToolCall,
        ResponseOutputMessage,
        ResponseOutputText,
    )

    class Scripted(Model):
        async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> Any:
            items = input if isinstance(input, list) else []
            outputs = [item["output"] for item in items
                       if isinstance(item, dict) and item.get("type") == "function_call_output"]
            if not outputs:
                call = ResponseFunctionToolCall(type="function_call", call_id="call-1", name="fetch",
                                                arguments=json.dumps(arguments), id="fc-1", status="completed")
                return ModelResponse(output=[call], usage=Usage(), response_id=None)
            text = ResponseOutputText(type="output_text", text=str(outputs[-1]), annotations=[])
            message = ResponseOutputMessage(type="message", id="msg-1", role="assistant", status="completed",
                                            content=[text])
            return ModelResponse(output=[message], usage=Usage(), response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    return Scripted()


async def test_openai_agents_failure_goes_through_the_failure_function(site: Site) -> None:
    pytest.importorskip("agents", reason="openai-agents is not installed (pip install 'agentfetch[openai-agents]')")
    from agents import Agent, RunConfig, Runner
    from agents.exceptions import UserError

    from agentfetch.integrations.openai_agents import fetch_tool
    from agentfetch.integrations.spec import ToolCallError

    offline = RunConfig(tracing_disabled=True)
    model = scripted_model({"url": site.url("/missing")})
    result = await Runner.run(Agent(name="reader", model=model, tools=[fetch_tool()]), "read it", run_config=offline)
    assert result.final_output.startswith("Error (http_status)") and "404" in result.final_output

    seen: list[Exception] = []

    def mine(context: Any, error: Exception) -> str:
        seen.append(error)
        return "custom failure text"

    model = scripted_model({"url": site.url("/article"), "max_length": 0})
    agent = Agent(name="reader", model=model, tools=[fetch_tool(failure_error_function=mine)])
    result = await Runner.run(agent, "go", run_config=offline)
    assert result.final_output == "custom failure text"
    assert isinstance(seen[0], ToolCallError) and "max_length must be at least 1" in str(seen[0])

    # None: the SDK's convention for "raise instead of telling the model".
    model = scripted_model({"url": "not a url"})
    agent = Agent(name="reader", model=model, tools=[fetch_tool(failure_error_function=None)])
    with pytest.raises(UserError) as raised:
        await Runner.run(agent, "go", run_config=offline)
    assert isinstance(raised.value.__cause__, ToolCallError)
    assert str(raised.value.__cause__).startswith("Error (usage)")


# --- PydanticAI


async def test_pydantic_ai_tool_called_by_an_agent(site: Site) -> None:
    pytest.importorskip(
        "pydantic_ai", reason="pydantic-ai-slim is not installed (pip install 'agentfetch[pydantic-ai]')"
    )
    from pydantic_ai import Agent
    from pydantic_ai.messages import (
        ModelMessage,
        ModelResponse,
        TextPart,
        ToolCallPart,
        ToolReturnPart,
    )
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


async def test_pydantic_ai_retries_bad_arguments_and_returns_other_errors(site: Site) -> None:
    pytest.importorskip(
        "pydantic_ai", reason="pydantic-ai-slim is not installed (pip install 'agentfetch[pydantic-ai]')"
    )
    from pydantic_ai import Agent
    from pydantic_ai.messages import (
        ModelMessage,
        ModelResponse,
        TextPart,
        ToolCallPart,
        ToolReturnPart,
    )
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    from agentfetch.integrations.pydantic_ai import fetch_tool

    calls = [{"url": "not a url"}, {"url": site.url("/missing")}]
    returns: list[ToolReturnPart] = []

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        parts = [part for message in messages for part in message.parts]
        returns[:] = [part for part in parts if isinstance(part, ToolReturnPart)]
        if returns and returns[-1].outcome != "retried":
            return ModelResponse(parts=[TextPart(str(returns[-1].content))])
        return ModelResponse(parts=[ToolCallPart("fetch", calls[len(returns)])])

    result = await Agent(FunctionModel(model), tools=[fetch_tool()]).run("read it")
    retried, answered = returns
    # A bad URL is the model's to fix: the call is marked for a retry, with the reason.
    assert retried.outcome == "retried" and "Error (usage): not an absolute http(s) URL" in str(retried.content)
    # A 404 does not change on a retry: it is the tool's answer.
    assert answered.outcome == "success"
    assert result.output.startswith("Error (http_status)") and "404" in result.output


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


def test_smolagents_failures_raise_its_tool_errors(site: Site) -> None:
    pytest.importorskip("smolagents", reason="smolagents is not installed (pip install 'agentfetch[smolagents]')")
    from smolagents import ToolCallingAgent
    from smolagents.models import (
        ChatMessage,
        ChatMessageToolCall,
        ChatMessageToolCallFunction,
        Model,
    )
    from smolagents.utils import AgentToolCallError, AgentToolExecutionError

    from agentfetch.integrations.smolagents import fetch_tool

    tool = fetch_tool()
    with pytest.raises(AgentToolCallError, match="max_length must be at least 1"):
        tool(url=site.url("/article"), max_length=0)
    with pytest.raises(AgentToolExecutionError, match="Error \\(http_status\\).*404"):
        tool(url=site.url("/missing"))

    class Scripted(Model):
        """Calls fetch on a missing page, then gives as its final answer what the tool said."""

        def generate(self, messages: list[Any], **kwargs: Any) -> ChatMessage:
            texts = [str(m.content) for m in messages]
            if not any("Error (http_status)" in text for text in texts):
                call = ChatMessageToolCall(id="call-1", type="function", function=ChatMessageToolCallFunction(
                    name="fetch", arguments={"url": site.url("/missing")}))
                return ChatMessage(role="assistant", content="", tool_calls=[call])
            seen = next(text for text in texts if "Error (http_status)" in text)
            call = ChatMessageToolCall(id="call-2", type="function", function=ChatMessageToolCallFunction(
                name="final_answer", arguments={"answer": seen}))
            return ChatMessage(role="assistant", content="", tool_calls=[call])

    agent = ToolCallingAgent(tools=[tool], model=Scripted(model_id="scripted"), max_steps=3, verbosity_level=0)
    answer = str(agent.run("read it"))
    # The agent turned the raised error into the step's error, which the model read.
    assert "AgentToolExecutionError" in answer and "404" in answer


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
    assert not output.is_error


async def test_llamaindex_failure_is_marked_is_error(site: Site) -> None:
    pytest.importorskip(
        "llama_index.core", reason="llama-index-core is not installed (pip install 'agentfetch[llamaindex]')"
    )
    from llama_index.core.tools import ToolSelection
    from llama_index.core.tools.calling import (
        acall_tool_with_selection,
        call_tool_with_selection,
    )

    from agentfetch.errors import HTTPStatusError, UsageError
    from agentfetch.integrations.llamaindex import fetch_tool

    tool = fetch_tool()
    # The way LlamaIndex's agents call a tool the model selected.
    missing = ToolSelection(tool_id="call-1", tool_name="fetch", tool_kwargs={"url": site.url("/missing")})
    output = call_tool_with_selection(missing, [tool])
    assert output.is_error and output.content.startswith("Error (http_status)") and "404" in output.content
    assert isinstance(output.exception, HTTPStatusError)
    bad = ToolSelection(tool_id="call-2", tool_name="fetch", tool_kwargs={"url": "not a url"})
    output = await acall_tool_with_selection(bad, [tool])
    assert output.is_error and output.content.startswith("Error (usage)")
    assert isinstance(output.exception, UsageError)
    good = ToolSelection(tool_id="call-3", tool_name="fetch", tool_kwargs={"url": site.url("/article")})
    output = await acall_tool_with_selection(good, [tool])
    assert not output.is_error and output.raw_output == output.content
    assert_page(output.content)


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


# --- every adapter: options straight into fetch_tool(), hints in the SDK's terms


def _call_through(module: str, tool: Any, url: str) -> str:
    """One call as each framework makes it; the text the model would read."""
    if module == "langchain":
        return str(tool.invoke({"type": "tool_call", "id": "c", "name": "fetch", "args": {"url": url}}).content)
    if module == "llamaindex":
        return tool.call(url=url).content
    if module == "smolagents":
        try:
            return tool(url=url)
        except Exception as error:  # noqa: BLE001 - smolagents' tool errors carry the text
            return str(error)
    if module == "openai_agents":
        import asyncio

        from agents.tool_context import ToolContext

        arguments = json.dumps({"url": url})
        context = ToolContext(context=None, tool_name="fetch", tool_call_id="c", tool_arguments=arguments)
        return str(asyncio.run(tool.on_invoke_tool(context, arguments)))
    if module == "pydantic_ai":
        import asyncio

        return str(asyncio.run(tool.function(url=url)))
    raise AssertionError(module)


ADAPTERS = [("langchain", "langchain_core"), ("llamaindex", "llama_index.core"), ("smolagents", "smolagents"),
            ("openai_agents", "agents"), ("pydantic_ai", "pydantic_ai")]


@pytest.mark.parametrize(("module", "package"), ADAPTERS)
def test_fetch_tool_takes_fetcher_options_directly(
    module: str, package: str, demo_or_skip: Any, agentfetch_home: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip(package, reason=f"{package} is not installed")
    from agentfetch.demo.useragent import ScriptedBrowser

    monkeypatch.delenv("AGENTFETCH_CONSENT", raising=False)
    adapter = __import__(f"agentfetch.integrations.{module}", fromlist=["fetch_tool"])
    url = demo_or_skip.url + "pages/oncall"

    # Nobody to ask (no terminal): the hint names the tool's option, not the CLI's flag.
    refused = _call_through(module, adapter.fetch_tool(), url)
    assert "Error (consent_required)" in refused
    assert 'consent="allow"' in refused and "--consent" not in refused
    assert f"agentfetch auth login {url}" in refused

    browser = ScriptedBrowser()
    answer = _call_through(module, adapter.fetch_tool(consent="allow", open_browser=browser), url)
    assert "On-call rotation" in answer and not browser.errors
    assert len(browser.codes) == 1

    with pytest.raises(Exception, match="either a ToolSpec or tool_spec"):
        adapter.fetch_tool(tool_spec(), consent="allow")
