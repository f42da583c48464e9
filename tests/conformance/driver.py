#!/usr/bin/env python3
"""Client under test for the official MCP conformance suite (client scenarios).

The conformance CLI (`@modelcontextprotocol/conformance client`) starts a
scenario server on loopback, then runs

    <command> <server-url>

with MCP_CONFORMANCE_SCENARIO=<scenario name> (and, for a few auth scenarios,
MCP_CONFORMANCE_CONTEXT=<json>) in the environment. It judges the run by the
checks its server recorded and by this process's exit status.

This driver plays the *desktop MCP client*: it writes a throw-away mcp-bridge
config whose `[servers.remote] url` is the scenario server, starts
`mcp-bridge --config FILE serve remote` as a stdio MCP server using the
official Python SDK's stdio client, and performs what the scenario asks over
stdio. Everything the scenario server sees therefore went through the bridge.

Usage:
    driver.py [--scenario NAME] [--direct] [--bridge-bin PATH]
              [--extra-config TOML] [--timeout SECONDS] URL

  --scenario       overrides MCP_CONFORMANCE_SCENARIO.
  --direct         debugging aid: talk to URL directly with the SDK's
                   Streamable HTTP client, no bridge (checks the driver's own
                   logic against the suite).
  --bridge-bin     mcp-bridge binary; default $MCP_BRIDGE_BIN, else
                   <repo>/target/debug/mcp-bridge.
  --extra-config   TOML lines appended inside [servers.remote] (also
                   $MCP_BRIDGE_EXTRA_CONFIG), e.g. for auth scenarios.

Exit status: 0 when the scenario's client-side steps all succeeded, 1
otherwise (the suite also fails the scenario on a non-zero exit).

Must run with the test venv's interpreter (tests/peers/.venv/bin/python),
which has the pinned `mcp` SDK; scripts/install-test-peers.sh creates it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import traceback
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

try:
    import anyio
    import mcp.types as types
    from mcp import ClientSession, StdioServerParameters, stdio_client
    from mcp.client.streamable_http import streamable_http_client
except ImportError as exc:  # pragma: no cover - environment problem
    sys.stderr.write(
        f"driver.py: cannot import the MCP Python SDK ({exc}).\n"
        "Run it with tests/peers/.venv/bin/python after scripts/install-test-peers.sh\n"
    )
    sys.exit(2)

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT_INFO = types.Implementation(name="mcp-bridge-conformance-driver", version="0.1.0")
# Env vars forwarded to the bridge besides the SDK's minimal default set
# (HOME, PATH, ...): logging knobs only.
FORWARDED_ENV = ("RUST_LOG", "RUST_BACKTRACE", "MCP_BRIDGE_LOG")


def log(msg: str) -> None:
    sys.stderr.write(f"[driver] {msg}\n")
    sys.stderr.flush()


class ScenarioFailed(Exception):
    pass


def toml_string(value: str) -> str:
    """A TOML basic string (JSON string escaping is a valid subset here)."""
    return json.dumps(value, ensure_ascii=False)


def bridge_binary(explicit: str | None) -> str:
    candidate = explicit or os.environ.get("MCP_BRIDGE_BIN") or str(REPO_ROOT / "target" / "debug" / "mcp-bridge")
    if not os.path.isfile(candidate) or not os.access(candidate, os.X_OK):
        raise ScenarioFailed(
            f"mcp-bridge binary not found or not executable at {candidate!r} "
            "(set MCP_BRIDGE_BIN or run `cargo build`)"
        )
    return candidate


def write_config(directory: str, url: str, extra: str | None) -> str:
    lines = ["[servers.remote]", f"url = {toml_string(url)}"]
    if extra:
        lines.append(extra)
    path = os.path.join(directory, "mcp-bridge.toml")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------
# elicitation: accept, applying the requested schema's defaults (SEP-1034)
# --------------------------------------------------------------------------


def defaults_from_schema(schema: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        if isinstance(prop, dict) and "default" in prop:
            content[name] = prop["default"]
    return content


async def elicit_with_defaults(context: Any, params: Any) -> Any:
    raw = params.model_dump(by_alias=True, mode="json", exclude_none=True)
    if raw.get("mode") == "url" or "requestedSchema" not in raw:
        log(f"declining non-form elicitation: {raw}")
        return types.ElicitResult(action="decline")
    content = defaults_from_schema(raw["requestedSchema"])
    log(f"elicitation {raw.get('message')!r}: accepting with defaults {content}")
    return types.ElicitResult(action="accept", content=content)


# --------------------------------------------------------------------------
# scenarios
# --------------------------------------------------------------------------


def text_of(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in (result.content or []))


def check_tool_result(result: Any, name: str) -> str:
    text = text_of(result)
    log(f"{name} -> isError={result.is_error} text={text!r}")
    if result.is_error:
        raise ScenarioFailed(f"tool {name} returned isError: {text}")
    return text


async def scenario_initialize(session: ClientSession) -> None:
    await session.list_tools()


async def scenario_tools_call(session: ClientSession) -> None:
    tools = await session.list_tools()
    names = [t.name for t in tools.tools]
    if "add_numbers" not in names:
        raise ScenarioFailed(f"add_numbers not listed (got {names})")
    result = await session.call_tool("add_numbers", {"a": 5, "b": 3})
    text = check_tool_result(result, "add_numbers")
    if "8" not in text:
        raise ScenarioFailed(f"unexpected add_numbers result: {text!r}")


async def scenario_sse_retry(session: ClientSession) -> None:
    await session.list_tools()
    # The server closes the POST's SSE stream after a priming event; the
    # response only arrives on the GET the client reconnects with.
    result = await session.call_tool("test_reconnection", {})
    text = check_tool_result(result, "test_reconnection")
    if "Reconnection test completed" not in text:
        raise ScenarioFailed(f"unexpected test_reconnection result: {text!r}")


async def scenario_elicitation_defaults(session: ClientSession) -> None:
    tools = await session.list_tools()
    names = [t.name for t in tools.tools]
    if "test_client_elicitation_defaults" not in names:
        raise ScenarioFailed(f"test_client_elicitation_defaults not listed (got {names})")
    result = await session.call_tool("test_client_elicitation_defaults", {})
    text = check_tool_result(result, "test_client_elicitation_defaults")
    if not text.startswith("Elicitation completed"):
        raise ScenarioFailed(f"elicitation did not complete: {text!r}")


async def scenario_generic(session: ClientSession) -> None:
    """Fallback (auth/* etc.): list tools, call `test-tool` if offered."""
    tools = await session.list_tools()
    if any(t.name == "test-tool" for t in tools.tools):
        result = await session.call_tool("test-tool", {})
        check_tool_result(result, "test-tool")


SCENARIOS: dict[str, Callable[[ClientSession], Awaitable[None]]] = {
    "initialize": scenario_initialize,
    "tools_call": scenario_tools_call,
    "sse-retry": scenario_sse_retry,
    "elicitation-sep1034-client-defaults": scenario_elicitation_defaults,
}

WITH_ELICITATION = {"elicitation-sep1034-client-defaults"}


# --------------------------------------------------------------------------
# transports
# --------------------------------------------------------------------------


@asynccontextmanager
async def open_streams(args: argparse.Namespace, workdir: str) -> AsyncIterator[tuple[Any, Any]]:
    if args.direct:
        log(f"DIRECT mode (no bridge): {args.url}")
        async with streamable_http_client(args.url) as (read, write):
            yield read, write
        return

    binary = bridge_binary(args.bridge_bin)
    extra = args.extra_config or os.environ.get("MCP_BRIDGE_EXTRA_CONFIG")
    config = write_config(workdir, args.url, extra)
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    params = StdioServerParameters(
        command=binary,
        args=["--config", config, "serve", "remote"],
        env=env,
        cwd=workdir,
    )
    log(f"bridge: {binary} --config {config} serve remote  (remote {args.url})")
    # The bridge's stderr goes to ours, so the suite prints it on failure.
    async with stdio_client(params, errlog=sys.stderr) as (read, write):
        yield read, write


async def run(args: argparse.Namespace) -> None:
    handler = SCENARIOS.get(args.scenario, scenario_generic)
    if handler is scenario_generic:
        log(f"scenario {args.scenario!r} has no dedicated steps; using the generic flow")
    session_kwargs: dict[str, Any] = {"client_info": CLIENT_INFO}
    if args.scenario in WITH_ELICITATION:
        session_kwargs["elicitation_callback"] = elicit_with_defaults

    with tempfile.TemporaryDirectory(prefix="mcp-bridge-conformance-") as workdir:
        with anyio.fail_after(args.timeout):
            async with open_streams(args, workdir) as (read, write):
                async with ClientSession(read, write, **session_kwargs) as session:
                    init = await session.initialize()
                    log(
                        f"initialized: protocolVersion={init.protocol_version} "
                        f"server={init.server_info.name} {init.server_info.version}"
                    )
                    await handler(session)
    log(f"scenario {args.scenario!r}: client steps completed")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default=os.environ.get("MCP_CONFORMANCE_SCENARIO"))
    parser.add_argument("--direct", action="store_true", help="bypass mcp-bridge (debugging)")
    parser.add_argument("--bridge-bin", default=None)
    parser.add_argument("--extra-config", default=None)
    parser.add_argument("--timeout", type=float, default=25.0, help="overall seconds (suite default kills at 30)")
    parser.add_argument("url", help="scenario server URL (appended by the conformance CLI)")
    args = parser.parse_args(argv)
    if not args.scenario:
        parser.error("no scenario: pass --scenario NAME or set MCP_CONFORMANCE_SCENARIO")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    log(f"scenario={args.scenario} url={args.url}")
    try:
        anyio.run(run, args)
    except ScenarioFailed as exc:
        log(f"FAILED: {exc}")
        return 1
    except TimeoutError:
        log(f"FAILED: scenario {args.scenario!r} did not finish within {args.timeout}s")
        return 1
    except BaseException as exc:  # noqa: BLE001 - report everything, incl. ExceptionGroup
        log(f"FAILED: {type(exc).__name__}: {exc}")
        traceback.print_exc(file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
