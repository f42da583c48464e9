"""Drive `mcp-bridge serve` with the official Python MCP SDK's stdio client.

Run by tests/python_client.rs with the venv from tests/peers/.venv:

    python sdk_client.py SPEC_JSON

SPEC_JSON names the server command and the values to use:
{"command": ..., "args": [...], "channel": ..., "text": ..., "question": ...,
 "answer": ..., "prompt": ..., "reply": ..., "model": ..., "steps": N}

The SDK launches the command as a stdio MCP server; this script initializes,
lists tools, calls chat_send_message, ask_user (answered by the elicitation
callback), sample_llm (answered by the sampling callback) and progress_demo
(with a progress callback), then prints one JSON summary on stdout.
"""

import json
import sys

import anyio

import mcp.types as types
from mcp import ClientSession, StdioServerParameters, stdio_client


def dump(model):
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


async def run(spec):
    elicitations, samplings, progress = [], [], []

    async def on_elicitation(context, params):
        elicitations.append(dump(params))
        return types.ElicitResult(action="accept", content={"answer": spec["answer"]})

    async def on_sampling(context, params):
        samplings.append(dump(params))
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=spec["reply"]),
            model=spec["model"],
            stop_reason="endTurn",
        )

    async def on_progress(value, total, message):
        progress.append({"progress": value, "total": total, "message": message})

    server = StdioServerParameters(command=spec["command"], args=spec["args"])
    async with stdio_client(server) as (read, write):
        async with ClientSession(
            read, write, sampling_callback=on_sampling, elicitation_callback=on_elicitation
        ) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            sent = await session.call_tool(
                "chat_send_message", {"channel": spec["channel"], "text": spec["text"]}
            )
            asked = await session.call_tool("ask_user", {"question": spec["question"]})
            sampled = await session.call_tool("sample_llm", {"prompt": spec["prompt"]})
            progressed = await session.call_tool(
                "progress_demo",
                {"steps": spec["steps"], "delay_ms": 10},
                progress_callback=on_progress,
            )
    return {
        "server_info": dump(init.server_info),
        "protocol_version": init.protocol_version,
        "tools": [dump(tool) for tool in tools.tools],
        "send_message": dump(sent),
        "elicitations": elicitations,
        "ask_user": dump(asked),
        "samplings": samplings,
        "sample_llm": dump(sampled),
        "progress": progress,
        "progress_demo": dump(progressed),
    }


def main():
    spec = json.loads(sys.argv[1])
    summary = anyio.run(run, spec)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
