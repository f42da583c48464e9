//! The help texts: a short description and examples for each subcommand, in
//! the manner of ripgrep, plus the exit codes.

pub const LONG_ABOUT: &str = "mcp-bridge is started by an MCP client (Claude Desktop, Cursor, an agent \
framework) as a stdio MCP server. It relays every message to the remote server named in its config, \
adding the credentials that provider needs, so no secret sits in the client's JSON or on the command \
line.\n\n\
Config: --config PATH, else $MCP_BRIDGE_CONFIG, else the per-OS default (see `mcp-bridge config path`). \
With no config file at all, `serve` runs against the built-in sandbox provider.";

pub const MAIN: &str = "\
Examples:
  mcp-bridge config init             write a starter config (the sandbox, commented examples)
  mcp-bridge doctor                  check every server end to end
  mcp-bridge install claude zapier   print the Claude Desktop entry for [servers.zapier]
  mcp-bridge tools zapier            list its tools
  mcp-bridge call sandbox chat_send_message '{\"channel\":\"general\",\"text\":\"hi\"}'
  mcp-bridge serve zapier            what the desktop client runs: relay stdio to [servers.zapier]
  RUST_LOG=debug mcp-bridge serve    log to stderr in detail

Exit codes:
  0  success
  1  a check, tool call, sign-in or file write failed (doctor found a problem, isError, ...)
  2  the command line or the config is wrong; nothing was tried";

pub const SERVE: &str = "\
Speaks MCP on stdin/stdout; logs go to stderr. This is what a desktop client runs.

Examples:
  mcp-bridge serve zapier
  mcp-bridge --config ~/work/bridge.toml serve pipedream-slack
  mcp-bridge serve zapier pipedream-slack    both as one server, tools prefixed `zapier__`…
  mcp-bridge serve                   the `default = …` server, or the only one";

pub const DOCTOR: &str = "\
For each server: the config is valid, its credentials resolve, its token state, the remote is
reachable, and `initialize` + `tools/list` succeed through the same relay as `serve` (with the
tool count and round-trip time). Secrets are never shown. Each failure says what to do.

Examples:
  mcp-bridge doctor
  mcp-bridge doctor zapier
  mcp-bridge doctor work             the servers of [bundles.work]
  mcp-bridge --config ./team.toml doctor

Exit codes: 0 every check passed, 1 a check failed, 2 no such server.";

pub const INSTALL: &str = "\
Prints the JSON entry for the client's config file: `command` is this binary's absolute path and
`args` runs `serve <server>` (or `serve <bundle>`; with `--config` when you use a non-default
config). No secret goes in it. --write merges it into the file, keeping every other entry, after
copying the file to <file>.bak-<time>; a file that is not valid JSON is left alone.

Files:
  claude  macOS    ~/Library/Application Support/Claude/claude_desktop_config.json
          Windows  %APPDATA%\\Claude\\claude_desktop_config.json
          Linux    ~/.config/Claude/claude_desktop_config.json
  cursor  ~/.cursor/mcp.json (Windows: %USERPROFILE%\\.cursor\\mcp.json)

Examples:
  mcp-bridge install claude zapier
  mcp-bridge install claude zapier pipedream-slack --write
  mcp-bridge install cursor sandbox --file ./.cursor/mcp.json --write

Exit codes: 0 printed or written, 1 the file could not be read, parsed or written, 2 no such server.";

pub const TOOLS: &str = "\
Examples:
  mcp-bridge tools sandbox
  mcp-bridge tools zapier --json | jq '.[].name'
  mcp-bridge tools work              a bundle: every server's tools, as `<server>__<tool>`

Exit codes: 0 listed, 1 the server failed, 2 no such server or a config error.";

pub const CALL: &str = "\
Prints the text of the result (structured content as JSON); --json prints the whole result.

Examples:
  mcp-bridge call sandbox chat_list_channels
  mcp-bridge call sandbox chat_send_message '{\"channel\":\"general\",\"text\":\"hi\"}'
  mcp-bridge call zapier slack_find_user '{\"email\":\"a@b.c\"}' --json
  mcp-bridge call work zapier__slack_find_user '{\"email\":\"a@b.c\"}'

Exit codes: 0 the tool succeeded, 1 the result has isError or the call got a JSON-RPC error,
2 bad arguments, no such server or a config error.";

pub const CONFIG: &str = "\
Examples:
  mcp-bridge config path             where the config is read from
  mcp-bridge config init             write a starter file there (never overwrites)
  mcp-bridge config check            validate it and resolve its credentials, without connecting
  mcp-bridge --config ./team.toml config check zapier

Exit codes: 0 ok, 1 init found a file already there, 2 the config is invalid.";

pub const CHECK: &str = "\
Examples:
  mcp-bridge check
  mcp-bridge --config ./config.example.toml check sandbox";

pub const SANDBOX: &str = "\
Examples:
  mcp-bridge sandbox --port 8931               the sandbox provider for other MCP clients
  mcp-bridge sandbox --provider pipedream      an emulator, with a config entry to reach it
  mcp-bridge sandbox --provider zapier --port 8932   the same entry after every restart";

pub const LOGIN: &str = "\
Examples:
  mcp-bridge login pipe2-oauth
  mcp-bridge login pipe2-oauth --no-browser    print the link instead of opening it";

pub const PACK: &str = "\
Writes an MCP Bundle (.mcpb) that Claude Desktop installs with a double-click: this bridge for each
platform given, a config with the servers named and no secret in it, and a manifest. Each secret the
servers need becomes a setting Claude Desktop asks for at install (marked sensitive: it keeps it in
the OS keychain) and passes to the bridge in its environment.

Examples:
  mcp-bridge pack zapier                        this binary, for this platform
  mcp-bridge pack work --output work.mcpb       a bundle of servers
  mcp-bridge pack zapier --binary darwin=dist/mcp-bridge-macos \\
      --binary win32=dist/mcp-bridge.exe --binary linux=dist/mcp-bridge

Exit codes: 0 written, 1 a binary could not be read or the file written, 2 no such server.";

pub const SECRET: &str = "\
The OS keychain: Keychain on macOS, Credential Manager on Windows, the Secret Service (GNOME
Keyring, KWallet, KeePassXC) on Linux. A config value { keyring = \"service/account\" } reads it.
`set` asks for the value at a prompt that does not show it, or reads stdin when it is piped;
the value is never an argument.

Examples:
  mcp-bridge secret set mcp-bridge/zapier       then: token = { keyring = \"mcp-bridge/zapier\" }
  pass show zapier | mcp-bridge secret set mcp-bridge/zapier
  mcp-bridge secret delete mcp-bridge/zapier

Exit codes: 0 done, 1 the keychain failed or has no such entry, 2 a malformed name or no value.";
