"""Tool sources: where tools come from (Python functions today; MCP and OpenAPI later).

Each source module implements `codemode.catalog.Source` for one namespace.
"""
