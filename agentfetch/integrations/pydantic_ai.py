"""agentfetch as a PydanticAI tool.

>>> from pydantic_ai import Agent
>>> from agentfetch.integrations.pydantic_ai import fetch_tool
>>> agent = Agent("openai:gpt-5", tools=[fetch_tool()])   # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .spec import ToolSpec, tool_spec

if TYPE_CHECKING:
    from pydantic_ai import Tool

__all__ = ["fetch_tool"]


def fetch_tool(spec: ToolSpec | None = None) -> Tool[Any]:
    """A ``pydantic_ai.Tool`` built from the shared JSON schema (``Tool.from_schema``)."""
    from pydantic_ai import Tool

    spec = spec or tool_spec()
    return Tool.from_schema(spec.arun, name=spec.name, description=spec.description, json_schema=spec.parameters)
