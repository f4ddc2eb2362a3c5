"""A compact summary of an OpenAPI 3.x description, for an agent about to call the API.

Servers first, then one row per operation: method, path, summary, parameters,
request body type and the scopes its ``security`` requires. Only local
``$ref`` (``#/components/...``) are followed; YAML is read with PyYAML's safe
loader, imported only when a YAML description is met.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from ..errors import InvalidDocument

__all__ = ["ApiDescription", "Operation", "parse_description", "summarize"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: Properties named in a request body's summary; the rest are counted.
_MAX_PROPERTIES = 12


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str | None
    operation_id: str | None
    #: ``"slug (path, required): string"``-style descriptions.
    parameters: tuple[str, ...]
    #: ``"application/json PageInput {title*, slug, summary}"``, or ``None`` without a body.
    request_body: str | None
    #: Alternatives (any one suffices), each a list of ``scheme: scope scope`` requirements; ``()`` is public.
    security: tuple[str, ...]
    deprecated: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "path": self.path,
            "summary": self.summary,
            "operation_id": self.operation_id,
            "parameters": list(self.parameters),
            "request_body": self.request_body,
            "security": list(self.security),
            "deprecated": self.deprecated,
        }


@dataclass(frozen=True)
class ApiDescription:
    openapi: str
    title: str | None
    version: str | None
    servers: tuple[str, ...]
    operations: tuple[Operation, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        return {
            "openapi": self.openapi,
            "title": self.title,
            "version": self.version,
            "servers": list(self.servers),
            "operations": [op.to_dict() for op in self.operations],
        }

    def to_markdown(self) -> str:
        head = " ".join(filter(None, [self.title or "API", self.version and f"v{self.version}"]))
        lines = [f"**{_cell(head)}** (OpenAPI {self.openapi})", ""]
        servers = ", ".join(f"`{url}`" for url in self.servers)
        lines.append("Servers: " + (servers or "none given (relative to the description)"))
        lines += ["", "| method | path | summary | parameters | request body | scopes |", "|---|---|---|---|---|---|"]
        for op in self.operations:
            summary = (op.summary or op.operation_id or "") + (" (deprecated)" if op.deprecated else "")
            lines.append("| " + " | ".join([
                op.method.upper(), f"`{_cell(op.path)}`", _cell(summary), _cell("; ".join(op.parameters)),
                _cell(op.request_body or ""), _cell(" or ".join(op.security) if op.security else "none"),
            ]) + " |")
        if not self.operations:
            lines.append("| | | (no operations) | | | |")
        return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _load(body: bytes, content_type: str | None) -> Any:
    media = (content_type or "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidDocument("the description is not UTF-8") from None
    if "json" in media or (not any(k in media for k in ("yaml", "yml", "vnd.oai.openapi")) and
                           text.lstrip().startswith("{")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidDocument(f"the description is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    import yaml  # type: ignore[import-untyped]  # PyYAML, a dependency; imported only for YAML descriptions

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # a safe loader: plain data, no Python objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise InvalidDocument(f"the description is not valid YAML ({problem}{where})") from None


class _Resolver:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def __call__(self, node: Any, depth: int = 0) -> Any:
        """``node`` with local ``$ref`` chains followed (at most 20 deep, so a cycle ends)."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < 20:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                return node  # a reference to another document: named, not fetched
            target: Any = self.document
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    return node
                target = target[part]
            node, depth = target, depth + 1
        return node


def _ref_name(node: Any) -> str | None:
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        return node["$ref"].rsplit("/", 1)[-1]
    return None


def _schema_type(schema: Any, resolve: _Resolver) -> str:
    name = _ref_name(schema)
    schema = resolve(schema)
    if not isinstance(schema, dict):
        return name or "any"
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = "|".join(str(k) for k in kind)
    if kind == "array":
        return f"array of {_schema_type(schema.get('items'), resolve)}"
    return name or (str(kind) if kind else "object" if "properties" in schema else "any")


def _parameter(param: Any, resolve: _Resolver) -> tuple[tuple[str, str], str] | None:
    param = resolve(param)
    if not isinstance(param, dict) or not isinstance(param.get("name"), str):
        return None
    where = str(param.get("in", "?"))
    flags = [where] + (["required"] if param.get("required") else [])
    text = f"{param['name']} ({', '.join(flags)})"
    if "schema" in param:
        text += f": {_schema_type(param['schema'], resolve)}"
    return (param["name"], where), text


def _request_body(body: Any, resolve: _Resolver) -> str | None:
    body = resolve(body)
    if not isinstance(body, dict):
        return None
    content = body.get("content")
    if not isinstance(content, dict) or not content:
        return "body" if body else None
    parts = []
    for media, spec in content.items():
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if schema is None:
            parts.append(str(media))
            continue
        text = f"{media} {_schema_type(schema, resolve)}"
        resolved = resolve(schema)
        if isinstance(resolved, dict) and isinstance(resolved.get("properties"), dict):
            required = set(resolved.get("required") or ())
            names = [f"{name}*" if name in required else str(name) for name in resolved["properties"]]
            more = len(names) - _MAX_PROPERTIES
            text += " {" + ", ".join(names[:_MAX_PROPERTIES]) + (f", +{more} more" if more > 0 else "") + "}"
        parts.append(text)
    if body.get("required"):
        parts[0] += " (required)"
    return "; ".join(parts)


def _security(requirements: Any) -> tuple[str, ...]:
    """OpenAPI security requirements: a list of alternatives, each ``{scheme: [scopes]}``."""
    if not isinstance(requirements, list):
        return ()
    alternatives = []
    for requirement in requirements:
        if not isinstance(requirement, dict):
            continue
        if not requirement:
            alternatives.append("none")  # {} in the list: anonymous access is one alternative
            continue
        alternatives.append(" + ".join(
            f"{scheme}: {' '.join(map(str, scopes))}" if scopes else str(scheme)
            for scheme, scopes in requirement.items()
            if isinstance(scopes, list)
        ))
    return tuple(alternatives)


def summarize(document: Any, base: str | None = None) -> ApiDescription:
    """The summary of a parsed OpenAPI 3.x document; :class:`InvalidDocument` for anything else.

    ``base`` is the description's URL: relative server URLs are resolved against it, and a
    description without servers is served from ``/`` there (OpenAPI 3.x, Server Object)."""
    if not isinstance(document, dict):
        raise InvalidDocument("the description is not an object")
    version = document.get("openapi")
    if not isinstance(version, str) or not version.startswith("3."):
        found = f"swagger {document['swagger']}" if "swagger" in document else f"openapi {version!r}"
        raise InvalidDocument(f"not an OpenAPI 3.x description ({found})")
    paths = document.get("paths")
    paths = {} if paths is None else paths
    if not isinstance(paths, dict):
        raise InvalidDocument('"paths" must be an object')
    resolve = _Resolver(document)
    info: dict[str, Any] = document["info"] if isinstance(document.get("info"), dict) else {}
    servers = tuple(str(s["url"]) for s in document.get("servers") or () if isinstance(s, dict) and "url" in s)
    if base is not None:
        servers = tuple(urljoin(base, url) for url in servers or ("/",))
    default_security = _security(document.get("security"))
    operations = []
    for path, item in paths.items():
        item = resolve(item)
        if not isinstance(item, dict):
            continue
        shared = [p for p in (_parameter(x, resolve) for x in item.get("parameters") or ()) if p]
        for method in _METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params = dict(shared)  # an operation's parameter overrides the path's by (name, in)
            params |= dict(p for p in (_parameter(x, resolve) for x in op.get("parameters") or ()) if p)
            security = _security(op["security"]) if "security" in op else default_security
            operations.append(Operation(
                method=method,
                path=str(path),
                summary=op.get("summary") if isinstance(op.get("summary"), str) else None,
                operation_id=op.get("operationId") if isinstance(op.get("operationId"), str) else None,
                parameters=tuple(params.values()),
                request_body=_request_body(op.get("requestBody"), resolve),
                security=() if security == ("none",) else security,
                deprecated=bool(op.get("deprecated")),
            ))
    return ApiDescription(
        openapi=version,
        title=info.get("title") if isinstance(info.get("title"), str) else None,
        version=str(info["version"]) if info.get("version") is not None else None,
        servers=servers,
        operations=tuple(operations),
    )


def parse_description(body: bytes, content_type: str | None, base: str | None = None) -> ApiDescription:
    """Parse an OpenAPI 3.x description in JSON or YAML and summarise it."""
    return summarize(_load(body, content_type), base)
