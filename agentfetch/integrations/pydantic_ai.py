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
from .spec import DISCOVER_APIS_NAME, HTTP_REQUEST_NAME, ToolSpec, resolve_spec

if TYPE_CHECKING:
    from pydantic_ai import Tool

    from ..api import AsyncFetcher, Fetcher

__all__ = ["discover_apis_tool", "fetch_tool", "http_request_tool"]


def fetch_tool(spec: ToolSpec | Fetcher | AsyncFetcher | None = None, /, **options: Any) -> Tool[Any]:
    """A ``pydantic_ai.Tool`` built from the shared JSON schema (``Tool.from_schema``).

    ``spec`` is a :class:`~agentfetch.integrations.spec.ToolSpec` or a fetcher; ``options`` go to
    :func:`~agentfetch.integrations.spec.tool_spec` (``consent="allow"``, ``timeout``...).
    """
    return _build(resolve_spec(spec, **options))


def _build(tool: ToolSpec) -> Tool[Any]:
    from pydantic_ai import ModelRetry, Tool

    async def fetch(**arguments: Any) -> str:
        output = await tool.ainvoke(arguments)
        if isinstance(output.error, UsageError):
            raise ModelRetry(output.text) from output.error
        return output.text

    return Tool.from_schema(fetch, name=tool.name, description=tool.description, json_schema=tool.parameters)


def http_request_tool(spec: ToolSpec | Fetcher | AsyncFetcher | None = None, /, **options: Any) -> Tool[Any]:
    """The ``http_request`` tool (a method, headers and a body, as the human), built as :func:`fetch_tool` is."""
    return _build(resolve_spec(spec, tool=HTTP_REQUEST_NAME, **options))


def discover_apis_tool(spec: ToolSpec | Fetcher | AsyncFetcher | None = None, /, **options: Any) -> Tool[Any]:
    """The ``discover_apis`` tool (the APIs a host lists, RFC 9727), built as :func:`fetch_tool` is."""
    return _build(resolve_spec(spec, tool=DISCOVER_APIS_NAME, **options))
