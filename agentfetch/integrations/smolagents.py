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
from .spec import ToolSpec, resolve_spec

if TYPE_CHECKING:
    from smolagents import Tool  # type: ignore[import-untyped]  # smolagents ships no type information

    from ..api import AsyncFetcher, Fetcher

__all__ = ["fetch_tool"]


def fetch_tool(spec: ToolSpec | Fetcher | AsyncFetcher | None = None, /, **options: Any) -> Tool:
    """A ``smolagents.Tool`` whose ``inputs`` mirror the shared JSON schema.

    ``spec`` is a :class:`~agentfetch.integrations.spec.ToolSpec` or a fetcher; ``options`` go to
    :func:`~agentfetch.integrations.spec.tool_spec` (``consent="allow"``, ``timeout``...).
    """
    import smolagents  # type: ignore[import-untyped]
    from smolagents.monitoring import AgentLogger, LogLevel  # type: ignore[import-untyped]
    from smolagents.utils import AgentToolCallError, AgentToolExecutionError  # type: ignore[import-untyped]

    tool = resolve_spec(spec, **options)
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
        # smolagents checks forward()'s parameters against ``inputs`` by name.
        def forward(self, url: str, max_length: int | None = None, start_index: int | None = None,
                    raw: bool | None = None) -> str:
            given = {"max_length": max_length, "start_index": start_index, "raw": raw}
            arguments = {"url": url, **{key: value for key, value in given.items() if value is not None}}
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
