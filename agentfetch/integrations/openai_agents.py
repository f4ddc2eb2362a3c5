"""agentfetch as an OpenAI Agents SDK function tool.

>>> from agents import Agent
>>> from agentfetch.integrations.openai_agents import fetch_tool
>>> agent = Agent(name="reader", tools=[fetch_tool()])    # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .spec import ToolSpec, tool_spec

if TYPE_CHECKING:
    from agents import FunctionTool

__all__ = ["fetch_tool"]


def fetch_tool(spec: ToolSpec | None = None) -> FunctionTool:
    """A ``FunctionTool`` (what ``@function_tool`` builds) over the shared JSON schema.

    Not in strict mode: strict schemas make every argument required, and
    ``max_length``, ``start_index`` and ``raw`` have sensible defaults.
    """
    from agents import FunctionTool

    spec = spec or tool_spec()

    async def invoke(_context: Any, arguments_json: str) -> str:
        try:
            arguments = json.loads(arguments_json or "{}")
        except json.JSONDecodeError:
            arguments = None
        if not isinstance(arguments, dict):
            return "Error (usage): the arguments must be a JSON object"
        return (await spec.ainvoke(arguments)).text

    return FunctionTool(
        name=spec.name,
        description=spec.description,
        params_json_schema=spec.parameters,
        on_invoke_tool=invoke,
        strict_json_schema=False,
    )
