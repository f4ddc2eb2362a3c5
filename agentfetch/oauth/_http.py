"""The few HTTP request shapes OAuth needs, built as plain ``httpx.Request``s
so the sans-IO core can hand them to whichever client the caller uses."""

from __future__ import annotations

import json
from typing import Any

import httpx

from .._version import USER_AGENT

MAX_BODY = 1024 * 1024


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 §6)")


def json_body(response: httpx.Response) -> Any:
    """The response's JSON, or None when it is not JSON at all (servers send HTML
    error pages). ``NaN``/``Infinity`` are not JSON, and a document nested so
    deep that the decoder runs out of stack (``[[[[...``) is treated as none."""
    try:
        return json.loads(response.content, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def json_get(url: str) -> httpx.Request:
    return httpx.Request("GET", url, headers={"Accept": "application/json", "User-Agent": USER_AGENT})


def json_post(url: str, body: dict[str, Any]) -> httpx.Request:
    return httpx.Request(
        "POST",
        url,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json", "User-Agent": USER_AGENT},
    )


def form_request(url: str, form: dict[str, str], headers: dict[str, str] | None = None) -> httpx.Request:
    return httpx.Request(
        "POST",
        url,
        data=form,
        headers={"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})},
    )
