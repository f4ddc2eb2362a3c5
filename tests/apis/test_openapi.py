"""The compact OpenAPI 3.x summary: servers, then each operation with what an agent needs to call it."""

from __future__ import annotations

import json

import httpx
import pytest

from agentfetch.apis import parse_description
from agentfetch.errors import InvalidDocument

PETS_YAML = """
openapi: 3.0.1
info: {title: Pets, version: 7}
servers:
  - url: /v1
security:
  - bearer: []
  - apiKey: []
paths:
  /pets/{id}:
    parameters:
      - $ref: "#/components/parameters/Id"
      - {name: verbose, in: query, schema: {type: boolean}}
    get:
      summary: "Get a pet | with pipes"
      parameters:
        - {name: verbose, in: query, required: true, schema: {type: integer}}
      responses: {"200": {description: ok}}
    patch:
      operationId: patchPet
      deprecated: true
      security: []
      requestBody:
        $ref: "#/components/requestBodies/PetPatch"
      responses: {"200": {description: ok}}
  /pets:
    post:
      summary: Add pets
      security:
        - {}
        - oauth: [pets:write, pets:read]
      requestBody:
        content:
          application/json:
            schema: {type: array, items: {$ref: "#/components/schemas/Pet"}}
          text/csv: {}
      responses: {"201": {description: created}}
  /loop:
    get:
      parameters:
        - $ref: "#/components/parameters/A"
      responses: {"200": {description: ok}}
components:
  parameters:
    Id: {name: id, in: path, required: true, schema: {type: string, format: uuid}}
    A: {$ref: "#/components/parameters/B"}
    B: {$ref: "#/components/parameters/A"}
  requestBodies:
    PetPatch:
      required: true
      content:
        application/merge-patch+json:
          schema: {$ref: "#/components/schemas/Pet"}
  schemas:
    Pet:
      type: object
      required: [name]
      properties: {name: {type: string}, tag: {type: string}, a: {}, b: {}, c: {}, d: {}, e: {}, f: {}, g: {},
                   h: {}, i: {}, j: {}, k: {}, l: {}}
"""


def test_yaml_summary_resolves_refs_and_security_overrides():
    api = parse_description(PETS_YAML.encode(), "application/yaml", "https://pets.example/docs/openapi.yaml")
    assert (api.openapi, api.title, api.version) == ("3.0.1", "Pets", "7")
    assert api.servers == ("https://pets.example/v1",)
    ops = {(op.method, op.path): op for op in api.operations}
    get = ops[("get", "/pets/{id}")]
    # The operation's own "verbose" replaces the path item's (same name and location).
    assert get.parameters == ("id (path, required): string", "verbose (query, required): integer")
    assert get.security == ("bearer", "apiKey")
    patch = ops[("patch", "/pets/{id}")]
    assert patch.security == () and patch.deprecated and patch.summary is None and patch.operation_id == "patchPet"
    assert patch.request_body == ("application/merge-patch+json Pet {name*, tag, a, b, c, d, e, f, g, h, i, j, +2 more}"
                                  " (required)")
    post = ops[("post", "/pets")]
    assert post.security == ("none", "oauth: pets:write pets:read")
    assert post.request_body == "application/json array of Pet; text/csv"
    # A $ref cycle ends instead of recursing forever; the parameter is just not named.
    assert ops[("get", "/loop")].parameters == ()
    markdown = api.to_markdown()
    assert markdown.startswith("**Pets v7** (OpenAPI 3.0.1)\n\nServers: `https://pets.example/v1`\n")
    assert "| GET | `/pets/{id}` | Get a pet \\| with pipes | id (path, required): string; verbose" in markdown
    assert "| PATCH | `/pets/{id}` | patchPet (deprecated) |" in markdown and "| none |" in markdown


def test_the_demo_descriptions_in_json_and_yaml(demo):
    headers = demo.service_token.headers()
    wiki = httpx.get(demo.origin + "/api/openapi.json", headers=headers)
    api = parse_description(wiki.content, wiki.headers["content-type"], str(wiki.url))
    ops = {(op.method.upper(), op.path): op for op in api.operations}
    assert ops[("POST", "/pages")].security == ("oauth: write",)
    assert ops[("POST", "/pages")].request_body == (
        "application/json PageInput {slug, title*, summary, markdown} (required)")
    assert ops[("GET", "/pages/{slug}")].security == ("oauth: read",)
    assert ops[("DELETE", "/pages/{slug}")].parameters == ("slug (path, required): string",)
    directory = httpx.get(demo.origin + "/directory/openapi.yaml", headers=headers)
    people = parse_description(directory.content, directory.headers["content-type"], str(directory.url))
    assert people.servers == (demo.origin + "/directory",)
    assert [(op.method, op.path, op.parameters) for op in people.operations] == [
        ("get", "/people", ("team (query): string",)), ("get", "/people/{user}", ("user (path, required): string",))]


def test_no_servers_means_the_description_origin():
    doc = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}
    api = parse_description(json.dumps(doc).encode(), "application/json", "https://h.example/a/openapi.json")
    assert api.servers == ("https://h.example/",) and api.operations == ()
    assert "(no operations)" in api.to_markdown()


@pytest.mark.parametrize(("body", "content_type", "message"), [
    (b"openapi: 3.0.0\ninfo: {title: [\n", "application/yaml", r"not valid YAML \(.*line \d+\)"),
    (b'{"openapi": "3.1.0",', "application/json", "not valid JSON"),
    (b'{"swagger": "2.0", "paths": {}}', "application/json", r"not an OpenAPI 3.x description \(swagger 2.0\)"),
    (b"- just\n- a list\n", "application/yaml", "not an object"),
    (b'{"openapi": "3.0.0", "paths": []}', "application/json", '"paths" must be an object'),
    (b"\xff\xfe\x00", "application/yaml", "not UTF-8"),
])
def test_malformed_descriptions_are_typed_errors(body, content_type, message):
    with pytest.raises(InvalidDocument, match=message):
        parse_description(body, content_type)
