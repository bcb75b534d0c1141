"""Integration tests against real third-party MCP servers (see `upstream.py`).

A package, so that its modules (`conftest` above all) never shadow the top-level
`tests/` modules of the same name.
"""
