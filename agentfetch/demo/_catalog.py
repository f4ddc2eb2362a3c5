"""The demo's API descriptions and its RFC 9727 API catalogs.

Two APIs: the wiki's REST API (OpenAPI 3.1, JSON) and a people directory
(OpenAPI 3.0, YAML) listed in a nested catalog. The host's catalog at
``/.well-known/api-catalog`` answers ``application/linkset+json`` or the
``application/linkset`` text form by content negotiation (RFC 9264 §4); the
directory's catalog speaks only the text form, as a team's own server might.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._http import Response, json_response, negotiate, text_response

CATALOG_PATH = "/.well-known/api-catalog"
DIRECTORY_PATH = "/directory"
DIRECTORY_CATALOG_PATH = DIRECTORY_PATH + "/api-catalog"
#: RFC 9727 §5.2: the profile that marks a linkset as an API catalog.
PROFILE = "https://www.rfc-editor.org/info/rfc9727"
LINKSET_JSON = "application/linkset+json"
LINKSET_TEXT = "application/linkset"
API_CATALOG_LINK = f'<{CATALOG_PATH}>; rel="api-catalog"'

#: The people the directory lists (the demo users, and one who never signs in).
PEOPLE = (
    {"user": "alice", "name": "Alice Liddell", "team": "platform", "role": "admin"},
    {"user": "bob", "name": "Bob Builder", "team": "platform", "role": "engineer"},
    {"user": "carol", "name": "Carol Danvers", "team": "billing", "role": "engineer"},
)

_FLOW_SCOPES = {
    "read": "Read the wiki's pages and API",
    "write": "Create, change and delete pages through the API",
    "admin": "Administer the wiki",
}


def _oauth_scheme(endpoints: dict[str, str]) -> dict[str, object]:
    return {
        "type": "oauth2",
        "flows": {
            "authorizationCode": {
                "authorizationUrl": endpoints["authorization_endpoint"],
                "tokenUrl": endpoints["token_endpoint"],
                "refreshUrl": endpoints["token_endpoint"],
                "scopes": dict(_FLOW_SCOPES),
            }
        },
    }


def _json_body(schema: Mapping[str, object], description: str) -> dict[str, object]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document(origin: str, endpoints: dict[str, str]) -> dict[str, object]:
    """The wiki API's OpenAPI 3.1 description: reads need ``read``, writes ``write``."""
    page = {"$ref": "#/components/schemas/Page"}
    page_input = {"$ref": "#/components/schemas/PageInput"}
    slug = {"name": "slug", "in": "path", "required": True, "description": "The page's identifier",
            "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"}}
    write = [{"oauth": ["write"]}]
    error = _json_body({"$ref": "#/components/schemas/Error"}, "An error")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Acme Internal Wiki API", "version": "1.1.0"},
        "servers": [{"url": f"{origin}/api"}],
        "security": [{"oauth": ["read"]}],
        "components": {
            "schemas": {
                "Page": {
                    "type": "object",
                    "required": ["slug", "title", "url"],
                    "properties": {
                        "slug": {"type": "string"},
                        "title": {"type": "string"},
                        "summary": {"type": "string"},
                        "url": {"type": "string", "format": "uri"},
                        "markdown": {"type": "string"},
                        "author": {"type": ["string", "null"]},
                        "builtin": {"type": "boolean"},
                    },
                },
                "PageInput": {
                    "type": "object",
                    "required": ["title"],
                    "properties": {
                        "slug": {"type": "string", "description": "Derived from the title when absent"},
                        "title": {"type": "string", "maxLength": 200},
                        "summary": {"type": "string", "maxLength": 500},
                        "markdown": {"type": "string"},
                    },
                },
                "Error": {"type": "object", "properties": {"error": {"type": "string"},
                                                            "error_description": {"type": "string"}}},
            },
            "securitySchemes": {"oauth": _oauth_scheme(endpoints)},
        },
        "paths": {
            "/pages": {
                "get": {
                    "operationId": "listPages",
                    "summary": "List the wiki's pages",
                    "responses": {"200": _json_body(
                        {"type": "object", "properties": {"pages": {"type": "array", "items": page}}}, "The pages")},
                },
                "post": {
                    "operationId": "createPage",
                    "summary": "Create a page",
                    "security": write,
                    "requestBody": {"required": True, "content": {"application/json": {"schema": page_input}}},
                    "responses": {"201": _json_body(page, "The new page"), "400": error, "409": error},
                },
            },
            "/pages/{slug}": {
                "parameters": [slug],
                "get": {
                    "operationId": "getPage",
                    "summary": "One page with its Markdown",
                    "responses": {"200": _json_body(page, "The page"), "404": error},
                },
                "put": {
                    "operationId": "updatePage",
                    "summary": "Replace a page's title, summary and Markdown",
                    "security": write,
                    "requestBody": {"required": True, "content": {"application/json": {"schema": page_input}}},
                    "responses": {"200": _json_body(page, "The page as stored"), "404": error, "409": error},
                },
                "delete": {
                    "operationId": "deletePage",
                    "summary": "Delete a page",
                    "security": write,
                    "responses": {"204": {"description": "Deleted"}, "404": error, "409": error},
                },
            },
            "/me": {
                "get": {
                    "operationId": "whoAmI",
                    "summary": "The user and client behind the credentials used",
                    "responses": {"200": _json_body({"type": "object"}, "Identity")},
                }
            },
        },
    }


def directory_openapi_yaml(origin: str, endpoints: dict[str, str], *, malformed: bool = False) -> str:
    """The directory's OpenAPI 3.0 description, written as YAML by hand (as people do)."""
    if malformed:
        return "openapi: 3.0.3\ninfo: {title: Acme People Directory\npaths:\n  /people: [get\n"
    return f"""openapi: 3.0.3
info:
  title: Acme People Directory
  version: "2.1.0"
  description: Who works here, by team.
servers:
  - url: {origin}{DIRECTORY_PATH}
    description: The directory behind the access proxy
security:
  - oauth: [read]
paths:
  /people:
    get:
      operationId: listPeople
      summary: Everyone in the directory
      parameters:
        - name: team
          in: query
          required: false
          description: Only this team
          schema:
            type: string
      responses:
        "200":
          description: The people
          content:
            application/json:
              schema:
                type: object
  /people/{{user}}:
    get:
      operationId: getPerson
      summary: One person
      parameters:
        - name: user
          in: path
          required: true
          schema:
            type: string
      responses:
        "200":
          description: The person
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Person"
        "404":
          description: Nobody by that name
components:
  schemas:
    Person:
      type: object
      properties:
        user: {{type: string}}
        name: {{type: string}}
        team: {{type: string}}
        role: {{type: string}}
  securitySchemes:
    oauth:
      type: oauth2
      flows:
        authorizationCode:
          authorizationUrl: {endpoints["authorization_endpoint"]}
          tokenUrl: {endpoints["token_endpoint"]}
          scopes:
            read: Read the directory
"""


# -- catalogs (RFC 9727 §4, RFC 9264) -----------------------------------------------------------


def host_catalog(origin: str, prm_api_url: str) -> dict[str, object]:
    """The host's catalog: the wiki API with its description, and the directory's nested catalog."""
    return {
        "linkset": [
            {
                "anchor": f"{origin}/api",
                "service-desc": [{"href": f"{origin}/api/openapi.json",
                                  "type": "application/vnd.oai.openapi+json;version=3.1"}],
                "service-doc": [{"href": f"{origin}/pages/api", "type": "text/html", "title": "Wiki API"}],
                "status": [{"href": f"{origin}/healthz", "type": "text/plain"}],
                "service-meta": [{"href": prm_api_url, "type": "application/json",
                                  "title": "OAuth protected resource metadata"}],
                "item": [{"href": f"{origin}/api/pages"}, {"href": f"{origin}/api/me"}],
            },
            {
                "anchor": origin + CATALOG_PATH,
                "item": [{"href": f"{origin}/api", "title": "Acme Internal Wiki API"}],
                "api-catalog": [{"href": origin + DIRECTORY_CATALOG_PATH, "type": LINKSET_TEXT,
                                 "title": "People directory APIs"}],
            },
        ]
    }


def directory_catalog(origin: str, *, loop: bool = False) -> dict[str, object]:
    """The directory team's catalog. With ``loop`` it lists the host's catalog as an item: a cycle."""
    own: dict[str, object] = {
        "anchor": origin + DIRECTORY_CATALOG_PATH,
        "item": [{"href": origin + DIRECTORY_PATH, "title": "Acme People Directory"}],
    }
    if loop:
        own["item"] = [*own["item"], {"href": origin + CATALOG_PATH, "type": LINKSET_JSON}]  # type: ignore[misc]
    return {
        "linkset": [
            own,
            {
                "anchor": origin + DIRECTORY_PATH,
                "service-desc": [{"href": f"{origin}{DIRECTORY_PATH}/openapi.yaml",
                                  "type": "application/vnd.oai.openapi;version=3.0"}],
                "service-doc": [{"href": f"{origin}/pages/api", "type": "text/html"}],
                "status": [{"href": f"{origin}/healthz"}],
            },
        ]
    }


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def linkset_text(linkset: dict[str, object]) -> str:
    """RFC 9264 §4.1: the same links in the ``Link`` header syntax, one a line."""
    lines = []
    for context in linkset["linkset"]:  # type: ignore[attr-defined]
        anchor = context["anchor"]
        for rel, targets in context.items():
            if rel == "anchor":
                continue
            for target in targets:
                params = [f"rel={_quote(rel)}", f"anchor={_quote(anchor)}"]
                params += [f"{key}={_quote(value)}" for key, value in target.items() if key != "href"]
                lines.append(f"<{target['href']}>; " + "; ".join(params))
    return ",\n".join(lines) + "\n"


def catalog_response(linkset: dict[str, object], accept: str, *, offered: tuple[str, ...]) -> Response:
    media = negotiate(accept, offered)
    content_type = f'{media}; profile="{PROFILE}"'
    if media == LINKSET_TEXT:
        response = text_response(200, linkset_text(linkset), content_type)
    else:
        response = json_response(200, linkset, content_type=content_type)
    if len(offered) > 1:
        response.headers.append(("Vary", "Accept"))
    return response


def directory_response(path: str, query: dict[str, list[str]]) -> Response:
    """``/directory`` (an index), ``/directory/people`` and ``/directory/people/{user}``."""
    if path in (DIRECTORY_PATH, DIRECTORY_PATH + "/"):
        return json_response(200, {"people": f"{DIRECTORY_PATH}/people", "openapi": f"{DIRECTORY_PATH}/openapi.yaml"})
    if path in (DIRECTORY_PATH + "/people", DIRECTORY_PATH + "/people/"):
        team = (query.get("team") or [""])[0]
        return json_response(200, {"people": [p for p in PEOPLE if not team or p["team"] == team]})
    name = path.removeprefix(DIRECTORY_PATH + "/people/")
    person = next((p for p in PEOPLE if p["user"] == name), None)
    if person is None:
        return json_response(404, {"error": "not_found", "error_description": f"nobody called {name!r}"})
    return json_response(200, person)
