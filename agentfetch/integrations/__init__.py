"""agentfetch inside agent hosts and frameworks.

- :mod:`.spec`: ``tool_spec()``, the one framework-free tool definition the others wrap.
- :mod:`.mcp_server`: ``agentfetch mcp``, a stdio MCP server (Goose, Claude Code, Codex, Cursor...).
- :mod:`.install`: ``agentfetch install opencode|goose``.
- :mod:`.langchain`, :mod:`.openai_agents`, :mod:`.pydantic_ai`, :mod:`.smolagents`,
  :mod:`.llamaindex`: ``fetch_tool()`` for each framework, importing it only when called.

Nothing here is imported by ``import agentfetch``.
"""
