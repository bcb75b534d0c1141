"""The MCP resources of codemode's server, and what reading each one returns.

Each namespace's stub is at `codemode://stubs/{namespace}` (all of them at
`codemode://stubs`); a function saved with `library.save` at `codemode://library/{name}`;
a file programs wrote under /workspace at `codemode://workspace/{path}`; and a value too
big to return from `execute` at `codemode://artifacts/{id}`, listed only to the session
that made it.
"""

from __future__ import annotations

import base64
import json
import mimetypes
from urllib.parse import quote, unquote

import anyio
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    BlobResourceContents,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ReadResourceResult,
    Resource,
    ResourceTemplate,
    TextResourceContents,
)

from codemode._server_tools import plural
from codemode.artifacts import ARTIFACT_URI
from codemode.core import CodeMode

__all__ = ["Resources"]

STUBS_URI = "codemode://stubs"
LIBRARY_URI = "codemode://library"
WORKSPACE_URI = "codemode://workspace"
PYTHON_MIME = "text/x-python"
_MAX_LISTED = 200
"""Library functions and workspace files listed as resources (more are readable)."""
STUB_MIME = "text/x-python"


class Resources:
    """The resources of one server's `cm`: the server's resource handlers delegate here."""

    def __init__(self, cm: CodeMode) -> None:
        self._cm = cm

    async def list_resources(self, session: str | None) -> ListResourcesResult:
        """`codemode://stubs` (every namespace) and one stub resource per namespace; the
        library's functions and the workspace's files; and `session`'s artifacts."""
        counts = {ns: len(self._cm.tools(ns)) for ns in self._cm.namespaces()}
        every = f"{plural(sum(counts.values()), 'tool')} in {plural(len(counts), 'namespace')}"
        entries = [(STUBS_URI, "all stubs", every)] + [
            (f"{STUBS_URI}/{ns}", f"{ns} stubs", plural(n, "tool")) for ns, n in counts.items()
        ]
        resources = [
            Resource(uri=u, name=n, description=d, mime_type=STUB_MIME) for u, n, d in entries
        ]
        resources += await anyio.to_thread.run_sync(self._durable_resources)
        if session is not None:  # artifacts are listed to the session that made them
            infos = await anyio.to_thread.run_sync(self._cm.artifacts.list)
            resources += [
                Resource(
                    uri=f"{ARTIFACT_URI}/{i.id}",
                    name=i.name or i.id,
                    description=f"{i.kind}, {i.bytes} bytes",
                    mime_type=_artifact_mime(i.kind),
                    size=i.bytes,
                )
                for i in infos
                if i.session == session
            ]
        return ListResourcesResult(resources=resources)

    def list_resource_templates(self) -> ListResourceTemplatesResult:
        """The per-namespace stub URI, as a template; and those of artifacts, library
        functions and workspace files."""
        template = ResourceTemplate(
            uri_template=STUBS_URI + "/{namespace}",
            name="namespace stubs",
            description="The Python stub of one namespace's tools",
            mime_type=STUB_MIME,
        )
        artifact = ResourceTemplate(
            uri_template=ARTIFACT_URI + "/{id}",
            name="artifact",
            description="A value too big to return from execute, by the id execute gave",
        )
        function = ResourceTemplate(
            uri_template=LIBRARY_URI + "/{name}",
            name="library function",
            description="The source of a function saved with library.save",
            mime_type=PYTHON_MIME,
        )
        file = ResourceTemplate(
            uri_template=WORKSPACE_URI + "/{path}",
            name="workspace file",
            description="A file programs wrote under /workspace",
        )
        return ListResourceTemplatesResult(resource_templates=[template, artifact, function, file])

    def _durable_resources(self) -> list[Resource]:
        """The library's functions and the workspace's files (the first of each, capped)."""
        state = self._cm.state
        functions = state.store.list_functions(state.scope)[:_MAX_LISTED]
        files = state.store.list_files(state.workspace_id)[:_MAX_LISTED]
        return [
            Resource(
                uri=f"{LIBRARY_URI}/{f.name}",
                name=f"library: {f.name}",
                description=f"{f.signature} (version {f.version})"
                + (f": {f.description}" if f.description else ""),
                mime_type=PYTHON_MIME,
            )
            for f in functions
        ] + [
            Resource(
                uri=f"{WORKSPACE_URI}/{quote(f.path)}",
                name=f"/workspace/{f.path}",
                size=f.size,
                mime_type=mimetypes.guess_type(f.path)[0] or "application/octet-stream",
            )
            for f in files
        ]

    async def read_resource(self, uri: str) -> ReadResourceResult:
        """The stub text of one namespace, or of all of them; or an artifact, a library
        function or a workspace file."""
        if uri.startswith(ARTIFACT_URI + "/"):
            return await self._read_artifact(uri)
        if uri.startswith((LIBRARY_URI + "/", WORKSPACE_URI + "/")):
            return await anyio.to_thread.run_sync(self._read_durable, uri)
        namespace = uri.removeprefix(STUBS_URI + "/") if uri.startswith(STUBS_URI + "/") else None
        if uri != STUBS_URI and namespace not in self._cm.namespaces():
            raise MCPError(
                INVALID_PARAMS,
                f"unknown resource {uri!r}; stubs are at {STUBS_URI}/{{namespace}}",
                data={"uri": uri},
            )
        text = await anyio.to_thread.run_sync(self._cm.stubs, namespace)
        return ReadResourceResult(
            contents=[TextResourceContents(uri=uri, mime_type=STUB_MIME, text=text)]
        )

    def _read_durable(self, uri: str) -> ReadResourceResult:
        """A library function's source, or a workspace file (text, or base64 bytes)."""
        state = self._cm.state
        if uri.startswith(LIBRARY_URI + "/"):
            name = uri.removeprefix(LIBRARY_URI + "/")
            function = state.store.get_function(state.scope, name)
            if function is None:
                raise MCPError(INVALID_PARAMS, f"no library function at {uri!r}", data={"uri": uri})
            return ReadResourceResult(
                contents=[
                    TextResourceContents(uri=uri, mime_type=PYTHON_MIME, text=function.source)
                ]
            )
        path = unquote(uri.removeprefix(WORKSPACE_URI + "/"))
        data = state.store.read_file(state.workspace_id, path)
        if data is None:
            raise MCPError(INVALID_PARAMS, f"no workspace file at {uri!r}", data={"uri": uri})
        mime = mimetypes.guess_type(path)[0]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            blob = base64.b64encode(data).decode()
            return ReadResourceResult(
                contents=[
                    BlobResourceContents(
                        uri=uri, mime_type=mime or "application/octet-stream", blob=blob
                    )
                ]
            )
        return ReadResourceResult(
            contents=[TextResourceContents(uri=uri, mime_type=mime or "text/plain", text=text)]
        )

    async def _read_artifact(self, uri: str) -> ReadResourceResult:
        """An artifact: a string as text/plain, any other value as its JSON."""
        artifact_id = uri.removeprefix(ARTIFACT_URI + "/")
        data = await anyio.to_thread.run_sync(self._cm.artifacts.get, artifact_id)
        if data is None:
            raise MCPError(
                INVALID_PARAMS,
                f"no artifact at {uri!r} (unknown or expired)",
                data={"uri": uri},
            )
        kind = "str" if data.startswith(b'"') else "json"  # a JSON string, or any other value
        text = json.loads(data) if kind == "str" else data.decode()
        return ReadResourceResult(
            contents=[TextResourceContents(uri=uri, mime_type=_artifact_mime(kind), text=text)]
        )


def _artifact_mime(kind: str) -> str:
    return "text/plain" if kind == "str" else "application/json"
