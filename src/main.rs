//! Entry point: parse the command line and hand off to `cli`.

fn main() -> std::process::ExitCode {
    mcp_bridge::cli::main()
}
