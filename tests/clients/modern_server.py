"""A 2026-07-28-only MCP server: the Python SDK's `MCPServer` over Streamable
HTTP on loopback, for tests/python_eras.rs.

    python modern_server.py

Prints its endpoint (`http://127.0.0.1:PORT/mcp`) as the first stdout line,
then one `EVENT {json}` line per POST it receives: the JSON-RPC method, the
`MCP-Protocol-Version` and `Mcp-Method` headers, the `_meta` protocol version,
and for tools/call the tool name and whether the call carries
`inputResponses` / `requestState`. Runs until killed.

Tools:
  add(a, b)      -> a + b
  greet(name)    -> "Hello, NAME!"
  paint(item)    asks the person which colour (an elicitation that the
                 2026-07-28 revision carries in an `input_required` result),
                 then answers "The ITEM will be COLOUR."

The SDK serves both eras; this server is 2026-07-28-only: `initialize` is
refused with -32022 naming 2026-07-28 (HTTP 400), as a server that dropped the
handshake would. A 2025 client therefore reaches it only if something
translates.
"""

from __future__ import annotations

import json
import socket
import sys
from typing import Annotated, Any

import anyio
import uvicorn
from pydantic import BaseModel, Field

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.resolve import Elicit, Resolve

MODERN = "2026-07-28"

mcp = MCPServer("modern-test-server", version="1.0.0", instructions="A 2026-07-28-only test server.")


class Colour(BaseModel):
    colour: str = Field(description="A colour")


def ask_colour(item: str) -> Elicit[Colour]:
    return Elicit(f"Which colour should the {item} be?", Colour)


@mcp.tool()
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@mcp.tool()
def greet(name: str) -> str:
    """Greets someone."""
    return f"Hello, {name}!"


@mcp.tool()
def paint(item: str, choice: Annotated[Colour, Resolve(ask_colour)]) -> str:
    """Paints an item in a colour the person chooses."""
    return f"The {item} will be {choice.colour}."


def event(record: dict[str, Any]) -> None:
    sys.stdout.write("EVENT " + json.dumps(record, sort_keys=True) + "\n")
    sys.stdout.flush()


class ModernOnly:
    """ASGI wrapper: records every POST and refuses `initialize`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        if isinstance(request, dict):
            params = request.get("params") or {}
            record = {
                "method": request.get("method"),
                "id": request.get("id"),
                "header_version": headers.get("mcp-protocol-version"),
                "header_method": headers.get("mcp-method"),
                "meta_version": (params.get("_meta") or {}).get("io.modelcontextprotocol/protocolVersion"),
            }
            if request.get("method") == "tools/call":
                record["tool"] = params.get("name")
                record["input_responses"] = "inputResponses" in params
                record["request_state"] = "requestState" in params
            event(record)
            if request.get("method") == "initialize":
                await self.refuse(send, request, params)
                return

        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def refuse(send: Any, request: dict[str, Any], params: dict[str, Any]) -> None:
        error = {
            "jsonrpc": "2.0",
            "id": request.get("id"),
            "error": {
                "code": -32022,
                "message": "Unsupported protocol version",
                "data": {"supported": [MODERN], "requested": str(params.get("protocolVersion", ""))},
            },
        }
        payload = json.dumps(error).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})


async def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    app = ModernOnly(mcp.streamable_http_app(host="127.0.0.1"))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    sys.stdout.write(f"http://127.0.0.1:{port}/mcp\n")
    sys.stdout.flush()
    await server.serve(sockets=[sock])


if __name__ == "__main__":
    anyio.run(main)
