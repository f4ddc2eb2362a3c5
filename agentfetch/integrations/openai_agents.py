"""agentfetch as an OpenAI Agents SDK function tool.

>>> from agents import Agent
>>> from agentfetch.integrations.openai_agents import fetch_tool
>>> agent = Agent(name="reader", tools=[fetch_tool(consent="allow")])    # doctest: +SKIP

The tool is built with the SDK's own ``function_tool``, so a failed fetch goes through its
``failure_error_function``: by default one that hands the model agentfetch's error text
(what went wrong and what to do next); ``failure_error_function=None`` makes the run raise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .spec import (
    DISCOVER_APIS_NAME,
    HTTP_REQUEST_NAME,
    ToolCallError,
    ToolSpec,
    resolve_spec,
)

if TYPE_CHECKING:
    from agents import FunctionTool, RunContextWrapper

    from ..api import AsyncFetcher, Fetcher

__all__ = ["discover_apis_tool", "failure_text", "fetch_tool", "http_request_tool"]

_DEFAULT: Any = object()


def failure_text(context: RunContextWrapper[Any], error: Exception) -> str:
    """The default ``failure_error_function``: agentfetch's errors as the model should read them,
    arguments the SDK could not parse as a usage error, anything else as the SDK's default says."""
    from agents import default_tool_error_function
    from agents.exceptions import ModelBehaviorError

    if isinstance(error, ToolCallError):
        return str(error)
    if isinstance(error, ModelBehaviorError):
        return f"Error (usage): {error}"
    return default_tool_error_function(context, error)


def fetch_tool(
    spec: ToolSpec | Fetcher | AsyncFetcher | None = None,
    /,
    *,
    failure_error_function: Any = _DEFAULT,
    **options: Any,
) -> FunctionTool:
    """A ``FunctionTool`` (``function_tool`` over the shared JSON schema).

    ``spec`` is a :class:`~agentfetch.integrations.spec.ToolSpec` or a fetcher; ``options`` go to
    :func:`~agentfetch.integrations.spec.tool_spec` (``consent="allow"``, ``timeout``...).
    ``failure_error_function`` is the SDK's: ``None`` raises instead of answering the model.

    Not in strict mode: strict schemas make every argument required, and
    ``max_length``, ``start_index`` and ``raw`` have sensible defaults.
    """
    return _build(resolve_spec(spec, **options), failure_error_function)


def _build(tool: ToolSpec, failure_error_function: Any = _DEFAULT) -> FunctionTool:
    import inspect

    from agents import function_tool

    names = list(tool.parameters["properties"])

    # Loose annotations: the arguments are checked by agentfetch against the schema the model
    # sees (one rule, one message), not by a second model derived from this signature.
    async def call(**given: Any) -> str:
        arguments = {name: value for name, value in given.items() if value is not None}
        return (await tool.ainvoke(arguments)).raise_for_error()

    call.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Any) for name in names],
        return_annotation=str,
    )
    call.__annotations__ = {name: Any for name in names} | {"return": str}
    built = function_tool(
        call,
        name_override=tool.name,
        description_override=tool.description,
        use_docstring_info=False,
        failure_error_function=failure_text if failure_error_function is _DEFAULT else failure_error_function,
        strict_mode=False,
    )
    built.params_json_schema = tool.parameters
    return built


def http_request_tool(
    spec: ToolSpec | Fetcher | AsyncFetcher | None = None,
    /,
    *,
    failure_error_function: Any = _DEFAULT,
    **options: Any,
) -> FunctionTool:
    """The ``http_request`` tool (a method, headers and a body, as the human), built as :func:`fetch_tool` is."""
    return _build(resolve_spec(spec, tool=HTTP_REQUEST_NAME, **options), failure_error_function)


def discover_apis_tool(
    spec: ToolSpec | Fetcher | AsyncFetcher | None = None,
    /,
    *,
    failure_error_function: Any = _DEFAULT,
    **options: Any,
) -> FunctionTool:
    """The ``discover_apis`` tool (the APIs a host lists, RFC 9727), built as :func:`fetch_tool` is."""
    return _build(resolve_spec(spec, tool=DISCOVER_APIS_NAME, **options), failure_error_function)
