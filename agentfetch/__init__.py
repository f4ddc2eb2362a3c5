"""agentfetch: fetch any page as clean Markdown, on behalf of the human.

The public surface is re-exported here; the modules behind it are private.
Names are resolved lazily so that ``import agentfetch`` costs almost nothing
and a cached fetch never loads the OAuth, store or conversion machinery it
does not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    AccessDenied,
    AgentFetchError,
    AuthorizationError,
    AuthorizationTimeout,
    CallbackMismatch,
    ClientIdentityError,
    ConsentDenied,
    ConsentRequired,
    CredentialHelperError,
    DocumentTooLarge,
    FetchTimeout,
    HTTPStatusError,
    InsecureTransport,
    InvalidDocument,
    MetadataMismatch,
    NetworkError,
    SecurityError,
    StoreError,
    UsageError,
)

if TYPE_CHECKING:
    from .api import (
        AsyncFetcher,
        Fetcher,
        FetchResult,
        afetch,
        arequest,
        fetch,
        request,
    )
    from .apis import ApiCatalog, adiscover_apis, discover_apis
    from .integrations.spec import tool_spec, tool_specs
    from .oauth import OAuth

__all__ = [
    "__version__",
    "fetch",
    "afetch",
    "Fetcher",
    "AsyncFetcher",
    "FetchResult",
    "request",
    "arequest",
    "discover_apis",
    "adiscover_apis",
    "ApiCatalog",
    "OAuth",
    "tool_spec",
    "tool_specs",
    "AgentFetchError",
    "UsageError",
    "NetworkError",
    "FetchTimeout",
    "HTTPStatusError",
    "AuthorizationError",
    "ConsentRequired",
    "ConsentDenied",
    "AccessDenied",
    "AuthorizationTimeout",
    "ClientIdentityError",
    "CredentialHelperError",
    "SecurityError",
    "MetadataMismatch",
    "InsecureTransport",
    "CallbackMismatch",
    "StoreError",
    "InvalidDocument",
    "DocumentTooLarge",
]

_LAZY = {
    "fetch": "api",
    "afetch": "api",
    "Fetcher": "api",
    "AsyncFetcher": "api",
    "FetchResult": "api",
    "request": "api",
    "arequest": "api",
    "discover_apis": "apis",
    "adiscover_apis": "apis",
    "ApiCatalog": "apis",
    "OAuth": "oauth",
    "tool_spec": "integrations.spec",
    "tool_specs": "integrations.spec",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'agentfetch' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
