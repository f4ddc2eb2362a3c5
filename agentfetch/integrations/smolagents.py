"""agentfetch as a smolagents tool (synchronous, as smolagents tools are).

>>> from smolagents import CodeAgent
>>> from agentfetch.integrations.smolagents import fetch_tool
>>> agent = CodeAgent(tools=[fetch_tool(consent="allow")], model=model)  # doctest: +SKIP

A failed fetch raises smolagents' own tool errors: ``AgentToolCallError`` for arguments
the model got wrong, ``AgentToolExecutionError`` for the rest. Their message is the text
a model can act on; the agent shows it to the model as the step's error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .spec import DISCOVER_APIS_NAME, HTTP_REQUEST_NAME, ToolSpec, resolve_spec

if TYPE_CHECKING:
    from smolagents import Tool  # type: ignore[import-untyped]  # smolagents ships no type information

    from ..api import AsyncFetcher, Fetcher

__all__ = ["discover_apis_tool", "fetch_tool", "http_request_tool"]


def fetch_tool(spec: ToolSpec | Fetcher | AsyncFetcher | None = None, /, **options: Any) -> Tool:
    """A ``smolagents.Tool`` whose ``inputs`` mirror the shared JSON schema.

    ``spec`` is a :class:`~agentfetch.integrations.spec.ToolSpec` or a fetcher; ``options`` go to
    :func:`~agentfetch.integrations.spec.tool_spec` (``consent="allow"``, ``timeout``...).
    """
    return _build(resolve_spec(spec, **options))


def _build(tool: ToolSpec) -> Tool:
    import smolagents  # type: ignore[import-untyped]
    from smolagents.monitoring import AgentLogger, LogLevel  # type: ignore[import-untyped]
    from smolagents.utils import AgentToolCallError, AgentToolExecutionError  # type: ignore[import-untyped]

    required = set(tool.parameters.get("required", ()))
    inputs: dict[str, dict[str, Any]] = {}
    for name, schema in tool.parameters["properties"].items():
        inputs[name] = {"type": schema["type"], "description": schema["description"]}
        if name not in required:
            inputs[name]["nullable"] = True
    # smolagents' errors log themselves as they are made; the agent that catches one logs it
    # again with its own logger, so this one stays quiet.
    quiet = AgentLogger(level=LogLevel.OFF)

    class AgentfetchTool(smolagents.Tool):
        # One forward for every agentfetch tool: the arguments are checked against the schema
        # by agentfetch itself, so smolagents need not match them to a signature.
        skip_forward_signature_validation = True

        def forward(self, **given: Any) -> str:
            arguments = {key: value for key, value in given.items() if value is not None}
            output = tool.invoke(arguments)
            if output.is_error:
                kind = AgentToolCallError if isinstance(output.error, UsageError) else AgentToolExecutionError
                raise kind(output.text, quiet) from output.error
            return output.text

    AgentfetchTool.name = tool.name
    AgentfetchTool.description = tool.description
    AgentfetchTool.inputs = inputs
    AgentfetchTool.output_type = "string"
    return AgentfetchTool()


def http_request_tool(spec: ToolSpec | Fetcher | AsyncFetcher | None = None, /, **options: Any) -> Tool:
    """The ``http_request`` tool (a method, headers and a body, as the human), built as :func:`fetch_tool` is."""
    return _build(resolve_spec(spec, tool=HTTP_REQUEST_NAME, **options))


def discover_apis_tool(spec: ToolSpec | Fetcher | AsyncFetcher | None = None, /, **options: Any) -> Tool:
    """The ``discover_apis`` tool (the APIs a host lists, RFC 9727), built as :func:`fetch_tool` is."""
    return _build(resolve_spec(spec, tool=DISCOVER_APIS_NAME, **options))
