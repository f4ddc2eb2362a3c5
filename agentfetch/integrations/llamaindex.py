"""agentfetch as a LlamaIndex ``FunctionTool`` (sync and async).

>>> from llama_index.core.agent.workflow import FunctionAgent
>>> from agentfetch.integrations.llamaindex import fetch_tool
>>> agent = FunctionAgent(tools=[fetch_tool(consent="allow")], llm=llm)  # doctest: +SKIP

A failed fetch is a ``ToolOutput`` with ``is_error=True`` (and the error as its
``exception``), as LlamaIndex's agents mark a tool that raised; its content is the
text a model can act on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .spec import (
    DISCOVER_APIS_NAME,
    HTTP_REQUEST_NAME,
    ToolOutput,
    ToolSpec,
    resolve_spec,
)

if TYPE_CHECKING:
    from llama_index.core.tools import FunctionTool
    from pydantic import BaseModel

    from ..api import AsyncFetcher, Fetcher

__all__ = ["discover_apis_tool", "fetch_tool", "http_request_tool"]

_PYTHON_TYPES: dict[str, Any] = {"string": str, "integer": int, "boolean": bool, "object": dict[str, str]}


def _arguments_model(spec: ToolSpec) -> type[BaseModel]:
    """The JSON schema as a pydantic model: LlamaIndex describes tools with one."""
    from pydantic import Field, create_model

    required = set(spec.parameters.get("required", ()))
    fields: dict[str, Any] = {}
    for name, schema in spec.parameters["properties"].items():
        constraints = {"ge": schema["minimum"]} if "minimum" in schema else {}
        default = ... if name in required else schema.get("default")
        kind = _PYTHON_TYPES[schema["type"]]
        if default is None:
            kind = kind | None  # an optional argument without a default (headers, body)
        fields[name] = (kind, Field(default, description=schema["description"], **constraints))
    return create_model(spec.name.title().replace("_", "") + "Arguments", **fields)


def fetch_tool(spec: ToolSpec | Fetcher | AsyncFetcher | None = None, /, **options: Any) -> FunctionTool:
    """A ``FunctionTool`` with ``fn`` and ``async_fn``, described by the shared schema.

    ``spec`` is a :class:`~agentfetch.integrations.spec.ToolSpec` or a fetcher; ``options`` go to
    :func:`~agentfetch.integrations.spec.tool_spec` (``consent="allow"``, ``timeout``...).
    """
    return _build(resolve_spec(spec, **options))


def _build(tool: ToolSpec) -> FunctionTool:
    from llama_index.core.tools import FunctionTool
    from llama_index.core.tools import ToolOutput as LlamaOutput


    class AgentfetchTool(FunctionTool):
        # fn returns agentfetch's ToolOutput; the framework's answer is built from it here,
        # so that an error is marked as one.
        def call(self, *args: Any, **kwargs: Any) -> LlamaOutput:
            return _marked(super().call(*args, **kwargs))

        async def acall(self, *args: Any, **kwargs: Any) -> LlamaOutput:
            return _marked(await super().acall(*args, **kwargs))

    def _marked(answer: LlamaOutput) -> LlamaOutput:
        output = answer.raw_output
        if not isinstance(output, ToolOutput):
            return answer
        return LlamaOutput(
            tool_name=answer.tool_name,
            content=output.text,
            raw_input=answer.raw_input,
            raw_output=output.text,
            is_error=output.is_error,
            exception=output.error,
        )

    def run(**arguments: Any) -> ToolOutput:
        return tool.invoke(arguments)

    async def arun(**arguments: Any) -> ToolOutput:
        return await tool.ainvoke(arguments)

    return AgentfetchTool.from_defaults(
        fn=run, async_fn=arun, name=tool.name, description=tool.description, fn_schema=_arguments_model(tool)
    )


def http_request_tool(spec: ToolSpec | Fetcher | AsyncFetcher | None = None, /, **options: Any) -> FunctionTool:
    """The ``http_request`` tool (a method, headers and a body, as the human), built as :func:`fetch_tool` is."""
    return _build(resolve_spec(spec, tool=HTTP_REQUEST_NAME, **options))


def discover_apis_tool(spec: ToolSpec | Fetcher | AsyncFetcher | None = None, /, **options: Any) -> FunctionTool:
    """The ``discover_apis`` tool (the APIs a host lists, RFC 9727), built as :func:`fetch_tool` is."""
    return _build(resolve_spec(spec, tool=DISCOVER_APIS_NAME, **options))
