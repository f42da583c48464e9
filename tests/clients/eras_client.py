"""A desktop client of either protocol era, driving `mcp-bridge serve` over
stdio with the official Python SDK (mcp==2.3.0), for tests/python_eras.rs.

    python eras_client.py SPEC_JSON

SPEC_JSON:
  {"command": ..., "args": [...], "env": {...extra environment...},
   "era": "2025" | "auto",
   "answers": {"<field>": <value>, ...},
   "calls": [{"name": ..., "arguments": {...}}, ...]}

era "2025": the SDK's low-level `ClientSession` with the `initialize`
handshake at 2025-11-25; a result of the 2026-07-28 revision (such as
`input_required`) fails its 2025 validation. era "auto": the SDK's `Client`
in its default auto mode (probes `server/discover`, falls back to
`initialize`; resolves `input_required` itself).

Elicitations are accepted with the requested schema's defaults, overridden by
`answers` for the fields the schema has. Prints one JSON summary on stdout:
{"protocol_version", "server_info", "tools", "results": {name: result},
 "elicitations": [params, ...]}. A call that fails is recorded as
{"error": "..."} and the rest still run.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
import mcp.types as types
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client import Client


def dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    elicitations: list[dict[str, Any]] = []

    async def on_elicitation(context: Any, params: Any) -> Any:
        raw = dump(params)
        elicitations.append(raw)
        properties = (raw.get("requestedSchema") or {}).get("properties") or {}
        content = {k: p["default"] for k, p in properties.items() if isinstance(p, dict) and "default" in p}
        content.update({k: v for k, v in (spec.get("answers") or {}).items() if k in properties})
        return types.ElicitResult(action="accept", content=content)

    server = StdioServerParameters(command=spec["command"], args=spec["args"], env=spec.get("env"))
    summary: dict[str, Any] = {"elicitations": elicitations, "results": {}}

    async def perform(list_tools: Any, call_tool: Any) -> None:
        summary["tools"] = sorted(t.name for t in (await list_tools()).tools)
        for call in spec.get("calls") or []:
            try:
                summary["results"][call["name"]] = dump(await call_tool(call["name"], call.get("arguments") or {}))
            except Exception as exc:  # noqa: BLE001 - the summary says what failed
                summary["results"][call["name"]] = {"error": f"{type(exc).__name__}: {exc}"}

    with anyio.fail_after(90):
        if spec["era"] == "2025":
            async with stdio_client(server) as (read, write):
                async with ClientSession(read, write, elicitation_callback=on_elicitation) as session:
                    init = await session.initialize()
                    summary["protocol_version"] = init.protocol_version
                    summary["server_info"] = dump(init.server_info)
                    await perform(session.list_tools, session.call_tool)
        else:
            async with Client(server, elicitation_callback=on_elicitation) as client:
                summary["protocol_version"] = client.protocol_version
                summary["server_info"] = dump(client.server_info) if client.server_info else None
                await perform(client.list_tools, client.call_tool)
    return summary


def main() -> None:
    spec = json.loads(sys.argv[1])
    print(json.dumps(anyio.run(run, spec)))


if __name__ == "__main__":
    main()
