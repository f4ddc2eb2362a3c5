"""agentfetch as a PydanticAI tool.

>>> from pydantic_ai import Agent
>>> from agentfetch.integrations.pydantic_ai import fetch_tool
>>> agent = Agent("openai:gpt-5", tools=[fetch_tool(consent="allow")])   # doctest: +SKIP

Arguments the model got wrong (a bad URL, ``max_length: 0``) raise ``ModelRetry``, so the
model is asked to call again with that message: a retry can fix them. Any other failure
(a 404, a denied sign-in) is returned as the tool's answer, naming the next step; retrying
the same call would not change it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .spec import ToolSpec, resolve_spec

if TYPE_CHECKING:
    from pydantic_ai import Tool

    from ..api import AsyncFetcher, Fetcher

__all__ = ["fetch_tool"]


def fetch_tool(spec: ToolSpec | Fetcher | AsyncFetcher | None = None, /, **options: Any) -> Tool[Any]:
    """A ``pydantic_ai.Tool`` built from the shared JSON schema (``Tool.from_schema``).

    ``spec`` is a :class:`~agentfetch.integrations.spec.ToolSpec` or a fetcher; ``options`` go to
    :func:`~agentfetch.integrations.spec.tool_spec` (``consent="allow"``, ``timeout``...).
    """
    from pydantic_ai import ModelRetry, Tool

    tool = resolve_spec(spec, **options)

    async def fetch(**arguments: Any) -> str:
        output = await tool.ainvoke(arguments)
        if isinstance(output.error, UsageError):
            raise ModelRetry(output.text) from output.error
        return output.text

    return Tool.from_schema(fetch, name=tool.name, description=tool.description, json_schema=tool.parameters)
