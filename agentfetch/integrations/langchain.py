"""agentfetch as a LangChain tool (sync and async).

>>> from agentfetch.integrations.langchain import fetch_tool
>>> agent = create_agent(model, tools=[fetch_tool(consent="allow")])      # doctest: +SKIP

A failed fetch raises LangChain's ``ToolException`` with the text a model can act on, and
``handle_tool_error`` is set, so the agent receives that text as an error ``ToolMessage``
(``status="error"``) instead of the run stopping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .spec import DISCOVER_APIS_NAME, HTTP_REQUEST_NAME, ToolSpec, resolve_spec

if TYPE_CHECKING:
    from langchain_core.tools import StructuredTool

    from ..api import AsyncFetcher, Fetcher

__all__ = ["discover_apis_tool", "fetch_tool", "http_request_tool"]


def fetch_tool(spec: ToolSpec | Fetcher | AsyncFetcher | None = None, /, **options: Any) -> StructuredTool:
    """A ``StructuredTool`` whose arguments schema is :data:`agentfetch.integrations.spec.PARAMETERS`.

    ``spec`` is a :class:`~agentfetch.integrations.spec.ToolSpec` or a fetcher; ``options`` go to
    :func:`~agentfetch.integrations.spec.tool_spec` (``consent="allow"``, ``timeout``...).
    """
    return _build(resolve_spec(spec, **options))


def _build(tool: ToolSpec) -> StructuredTool:
    from langchain_core.tools import StructuredTool, ToolException

    def run(**arguments: Any) -> str:
        return tool.invoke(arguments).raise_for_error(ToolException)

    async def arun(**arguments: Any) -> str:
        return (await tool.ainvoke(arguments)).raise_for_error(ToolException)

    return StructuredTool.from_function(
        func=run,
        coroutine=arun,
        name=tool.name,
        description=tool.description,
        args_schema=tool.parameters,
        infer_schema=False,
        handle_tool_error=True,
    )


def http_request_tool(spec: ToolSpec | Fetcher | AsyncFetcher | None = None, /, **options: Any) -> StructuredTool:
    """The ``http_request`` tool (a method, headers and a body, as the human), built as :func:`fetch_tool` is."""
    return _build(resolve_spec(spec, tool=HTTP_REQUEST_NAME, **options))


def discover_apis_tool(spec: ToolSpec | Fetcher | AsyncFetcher | None = None, /, **options: Any) -> StructuredTool:
    """The ``discover_apis`` tool (the APIs a host lists, RFC 9727), built as :func:`fetch_tool` is."""
    return _build(resolve_spec(spec, tool=DISCOVER_APIS_NAME, **options))
