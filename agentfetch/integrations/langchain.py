"""agentfetch as a LangChain tool (sync and async).

>>> from agentfetch.integrations.langchain import fetch_tool
>>> agent = create_agent(model, tools=[fetch_tool()])      # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .spec import ToolSpec, tool_spec

if TYPE_CHECKING:
    from langchain_core.tools import StructuredTool

__all__ = ["fetch_tool"]


def fetch_tool(spec: ToolSpec | None = None) -> StructuredTool:
    """A ``StructuredTool`` whose arguments schema is :data:`agentfetch.integrations.spec.PARAMETERS`."""
    from langchain_core.tools import StructuredTool

    spec = spec or tool_spec()
    return StructuredTool.from_function(
        func=spec.run,
        coroutine=spec.arun,
        name=spec.name,
        description=spec.description,
        args_schema=spec.parameters,
        infer_schema=False,
    )
