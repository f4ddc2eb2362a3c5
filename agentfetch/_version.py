"""The package's version and the User-Agent it sends. Standard library only (the fetch path imports it)."""

__version__ = "0.1.0"

#: One User-Agent for fetches and OAuth's own requests. Not a browser's: identity-aware
#: proxies send browsers to a login page and give other clients the 401 challenge
#: that agentfetch understands (docs/protocol.md, login redirects).
USER_AGENT = f"agentfetch/{__version__} (+https://pypi.org/project/agentfetch/)"
