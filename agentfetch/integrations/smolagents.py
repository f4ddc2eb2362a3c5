"""agentfetch as a smolagents tool (synchronous, as smolagents tools are).

>>> from smolagents import CodeAgent
>>> from agentfetch.integrations.smolagents import fetch_tool
>>> agent = CodeAgent(tools=[fetch_tool()], model=model)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .spec import ToolSpec, tool_spec

if TYPE_CHECKING:
    from smolagents import Tool  # type: ignore[import-untyped]  # smolagents ships no type information

__all__ = ["fetch_tool"]


def fetch_tool(spec: ToolSpec | None = None) -> Tool:
    """A ``smolagents.Tool`` whose ``inputs`` mirror the shared JSON schema."""
    import smolagents

    tool = spec or tool_spec()
    required = set(tool.parameters.get("required", ()))
    inputs: dict[str, dict[str, Any]] = {}
    for name, schema in tool.parameters["properties"].items():
        inputs[name] = {"type": schema["type"], "description": schema["description"]}
        if name not in required:
            inputs[name]["nullable"] = True

    class AgentfetchTool(smolagents.Tool):
        # smolagents checks forward()'s parameters against ``inputs`` by name.
        def forward(self, url: str, max_length: int | None = None, start_index: int | None = None,
                    raw: bool | None = None) -> str:
            given = {"max_length": max_length, "start_index": start_index, "raw": raw}
            arguments = {"url": url, **{key: value for key, value in given.items() if value is not None}}
            return tool.invoke(arguments).text

    AgentfetchTool.name = tool.name
    AgentfetchTool.description = tool.description
    AgentfetchTool.inputs = inputs
    AgentfetchTool.output_type = "string"
    return AgentfetchTool()
