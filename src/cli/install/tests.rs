use super::*;

#[test]
fn client_files_per_os() {
    let home = Path::new("/h");
    let f = |c, os, appdata: Option<&str>, xdg: Option<&str>| {
        client_file(c, os, home, appdata.map(Path::new), xdg.map(Path::new))
    };
    let claude = "claude_desktop_config.json";
    assert_eq!(
        f(Client::Claude, "macos", None, None),
        Path::new("/h/Library/Application Support/Claude").join(claude)
    );
    assert_eq!(
        f(Client::Claude, "windows", Some("/h/AppData/Roaming"), None),
        Path::new("/h/AppData/Roaming/Claude").join(claude)
    );
    assert_eq!(
        f(Client::Claude, "linux", None, None),
        Path::new("/h/.config/Claude").join(claude)
    );
    assert_eq!(
        f(Client::Claude, "linux", None, Some("/x")),
        Path::new("/x/Claude").join(claude)
    );
    for os in ["macos", "windows", "linux"] {
        assert_eq!(f(Client::Cursor, os, None, None), Path::new("/h/.cursor/mcp.json"));
    }
}

#[test]
fn timestamps_are_utc_and_sortable() {
    assert_eq!(timestamp(0), "19700101-000000");
    assert_eq!(timestamp(951_827_696), "20000229-123456");
}
