#!/usr/bin/env python3
"""Client under test for the `auth/*` scenarios of the MCP conformance suite.

The suite (`conformance client --command "<this> " --scenario auth/...`)
starts an authorization server and a protected MCP server, then runs this
script with the MCP URL as the last argument, MCP_CONFORMANCE_SCENARIO set
and, for pre-registration, MCP_CONFORMANCE_CONTEXT={"client_id": ...,
"client_secret": ...}.

It plays the desktop MCP client and the person at the browser:

* writes a throw-away config, `[servers.conformance] url = <URL>`,
  `auth = "oauth"`, with the context's pre-registered credentials, else the
  suite's client ID metadata document URL as `client_id` (mcp-bridge uses it
  only where the server accepts such documents and registers otherwise);
* starts `mcp-bridge --config FILE serve conformance` with its own token
  store and MCP_BRIDGE_BROWSER pointing back at this script (`--browse URL`:
  follow the authorize URL's redirects to the bridge's loopback callback);
* over stdio: initialize, tools/list, tools/call (answered with the sign-in
  link while signed out, which opens the "browser"), waits for
  notifications/tools/list_changed, then tools/list and tools/call test-tool.

Exit status 0 when the final call succeeded, 1 otherwise (the suite allows
a failing client in resource-mismatch and scope-retry-limit). Stdlib only.
Paths must not contain spaces (the suite and MCP_BRIDGE_BROWSER split on them).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

CIMD_URL = "https://conformance-test.local/client-metadata.json"
REPO = Path(__file__).resolve().parents[2]
WAIT = float(os.environ.get("AUTH_DRIVER_TIMEOUT", "25"))


def log(msg: str) -> None:
    sys.stderr.write(f"auth_driver: {msg}\n")
    sys.stderr.flush()


def browse(url: str) -> int:
    """The person: open the authorize URL, let it redirect to the callback."""
    with urllib.request.urlopen(url, timeout=20) as resp:
        resp.read()
        return 0 if resp.status == 200 else 1


def toml_str(s: str) -> str:
    return json.dumps(s)


class Bridge:
    def __init__(self, server_url: str, context: dict) -> None:
        self.dir = tempfile.mkdtemp(prefix="mcp-bridge-auth-driver-")
        config = Path(self.dir, "config.toml")
        lines = ["[servers.conformance]", f"url = {toml_str(server_url)}", 'auth = "oauth"']
        lines.append(f"client_id = {toml_str(context.get('client_id') or CIMD_URL)}")
        if context.get("client_secret"):
            lines.append(f"client_secret = {toml_str(context['client_secret'])}")
        config.write_text("\n".join(lines) + "\n")
        binary = os.environ.get("MCP_BRIDGE_BIN") or str(REPO / "target/debug/mcp-bridge")
        env = dict(os.environ)
        env["MCP_BRIDGE_DATA_DIR"] = str(Path(self.dir, "data"))
        env["MCP_BRIDGE_BROWSER"] = f"{sys.executable} {Path(__file__).resolve()} --browse"
        env["MCP_BRIDGE_LOGIN_TIMEOUT"] = "20"
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
            return self.inbox.get(timeout=max(0.0, deadline - time.time()))
        except queue.Empty:
            return None

    def request(self, method: str, params: dict | None = None) -> dict:
        self.next_id += 1
        rid = self.next_id
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        deadline = time.time() + WAIT
        while (m := self._next(deadline)) is not None:
            if m.get("id") == rid and "method" not in m:
                return m
            self.notes.append(m)
        raise TimeoutError(f"no answer to {method}")

    def wait_note(self, method: str) -> bool:
        if any(n.get("method") == method for n in self.notes):
            return True
        deadline = time.time() + WAIT
        while (m := self._next(deadline)) is not None:
            if m.get("method") == method:
                return True
            self.notes.append(m)
        return False

    def close(self) -> None:
        try:
            assert self.proc.stdin
            self.proc.stdin.close()
            self.proc.wait(timeout=3)
        except Exception:
            self.proc.kill()


def run(server_url: str) -> int:
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "?")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    log(f"scenario {scenario}, server {server_url}")
    bridge = Bridge(server_url, context)
    try:
        init = bridge.request("initialize", {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "conformance-auth-driver", "version": "1.0.0"},
        })
        if "result" not in init:
            log(f"initialize failed: {init}")
            return 1
        bridge.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        listed = bridge.request("tools/list", {})
        tools = [t["name"] for t in listed.get("result", {}).get("tools", [])]
        first = bridge.request("tools/call", {"name": tools[0] if tools else "test-tool", "arguments": {}})
        result = first.get("result", {})
        sign_in = result.get("_meta", {}).get("mcp-bridge/sign-in")
        if sign_in:
            log("signed out: the bridge handed out a sign-in link; waiting for tools/list_changed")
            if not bridge.wait_note("notifications/tools/list_changed"):
                log("no tools/list_changed: the sign-in did not complete")
                return 1
        elif result.get("isError") or "error" in first:
            log(f"cannot sign in: {json.dumps(first)}")
            return 1
        listed = bridge.request("tools/list", {})
        if "result" not in listed:
            log(f"tools/list failed: {json.dumps(listed)}")
            return 1
        tools = [t["name"] for t in listed["result"]["tools"]]
        call = bridge.request("tools/call", {"name": "test-tool" if "test-tool" in tools else tools[0], "arguments": {}})
        if "result" in call and not call["result"].get("isError"):
            log("tools/call succeeded")
            return 0
        log(f"tools/call failed: {json.dumps(call)}")
        return 1
    except TimeoutError as e:
        log(str(e))
        return 1
    finally:
        bridge.close()


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[1] == "--browse":
        return browse(argv[2])
    if len(argv) < 2:
        log("usage: auth_driver.py <server-url>")
        return 2
    return run(argv[-1])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
