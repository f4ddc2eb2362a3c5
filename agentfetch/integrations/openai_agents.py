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

from .spec import ToolCallError, ToolSpec, resolve_spec

if TYPE_CHECKING:
    from agents import FunctionTool, RunContextWrapper

    from ..api import AsyncFetcher, Fetcher

__all__ = ["failure_text", "fetch_tool"]

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
    from agents import function_tool

    tool = resolve_spec(spec, **options)

    # Loose annotations: the arguments are checked by agentfetch against the schema the model
    # sees (one rule, one message), not by a second model derived from this signature.
    async def fetch(url: Any = None, max_length: Any = None, start_index: Any = None, raw: Any = None) -> str:
        given = {"url": url, "max_length": max_length, "start_index": start_index, "raw": raw}
        arguments = {name: value for name, value in given.items() if value is not None}
        return (await tool.ainvoke(arguments)).raise_for_error()

    built = function_tool(
        fetch,
        name_override=tool.name,
        description_override=tool.description,
        use_docstring_info=False,
        failure_error_function=failure_text if failure_error_function is _DEFAULT else failure_error_function,
        strict_mode=False,
    )
    built.params_json_schema = tool.parameters
    return built
