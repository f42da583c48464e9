#!/usr/bin/env python3
"""Client under test for the `auth/*` scenarios of the MCP conformance suite.

The suite (`conformance client --command "<this> --mode M" --scenario auth/...`)
starts an authorization server and a protected MCP server, then runs this
script with the MCP URL as the last argument, MCP_CONFORMANCE_SCENARIO set
and, where the scenario hands the client credentials,
MCP_CONFORMANCE_CONTEXT={"client_id": ..., ...}.

It plays only the desktop MCP client and the person at the browser; it never
talks HTTP to the servers itself (the browser aside) and never does OAuth:

* writes the config a person would write for that server: `auth = "oauth"`
  with the context's pre-registered client if there is one, else a client ID
  metadata document URL (`client_metadata_url`, used only where the server
  takes such documents); `auth = "client_credentials"` or `"enterprise"` with
  the context's credentials for those extension scenarios;
* starts `mcp-bridge --config FILE serve conformance` with its own token store
  and MCP_BRIDGE_BROWSER pointing back at this script (`--browse URL`: follow
  the authorize redirects to the bridge's loopback callback, and note whether
  that page said the sign-in came back);
* over stdio, in one of two modes of the desktop client:
  `--mode 2025` speaks 2025-11-25 (initialize, notifications/initialized);
  `--mode 2026` speaks 2026-07-28 (server/discover, and the protocol version,
  client info and capabilities in every request's `_meta`), falling back to
  initialize where server/discover is refused, as such a client does;
  then tools/list and tools/call. A call answered with the bridge's sign-in
  link is followed through the browser, then (2025) the driver waits for
  notifications/tools/list_changed or (2026) lists the tools again until the
  stand-in `sign_in` tool is gone; a call that fails is asked again once
  more (as the person would, after the bridge dropped a token the server no
  longer takes).

Exit status 0 when a tool call succeeded, 1 otherwise (the suite allows a
failing client in the scenarios that expect the client to refuse). Stdlib
only; run it with tests/peers/.venv/bin/python.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

CIMD_URL = "https://conformance-test.local/client-metadata.json"
REPO = Path(__file__).resolve().parents[2]
WAIT = float(os.environ.get("AUTH_DRIVER_TIMEOUT", "25"))
PROTOCOL = {"2025": "2025-11-25", "2026": "2026-07-28"}
CLIENT_INFO = {"name": "conformance-auth-driver", "version": "1.0.0"}
BROWSE_LOG = "browse.log"


def log(msg: str) -> None:
    sys.stderr.write(f"auth_driver: {msg}\n")
    sys.stderr.flush()


def browse(url: str) -> int:
    """The person: open the authorize URL and follow it to the bridge's callback.

    Records the outcome in $AUTH_DRIVER_DIR/browse.log: `ok` when the
    callback page said the sign-in came back, else why not."""
    outcome = "ok"
    try:
        with urllib.request.urlopen(url, timeout=20) as resp:
            page = resp.read().decode("utf-8", "replace")
            if resp.status != 200 or "/callback" not in resp.geturl():
                outcome = f"ended at {resp.geturl()} with HTTP {resp.status}"
            elif "Signed in" not in page:
                outcome = "the callback page did not say signed in"
    except urllib.error.HTTPError as e:
        outcome = f"HTTP {e.code} at {e.geturl()}: {e.read().decode('utf-8', 'replace')[:300]}"
    except Exception as e:  # noqa: BLE001 - any failure is the outcome
        outcome = f"{type(e).__name__}: {e}"
    directory = os.environ.get("AUTH_DRIVER_DIR")
    if directory:
        with open(Path(directory, BROWSE_LOG), "a", encoding="utf-8") as f:
            f.write(outcome.replace("\n", " ") + "\n")
    return 0 if outcome == "ok" else 1


def toml_str(s: str) -> str:
    return json.dumps(s)


def config_lines(scenario: str, server_url: str, context: dict, directory: str) -> list[str]:
    """The [servers.conformance] table a person would write for this server."""
    lines = ["[servers.conformance]", f"url = {toml_str(server_url)}"]
    if scenario.startswith("auth/client-credentials"):
        lines += ['auth = "client_credentials"', f"client_id = {toml_str(context['client_id'])}"]
        if context.get("private_key_pem"):
            key = Path(directory, "client-key.pem")
            key.write_text(context["private_key_pem"])
            lines.append(f"private_key = {{ file = {toml_str(str(key))} }}")
            if context.get("signing_algorithm"):
                lines.append(f"signing_algorithm = {toml_str(context['signing_algorithm'])}")
        else:
            lines.append(f"client_secret = {toml_str(context['client_secret'])}")
    elif scenario.startswith("auth/enterprise-managed"):
        lines += [
            'auth = "enterprise"',
            f"client_id = {toml_str(context['client_id'])}",
            f"client_secret = {toml_str(context['client_secret'])}",
            f"idp_issuer = {toml_str(context['idp_issuer'])}",
            f"idp_token_endpoint = {toml_str(context['idp_token_endpoint'])}",
            f"idp_client_id = {toml_str(context['idp_client_id'])}",
            f"id_token = {toml_str(context['idp_id_token'])}",
        ]
    else:
        lines.append('auth = "oauth"')
        if context.get("client_id"):
            lines.append(f"client_id = {toml_str(context['client_id'])}")
            if context.get("client_secret"):
                lines.append(f"client_secret = {toml_str(context['client_secret'])}")
        else:
            lines.append(f"client_metadata_url = {toml_str(CIMD_URL)}")
    return lines


class Bridge:
    def __init__(self, scenario: str, server_url: str, context: dict, mode: str) -> None:
        self.mode = mode
        self.dir = tempfile.mkdtemp(prefix="mcp-bridge-auth-driver-")
        config = Path(self.dir, "config.toml")
        config.write_text("\n".join(config_lines(scenario, server_url, context, self.dir)) + "\n")
        binary = os.environ.get("MCP_BRIDGE_BIN") or str(REPO / "target/debug/mcp-bridge")
        env = dict(os.environ)
        env["MCP_BRIDGE_DATA_DIR"] = str(Path(self.dir, "data"))
        env["MCP_BRIDGE_BROWSER"] = f"{sys.executable} {Path(__file__).resolve()} --browse"
        env["MCP_BRIDGE_LOGIN_TIMEOUT"] = "20"
        env["AUTH_DRIVER_DIR"] = self.dir
        self.proc = subprocess.Popen(
            [binary, "--config", str(config), "serve", "conformance"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )
        self.inbox: "queue.Queue[dict]" = queue.Queue()
        self.notes: list[dict] = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            try:
                self.inbox.put(json.loads(line))
            except ValueError:
                log(f"not JSON on stdout: {line!r}")

    def send(self, msg: dict) -> None:
        assert self.proc.stdin
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()

    def _next(self, deadline: float) -> dict | None:
        try:
            return self.inbox.get(timeout=max(0.0, min(0.2, deadline - time.time())))
        except queue.Empty:
            return None

    def meta(self) -> dict:
        return {
            "io.modelcontextprotocol/protocolVersion": PROTOCOL["2026"],
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
        }

    def request(self, method: str, params: dict | None = None) -> dict:
        self.next_id += 1
        rid = self.next_id
        params = dict(params or {})
        if self.mode == "2026":
            params["_meta"] = self.meta()
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        deadline = time.time() + WAIT
        while time.time() < deadline:
            m = self._next(deadline)
            if m is None:
                continue
            if m.get("id") == rid and "method" not in m:
                return m
            self.notes.append(m)
        raise TimeoutError(f"no answer to {method}")

    def handshake(self) -> bool:
        if self.mode == "2026":
            found = self.request("server/discover")
            if "result" in found:
                return True
            # As a 2026-07-28 client does with a server that predates it.
            log(f"server/discover refused ({json.dumps(found.get('error'))}); falling back to initialize")
            self.mode = "2025"
        init = self.request("initialize", {
            "protocolVersion": PROTOCOL["2025"], "capabilities": {}, "clientInfo": CLIENT_INFO,
        })
        if "result" not in init:
            log(f"initialize failed: {json.dumps(init)}")
            return False
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return True

    def browse_outcomes(self) -> list[str]:
        try:
            return Path(self.dir, BROWSE_LOG).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []

    def wait_browser(self, before: int) -> bool:
        """Waits until a browser step after the first `before` has ended;
        True if the sign-in came back."""
        deadline = time.time() + WAIT
        while time.time() < deadline:
            outcomes = self.browse_outcomes()
            if len(outcomes) > before:
                if outcomes[-1] != "ok":
                    log(f"the sign-in did not come back: {outcomes[-1]}")
                    return False
                return True
            m = self._next(time.time() + 0.2)
            if m is not None:
                self.notes.append(m)
        log("the browser was never opened for the sign-in")
        return False

    def wait_note(self, method: str) -> bool:
        deadline = time.time() + WAIT
        while True:
            for i, n in enumerate(self.notes):
                if n.get("method") == method:
                    del self.notes[i]
                    return True
            if time.time() >= deadline:
                return False
            m = self._next(deadline)
            if m is not None:
                self.notes.append(m)

    def close(self) -> None:
        try:
            assert self.proc.stdin
            self.proc.stdin.close()
            self.proc.wait(timeout=3)
        except Exception:  # noqa: BLE001
            self.proc.kill()


def sign_in_link(answer: dict) -> str | None:
    return answer.get("result", {}).get("_meta", {}).get("mcp-bridge/sign-in", {}).get("url")


def run(server_url: str, mode: str) -> int:
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "?")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    log(f"scenario {scenario}, mode {mode}, server {server_url}")
    bridge = Bridge(scenario, server_url, context, mode)
    try:
        if not bridge.handshake():
            return 1
        listed = bridge.request("tools/list")
        tools = [t["name"] for t in listed.get("result", {}).get("tools", [])]

        def call_tool() -> tuple[dict, int]:
            before = len(bridge.browse_outcomes())
            name = "test-tool" if "test-tool" in tools or not tools else tools[0]
            return bridge.request("tools/call", {"name": name, "arguments": {}}), before

        failures = 0
        call, before = call_tool()
        for _ in range(6):
            if sign_in_link(call):
                log("signed out: the bridge handed out a sign-in link")
                if not bridge.wait_browser(before):
                    return 1
                if mode == "2025":
                    if not bridge.wait_note("notifications/tools/list_changed"):
                        log("no tools/list_changed: the sign-in did not complete")
                        return 1
                    listed = bridge.request("tools/list")
                    tools = [t["name"] for t in listed.get("result", {}).get("tools", [])]
                    call, before = call_tool()
                else:
                    # A 2026-07-28 client has no list_changed without a
                    # subscription: it lists the tools again until the
                    # bridge's stand-in `sign_in` tool is gone.
                    deadline = time.time() + WAIT
                    while True:
                        listed = bridge.request("tools/list")
                        tools = [t["name"] for t in listed.get("result", {}).get("tools", [])]
                        if tools != ["sign_in"] or time.time() >= deadline:
                            break
                        time.sleep(0.3)
                    call, before = call_tool()
                continue
            if "result" in call and not call["result"].get("isError"):
                log("tools/call succeeded")
                return 0
            failures += 1
            log(f"tools/call failed: {json.dumps(call)}")
            if failures > 1:
                return 1
            call, before = call_tool()
        log("gave up: still no result")
        return 1
    except TimeoutError as e:
        log(str(e))
        return 1
    finally:
        bridge.close()


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[1] == "--browse":
        return browse(argv[2])
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=sorted(PROTOCOL), default="2025")
    parser.add_argument("server_url")
    args = parser.parse_args(argv[1:])
    return run(args.server_url, args.mode)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
