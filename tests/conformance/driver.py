#!/usr/bin/env python3
"""Desktop MCP client under test for the official MCP conformance suite.

The conformance CLI (`@modelcontextprotocol/conformance client`, 0.2.0-alpha.12
as `conformance-2026` in tests/peers) starts a scenario server on loopback and
runs

    <command> <server-url>

with MCP_CONFORMANCE_SCENARIO=<name>, MCP_CONFORMANCE_PROTOCOL_VERSION=<the
revision the scenario server speaks> and, for some scenarios,
MCP_CONFORMANCE_CONTEXT=<json> in the environment. It judges the run by the
checks its server recorded (and, unless the scenario allows a failing client,
by this process's exit status).

This driver plays the *desktop client* and nothing else: it writes a throw-away
mcp-bridge config whose `[servers.remote] url` is the scenario server, starts
`mcp-bridge --config FILE serve remote` over stdio with the official Python
SDK (mcp==2.3.0), and performs what the scenario's user story asks. It never
adds HTTP headers, never talks HTTP to the scenario server and never does
OAuth: every byte the server sees went through the bridge.

Two eras of desktop client (`--era`):

  2025  speaks 2025-11-25: `initialize`, then plain requests, and answers
        `elicitation/create`, `sampling/createMessage` and `roots/list` that
        the server side sends it. Built on the SDK's low-level
        `ClientSession`, which rejects a 2026-only result shape (an
        `input_required` result fails its 2025 validation), so the bridge
        must translate everything a 2026-07-28 remote says.
  2026  speaks 2026-07-28 itself: the SDK's `Client` in `auto` mode probes
        `server/discover` (falling back to `initialize` when the other side
        is not modern), stamps the per-request `_meta`, and resolves
        `input_required` results with its callbacks and retries. The bridge
        must pass it through. Against a scenario server of the 2026-07-28
        revision the driver insists that 2026-07-28 was negotiated; against
        a 2025-only scenario server it accepts either era (what the bridge
        answers to `server/discover` there is the bridge's decision).

Host behaviour that is the desktop client's job, not the SDK's, lives here:
the skills extension (SEP-2640: list skills without prefetching; on load,
verify size, digest and frontmatter of every file against the listing and
refuse the skill on any mismatch), calling every tool the server lists, and
answering elicitations with the requested schema's defaults.

Usage:
    driver.py [--era 2025|2026] [--scenario NAME] [--direct] [--bridge-bin PATH]
              [--extra-config TOML] [--timeout SECONDS] URL

  --era            the desktop client's protocol era (default 2025).
  --scenario       overrides MCP_CONFORMANCE_SCENARIO.
  --direct         debugging aid: talk to URL with the SDK's own Streamable
                   HTTP client, no bridge (proves the driver's steps against
                   the suite). With --era 2025 this only works against
                   scenario servers of a 2025 revision.
  --bridge-bin     mcp-bridge binary; default $MCP_BRIDGE_BIN, else
                   <repo>/target/debug/mcp-bridge.
  --extra-config   TOML lines appended inside [servers.remote] (also
                   $MCP_BRIDGE_EXTRA_CONFIG).

Exit status: 0 when the scenario's client-side steps all succeeded (including
refusing content that failed verification, which is the host doing its job),
1 otherwise.

Run it with the test venv's interpreter (tests/peers/.venv/bin/python);
scripts/install-test-peers.sh creates it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import os
import sys
import tempfile
import traceback
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Literal

try:
    import anyio
    import mcp.types as types
    from mcp import ClientSession, StdioServerParameters, stdio_client
    from mcp.client import Client, advertise
    from mcp.client.streamable_http import streamable_http_client
    from pydantic import TypeAdapter, ValidationError
except ImportError as exc:  # pragma: no cover - environment problem
    sys.stderr.write(
        f"driver.py: cannot import the MCP Python SDK ({exc}).\n"
        "Run it with tests/peers/.venv/bin/python after scripts/install-test-peers.sh\n"
    )
    sys.exit(2)

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT_INFO = types.Implementation(name="mcp-bridge-conformance-driver", version="0.2.0")
MODERN = "2026-07-28"
SKILLS_EXTENSION = "io.modelcontextprotocol/skills"
# Env vars forwarded to the bridge besides the SDK's minimal default set
# (HOME, PATH, ...): logging knobs only.
FORWARDED_ENV = ("RUST_LOG", "RUST_BACKTRACE", "MCP_BRIDGE_LOG")


def log(msg: str) -> None:
    sys.stderr.write(f"[driver] {msg}\n")
    sys.stderr.flush()


class ScenarioFailed(Exception):
    pass


def dump(model: Any) -> dict[str, Any]:
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)


# --------------------------------------------------------------------------
# the person at the desktop: answers to server-side questions
# --------------------------------------------------------------------------


class Person:
    """Answers elicitations (accepting the schema's defaults), sampling
    (a fixed reply) and roots (none), and records what was asked."""

    def __init__(self) -> None:
        self.elicitations: list[dict[str, Any]] = []
        self.samplings: list[dict[str, Any]] = []
        # Called (and awaited) before an elicitation is answered: lets a
        # scenario do something "between rounds" (see sep-2322).
        self.before_answer: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    async def elicit(self, context: Any, params: Any) -> Any:
        raw = dump(params)
        self.elicitations.append(raw)
        if self.before_answer is not None:
            await self.before_answer(raw)
        if raw.get("mode") == "url" or "requestedSchema" not in raw:
            log(f"declining non-form elicitation: {raw}")
            return types.ElicitResult(action="decline")
        content = {
            name: prop["default"]
            for name, prop in (raw["requestedSchema"].get("properties") or {}).items()
            if isinstance(prop, dict) and "default" in prop
        }
        log(f"elicitation {raw.get('message')!r}: accepting with defaults {content}")
        return types.ElicitResult(action="accept", content=content)

    async def sample(self, context: Any, params: Any) -> Any:
        self.samplings.append(dump(params))
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text="A reply from the person's model."),
            model="conformance-driver-model",
            stop_reason="endTurn",
        )

    async def roots(self, context: Any) -> Any:
        return types.ListRootsResult(roots=[])


# --------------------------------------------------------------------------
# a request the SDK has no method for (extensions such as skills/list)
# --------------------------------------------------------------------------


class SkillsListRequest(types.Request[types.RequestParams | None, Literal["skills/list"]]):
    method: Literal["skills/list"] = "skills/list"
    params: types.RequestParams | None = None


ANY_RESULT = TypeAdapter(dict[str, Any])


# --------------------------------------------------------------------------
# the host: one surface over both eras
# --------------------------------------------------------------------------


class Host:
    """What the scenarios need from a desktop client, era-independent.
    Results come back as wire-shaped dicts."""

    era: str

    def __init__(self, session: ClientSession) -> None:
        self.session = session

    @property
    def protocol_version(self) -> str | None:
        return self.session.protocol_version

    async def list_tools(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    async def list_resources(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def read_resource(self, uri: str) -> dict[str, Any]:
        raise NotImplementedError

    async def list_prompts(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def get_prompt(self, name: str) -> dict[str, Any]:
        raise NotImplementedError

    async def list_skills(self) -> dict[str, Any]:
        return await self.session.send_request(SkillsListRequest(), ANY_RESULT)


class Host2025(Host):
    """2025-11-25 over the SDK's low-level session: no input_required driver,
    results validated as 2025-11-25."""

    era = "2025"

    async def _guard(self, what: str, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except ValidationError as exc:
            raise ScenarioFailed(
                f"{what}: the answer is not a valid 2025-11-25 result (a 2026-07-28 shape such as "
                f"input_required reached the 2025 client untranslated?): {exc}"
            ) from exc

    async def list_tools(self) -> list[dict[str, Any]]:
        result = await self._guard("tools/list", self.session.list_tools())
        return [dump(t) for t in result.tools]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return dump(await self._guard(f"tools/call {name}", self.session.call_tool(name, arguments)))

    async def list_resources(self) -> list[dict[str, Any]]:
        result = await self._guard("resources/list", self.session.list_resources())
        return [dump(r) for r in result.resources]

    async def read_resource(self, uri: str) -> dict[str, Any]:
        return dump(await self._guard(f"resources/read {uri}", self.session.read_resource(uri)))

    async def list_prompts(self) -> list[dict[str, Any]]:
        result = await self._guard("prompts/list", self.session.list_prompts())
        return [dump(p) for p in result.prompts]

    async def get_prompt(self, name: str) -> dict[str, Any]:
        return dump(await self._guard(f"prompts/get {name}", self.session.get_prompt(name)))


class Host2026(Host):
    """The SDK's high-level `Client`: 2026-07-28 when the other side is modern,
    resolving input_required results itself."""

    era = "2026"

    def __init__(self, client: Client) -> None:
        super().__init__(client.session)
        self.client = client

    async def list_tools(self) -> list[dict[str, Any]]:
        return [dump(t) for t in (await self.client.list_tools()).tools]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return dump(await self.client.call_tool(name, arguments))

    async def list_resources(self) -> list[dict[str, Any]]:
        return [dump(r) for r in (await self.client.list_resources()).resources]

    async def read_resource(self, uri: str) -> dict[str, Any]:
        return dump(await self.client.read_resource(uri))

    async def list_prompts(self) -> list[dict[str, Any]]:
        return [dump(p) for p in (await self.client.list_prompts()).prompts]

    async def get_prompt(self, name: str) -> dict[str, Any]:
        return dump(await self.client.get_prompt(name))


# --------------------------------------------------------------------------
# helpers for the scenarios
# --------------------------------------------------------------------------


def text_of(result: dict[str, Any]) -> str:
    return "\n".join(block.get("text", "") for block in result.get("content") or [])


def tool_text(result: dict[str, Any], name: str) -> str:
    text = text_of(result)
    log(f"{name} -> isError={result.get('isError', False)} text={text!r}")
    if result.get("isError"):
        raise ScenarioFailed(f"tool {name} returned isError: {text}")
    return text


def expect_text(result: dict[str, Any], name: str, expected: str) -> None:
    text = tool_text(result, name)
    if expected not in text:
        raise ScenarioFailed(f"unexpected {name} result {text!r} (wanted {expected!r})")


async def tool_names(host: Host, *required: str) -> list[str]:
    names = [t["name"] for t in await host.list_tools()]
    log(f"tools listed: {names}")
    missing = [n for n in required if n not in names]
    if missing:
        raise ScenarioFailed(f"tools {missing} not listed (got {names})")
    return names


def example_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments a person would fill in for a tool: one plausible value for
    each required property, by its JSON Schema type."""
    samples: dict[str, Any] = {
        "string": "example",
        "integer": 1,
        "number": 1.5,
        "boolean": True,
        "object": {},
        "array": [],
        "null": None,
    }
    properties = schema.get("properties") or {}
    return {
        name: samples.get((properties.get(name) or {}).get("type"), "example")
        for name in schema.get("required") or []
    }


# --------------------------------------------------------------------------
# skills (SEP-2640): the host's side
# --------------------------------------------------------------------------


class SkillRefused(Exception):
    pass


def parse_frontmatter(text: str) -> dict[str, str]:
    """The YAML frontmatter of a SKILL.md, for the flat `key: value` form
    skills use. Anything else is refused rather than guessed at."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise SkillRefused("SKILL.md does not start with a frontmatter block")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        if line.strip() == "---":
            return fields
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip() or key != key.strip() or key.strip() in fields:
            raise SkillRefused(f"frontmatter line not understood: {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        fields[key.strip()] = value
    raise SkillRefused("SKILL.md frontmatter block is not closed")


def content_bytes(result: dict[str, Any], uri: str) -> bytes:
    contents = [c for c in result.get("contents") or [] if c.get("uri") == uri] or result.get("contents") or []
    if len(contents) != 1:
        raise SkillRefused(f"{uri}: expected one content item, got {len(contents)}")
    item = contents[0]
    if "text" in item:
        return item["text"].encode("utf-8")
    if "blob" in item:
        return base64.b64decode(item["blob"])
    raise SkillRefused(f"{uri}: content has neither text nor blob")


def verify_file(data: bytes, entry: dict[str, Any]) -> None:
    uri = entry.get("uri")
    if "size" in entry and len(data) != entry["size"]:
        raise SkillRefused(f"{uri}: {len(data)} bytes, the listing says {entry['size']}")
    digest = entry.get("digest")
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        raise SkillRefused(f"{uri}: no sha256 digest to verify against ({digest!r})")
    actual = "sha256:" + hashlib.sha256(data).hexdigest()
    if actual != digest.lower():
        raise SkillRefused(f"{uri}: digest {actual} does not match the listing's {digest}")


async def load_skill(host: Host, skill: dict[str, Any]) -> None:
    """Loads one listed skill the way a host must: SKILL.md first, verified
    against its listing entry (size, digest, frontmatter), then its other
    files, each verified. Raises SkillRefused and reads nothing more on the
    first mismatch."""
    uri = skill["uri"]
    entries = {e["uri"]: e for e in skill.get("resources") or []}
    if uri not in entries:
        raise SkillRefused(f"{uri}: the listing has no integrity entry for SKILL.md")
    data = content_bytes(await host.read_resource(uri), uri)
    verify_file(data, entries[uri])
    frontmatter = parse_frontmatter(data.decode("utf-8"))
    listed = {k: str(v) for k, v in (skill.get("frontmatter") or {}).items()}
    if frontmatter != listed:
        raise SkillRefused(f"{uri}: frontmatter {frontmatter} differs from the listing's {listed}")
    log(f"skill {uri}: SKILL.md verified")
    for other, entry in entries.items():
        if other == uri:
            continue
        verify_file(content_bytes(await host.read_resource(other), other), entry)
        log(f"skill {uri}: {other} verified")


async def list_skills(host: Host) -> list[dict[str, Any]]:
    skills = (await host.list_skills()).get("skills") or []
    log(f"skills listed: {[s.get('uri') for s in skills]}")
    if not skills:
        raise ScenarioFailed("skills/list returned no skills")
    return skills


# --------------------------------------------------------------------------
# scenarios: the user stories
# --------------------------------------------------------------------------


async def scenario_initialize(host: Host, person: Person, context: dict[str, Any]) -> None:
    await host.list_tools()


async def scenario_tools_call(host: Host, person: Person, context: dict[str, Any]) -> None:
    await tool_names(host, "add_numbers")
    expect_text(await host.call_tool("add_numbers", {"a": 5, "b": 3}), "add_numbers", "8")


async def scenario_sse_retry(host: Host, person: Person, context: dict[str, Any]) -> None:
    await tool_names(host, "test_reconnection")
    # The server closes the POST's SSE stream after a priming event; the
    # response only arrives on the GET the client reconnects with.
    result = await host.call_tool("test_reconnection", {})
    expect_text(result, "test_reconnection", "Reconnection test completed")


async def scenario_elicitation_defaults(host: Host, person: Person, context: dict[str, Any]) -> None:
    await tool_names(host, "test_client_elicitation_defaults")
    result = await host.call_tool("test_client_elicitation_defaults", {})
    if not tool_text(result, "test_client_elicitation_defaults").startswith("Elicitation completed"):
        raise ScenarioFailed("elicitation did not complete")
    if len(person.elicitations) != 1:
        raise ScenarioFailed(f"expected one elicitation, got {person.elicitations}")


async def scenario_request_metadata(host: Host, person: Person, context: dict[str, Any]) -> None:
    # Every request is checked (header, _meta, declared capabilities); the
    # server rejects the first one with -32022 naming 2026-07-28, which the
    # client side must get past by retrying at that version.
    await host.list_tools()
    await host.list_tools()


async def scenario_mrtr(host: Host, person: Person, context: dict[str, Any]) -> None:
    await tool_names(
        host, "test_mrtr_echo_state", "test_mrtr_no_state", "test_mrtr_unrelated", "test_mrtr_no_result_type"
    )
    unrelated: list[str] = []

    async def between_rounds(params: dict[str, Any]) -> None:
        # While the person is being asked (the echo_state call is waiting for
        # input), the host runs another tool: that call must not carry the
        # pending call's requestState or inputResponses.
        if not unrelated:
            unrelated.append(tool_text(await host.call_tool("test_mrtr_unrelated", {}), "test_mrtr_unrelated"))

    person.before_answer = between_rounds
    expect_text(await host.call_tool("test_mrtr_echo_state", {}), "test_mrtr_echo_state", "echo-state-ok")
    person.before_answer = None
    if unrelated != ["unrelated-ok"]:
        raise ScenarioFailed(f"the call between rounds did not complete: {unrelated}")
    expect_text(await host.call_tool("test_mrtr_no_state", {}), "test_mrtr_no_state", "no-state-ok")
    expect_text(
        await host.call_tool("test_mrtr_no_result_type", {}), "test_mrtr_no_result_type", "no-result-type-test-ok"
    )
    messages = [e.get("message") for e in person.elicitations]
    log(f"elicitations answered: {messages}")
    if len(messages) != 2:
        raise ScenarioFailed(f"expected two elicitations (echo_state, no_state), got {messages}")


async def scenario_standard_headers(host: Host, person: Person, context: dict[str, Any]) -> None:
    for name in await tool_names(host, "test_headers", "my-hyphenated-tool"):
        expect_text(await host.call_tool(name, {}), name, "Headers test completed")
    resources = await host.list_resources()
    if not resources:
        raise ScenarioFailed("no resources listed")
    for resource in resources:
        await host.read_resource(resource["uri"])
    prompts = await host.list_prompts()
    if not prompts:
        raise ScenarioFailed("no prompts listed")
    for prompt in prompts:
        await host.get_prompt(prompt["name"])


async def scenario_custom_headers(host: Host, person: Person, context: dict[str, Any]) -> None:
    calls = context.get("toolCalls")
    if not calls:
        raise ScenarioFailed(f"MCP_CONFORMANCE_CONTEXT has no toolCalls: {context}")
    await tool_names(host, *[c["name"] for c in calls])
    for call in calls:
        expect_text(await host.call_tool(call["name"], call["arguments"]), call["name"], "Custom headers test completed")


async def scenario_invalid_tool_headers(host: Host, person: Person, context: dict[str, Any]) -> None:
    # The host calls every tool it is offered. Tools whose x-mcp-header
    # declarations are invalid must never be offered (the server counts a
    # call to one as a failure); the valid one must still be.
    tools = await host.list_tools()
    names = [t["name"] for t in tools]
    log(f"tools listed: {names}")
    if "valid_tool" not in names:
        raise ScenarioFailed(f"valid_tool not listed (got {names})")
    for tool in tools:
        tool_text(await host.call_tool(tool["name"], example_arguments(tool.get("inputSchema") or {})), tool["name"])


async def scenario_ref_no_deref(host: Host, person: Person, context: dict[str, Any]) -> None:
    tools = {t["name"]: t for t in await host.list_tools()}
    if "lookup_user" not in tools:
        raise ScenarioFailed(f"lookup_user not listed (got {list(tools)})")
    schema = tools["lookup_user"].get("inputSchema") or {}
    ref = ((schema.get("properties") or {}).get("profile") or {}).get("$ref")
    if not (isinstance(ref, str) and ref.startswith("http")):
        raise ScenarioFailed(f"the network $ref did not arrive verbatim: {schema}")


async def scenario_schema_preservation(host: Host, person: Person, context: dict[str, Any]) -> None:
    tools = {t["name"]: t for t in await host.list_tools()}
    for name in ("json_schema_2020_12_tool", "json_schema_echo"):
        if name not in tools:
            raise ScenarioFailed(f"{name} not listed (got {list(tools)})")
    schema = tools["json_schema_2020_12_tool"]["inputSchema"]
    log(f"json_schema_2020_12_tool inputSchema as received: {json.dumps(schema)}")
    tool_text(await host.call_tool("json_schema_echo", {"schema": schema}), "json_schema_echo")


async def scenario_skills_no_prefetch(host: Host, person: Person, context: dict[str, Any]) -> None:
    # The person looks at the skills on offer and uses none: nothing is read.
    await list_skills(host)


async def scenario_skills_load(host: Host, person: Person, context: dict[str, Any]) -> None:
    # The person asks to use each listed skill; the host loads it, verifying
    # every file against the listing, and refuses it on any mismatch.
    for skill in await list_skills(host):
        try:
            await load_skill(host, skill)
            log(f"skill {skill['uri']} loaded")
        except SkillRefused as refusal:
            log(f"skill {skill.get('uri')} REFUSED: {refusal}")


Scenario = Callable[[Host, Person, dict[str, Any]], Awaitable[None]]

SCENARIOS: dict[str, Scenario] = {
    "initialize": scenario_initialize,
    "tools_call": scenario_tools_call,
    "sse-retry": scenario_sse_retry,
    "elicitation-sep1034-client-defaults": scenario_elicitation_defaults,
    "request-metadata": scenario_request_metadata,
    "sep-2322-client-request-state": scenario_mrtr,
    "http-standard-headers": scenario_standard_headers,
    "http-custom-headers": scenario_custom_headers,
    "http-invalid-tool-headers": scenario_invalid_tool_headers,
    "json-schema-ref-no-deref": scenario_ref_no_deref,
    "json-schema-2020-12-preservation": scenario_schema_preservation,
    "sep-2640-client-no-prefetch": scenario_skills_no_prefetch,
    "sep-2640-client-verify-digest": scenario_skills_load,
    "sep-2640-client-verify-size": scenario_skills_load,
    "sep-2640-client-verify-frontmatter": scenario_skills_load,
}


# --------------------------------------------------------------------------
# transports and the two eras
# --------------------------------------------------------------------------


class CompleteByDefault:
    """The read side of a transport, assuming `resultType: "complete"` for a
    result that has none, as the 2026-07-28 revision tells clients to
    (SEP-2322; checked by sep-2322-client-request-state's
    test_mrtr_no_result_type). The SDK's 2.3.0 client requires the field, so
    the host supplies the default before the SDK validates the result."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @staticmethod
    def _fill(item: Any) -> Any:
        message = getattr(item, "message", None)
        if isinstance(message, types.JSONRPCResponse) and "resultType" not in message.result:
            message.result["resultType"] = "complete"
        return item

    async def receive(self) -> Any:
        return self._fill(await self._inner.receive())

    def __aiter__(self) -> "CompleteByDefault":
        return self

    async def __anext__(self) -> Any:
        return self._fill(await self._inner.__anext__())

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> "CompleteByDefault":
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._inner.__aexit__(*exc)


@asynccontextmanager
async def complete_by_default(inner: Any) -> AsyncIterator[Any]:
    async with inner as (read, write):
        yield CompleteByDefault(read), write


def bridge_binary(explicit: str | None) -> str:
    candidate = explicit or os.environ.get("MCP_BRIDGE_BIN") or str(REPO_ROOT / "target" / "debug" / "mcp-bridge")
    if not os.path.isfile(candidate) or not os.access(candidate, os.X_OK):
        raise ScenarioFailed(
            f"mcp-bridge binary not found or not executable at {candidate!r} "
            "(set MCP_BRIDGE_BIN or run `cargo build`)"
        )
    return candidate


def write_config(directory: str, url: str, extra: str | None) -> str:
    # JSON string escaping is a valid subset of TOML basic strings.
    lines = ["[servers.remote]", f"url = {json.dumps(url, ensure_ascii=False)}"]
    if extra:
        lines.append(extra)
    path = os.path.join(directory, "mcp-bridge.toml")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def transport(args: argparse.Namespace, workdir: str) -> Any:
    """The SDK transport to the server: the bridge over stdio, or (with
    --direct) the scenario server itself over Streamable HTTP."""
    if args.direct:
        log(f"DIRECT mode (no bridge): {args.url}")
        return streamable_http_client(args.url)
    binary = bridge_binary(args.bridge_bin)
    config = write_config(workdir, args.url, args.extra_config or os.environ.get("MCP_BRIDGE_EXTRA_CONFIG"))
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    # The bridge's store (tokens, remembered eras) lives with this run, not
    # in the user's data directory.
    env["MCP_BRIDGE_DATA_DIR"] = os.path.join(workdir, "data")
    params = StdioServerParameters(command=binary, args=["--config", config, "serve", "remote"], env=env, cwd=workdir)
    log(f"bridge: {binary} --config {config} serve remote  (remote {args.url})")
    # The bridge's stderr goes to ours, so the suite prints it on failure.
    return stdio_client(params, errlog=sys.stderr)


@asynccontextmanager
async def connect(args: argparse.Namespace, person: Person, workdir: str) -> AsyncIterator[Host]:
    server_version = os.environ.get("MCP_CONFORMANCE_PROTOCOL_VERSION")
    if args.era == "2025":
        async with transport(args, workdir) as (read, write):
            async with ClientSession(
                read,
                write,
                client_info=CLIENT_INFO,
                elicitation_callback=person.elicit,
                sampling_callback=person.sample,
                list_roots_callback=person.roots,
                extensions={SKILLS_EXTENSION: {}},
            ) as session:
                init = await session.initialize()
                log(
                    f"initialized: protocolVersion={init.protocol_version} "
                    f"server={init.server_info.name} {init.server_info.version}"
                )
                yield Host2025(session)
        return

    client = Client(
        complete_by_default(transport(args, workdir)),
        mode="auto",
        client_info=CLIENT_INFO,
        elicitation_callback=person.elicit,
        sampling_callback=person.sample,
        list_roots_callback=person.roots,
        extensions=[advertise(SKILLS_EXTENSION)],
    )
    async with client:
        info = client.server_info
        log(
            f"connected: protocolVersion={client.protocol_version} "
            f"server={info.name if info else '?'} {info.version if info else ''} "
            f"(scenario server speaks {server_version})"
        )
        if server_version == MODERN and client.protocol_version != MODERN:
            raise ScenarioFailed(
                f"the 2026 client negotiated {client.protocol_version!r} with a {MODERN} server "
                "(its server/discover probe was not answered as a 2026-07-28 discover result)"
            )
        yield Host2026(client)


async def run(args: argparse.Namespace) -> None:
    scenario = SCENARIOS.get(args.scenario)
    if scenario is None:
        raise ScenarioFailed(f"the driver has no steps for scenario {args.scenario!r}; add them to SCENARIOS")
    context: dict[str, Any] = {}
    if os.environ.get("MCP_CONFORMANCE_CONTEXT"):
        context = json.loads(os.environ["MCP_CONFORMANCE_CONTEXT"])
    person = Person()
    with tempfile.TemporaryDirectory(prefix="mcp-bridge-conformance-") as workdir:
        with anyio.fail_after(args.timeout):
            async with connect(args, person, workdir) as host:
                await scenario(host, person, context)
    log(f"scenario {args.scenario!r} ({args.era} client): client steps completed")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--era", choices=["2025", "2026"], default="2025")
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


def leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, or `exc` itself."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="[sdk] %(name)s: %(message)s")
    args = parse_args(argv)
    log(
        f"scenario={args.scenario} era={args.era} url={args.url} "
        f"server revision={os.environ.get('MCP_CONFORMANCE_PROTOCOL_VERSION')}"
    )
    try:
        anyio.run(run, args)
    except BaseException as exc:  # noqa: BLE001 - report everything, incl. ExceptionGroup
        for leaf in leaves(exc):
            if isinstance(leaf, ScenarioFailed):
                log(f"FAILED: {leaf}")
            elif isinstance(leaf, TimeoutError):
                log(f"FAILED: scenario {args.scenario!r} did not finish within {args.timeout}s")
            else:
                log(f"FAILED: {type(leaf).__name__}: {leaf}")
                traceback.print_exception(leaf, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
