"""agentfetch as a LlamaIndex ``FunctionTool`` (sync and async).

>>> from llama_index.core.agent.workflow import FunctionAgent
>>> from agentfetch.integrations.llamaindex import fetch_tool
>>> agent = FunctionAgent(tools=[fetch_tool()], llm=llm)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .spec import ToolSpec, tool_spec

if TYPE_CHECKING:
    from llama_index.core.tools import FunctionTool
    from pydantic import BaseModel

__all__ = ["fetch_tool"]

_PYTHON_TYPES: dict[str, type] = {"string": str, "integer": int, "boolean": bool}


def _arguments_model(spec: ToolSpec) -> type[BaseModel]:
    """The JSON schema as a pydantic model: LlamaIndex describes tools with one."""
    from pydantic import Field, create_model

    required = set(spec.parameters.get("required", ()))
    fields: dict[str, Any] = {}
    for name, schema in spec.parameters["properties"].items():
        constraints = {"ge": schema["minimum"]} if "minimum" in schema else {}
        default = ... if name in required else schema.get("default")
        fields[name] = (_PYTHON_TYPES[schema["type"]], Field(default, description=schema["description"], **constraints))
    return create_model("FetchArguments", **fields)


def fetch_tool(spec: ToolSpec | None = None) -> FunctionTool:
    """A ``FunctionTool`` with ``fn`` and ``async_fn``, described by the shared schema."""
    from llama_index.core.tools import FunctionTool

    spec = spec or tool_spec()
    return FunctionTool.from_defaults(
        fn=spec.run, async_fn=spec.arun, name=spec.name, description=spec.description, fn_schema=_arguments_model(spec)
    )
