use super::*;

#[tokio::test]
async fn save_load_modes_and_lock() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path().join("tokens"));
    assert_eq!(store.load("a/b").unwrap(), None);
    let rec = Record {
        access_token: Some("at".into()),
        expires_at: Some(now() + 100),
        ..Default::default()
    };
    store.save("a/b", &rec).unwrap();
    assert_eq!(store.load("a/b").unwrap(), Some(rec.clone()));
    assert_eq!(rec.fresh_token(10), Some("at"));
    assert_eq!(rec.fresh_token(200), None);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(store.dir()), 0o700);
        assert_eq!(mode(&store.path_of("a/b")), 0o600);
    }
    // No temp files left behind.
    let names: Vec<_> = fs::read_dir(store.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(names.iter().all(|n| !n.to_string_lossy().contains("tmp")), "{names:?}");
    let updated = store
        .update("a/b", |r| r.refresh_token = Some("rt".into()))
        .await
        .unwrap();
    assert_eq!(updated.access_token.as_deref(), Some("at"));
    assert_eq!(store.load("a/b").unwrap().unwrap().refresh_token.as_deref(), Some("rt"));
}

/// The kernel's list of file locks on the lock file of `server`:
/// `(blocked, held)` counts (a waiter's line in /proc/locks has `->`).
#[cfg(target_os = "linux")]
fn kernel_locks(store: &Store, server: &str) -> (usize, usize) {
    use std::os::unix::fs::MetadataExt;
    let inode = fs::metadata(store.file(server, "lock")).unwrap().ino();
    let locks = fs::read_to_string("/proc/locks").unwrap();
    let on_file: Vec<&str> = locks
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .any(|f| f.rsplit(':').next() == Some(&inode.to_string()))
        })
        .collect();
    let blocked = on_file.iter().filter(|l| l.contains("->")).count();
    (blocked, on_file.len() - blocked)
}

#[tokio::test]
async fn lock_excludes_a_second_holder() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    let held = store.lock("s").await.unwrap();
    let s2 = store.clone();
    let waiter = tokio::spawn(async move { s2.lock("s").await.map(|_| ()) });
    // The second holder is asking: the kernel shows it blocked on the
    // file the first one holds (and shows that one held, the control).
    #[cfg(target_os = "linux")]
    {
        let since = std::time::Instant::now();
        while kernel_locks(&store, "s").0 == 0 {
            assert!(since.elapsed() < std::time::Duration::from_secs(30), "no waiter");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(kernel_locks(&store, "s"), (1, 1));
    }
    #[cfg(not(target_os = "linux"))]
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert!(!waiter.is_finished(), "second lock must wait");
    drop(held);
    tokio::time::timeout(std::time::Duration::from_secs(30), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[cfg(unix)]
#[test]
fn a_link_planted_at_the_temp_path_is_never_written_through() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path().join("tokens"));
    store.ensure_dir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, "precious").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o644)).unwrap();
    // The names a temp file had: `<server>.json.tmp<pid>`.
    let old_tmp = store.dir().join(format!("pd.json.tmp{}", std::process::id()));
    std::os::unix::fs::symlink(&victim, &old_tmp).unwrap();
    let rec = Record {
        access_token: Some("at-1".into()),
        ..Default::default()
    };
    store.save("pd", &rec).unwrap();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(fs::metadata(&victim).unwrap().permissions().mode() & 0o777, 0o644);
    assert_eq!(store.load("pd").unwrap(), Some(rec));
    let mode = fs::metadata(store.path_of("pd")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[cfg(unix)]
#[tokio::test]
async fn a_link_planted_at_the_lock_path_is_not_followed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path().join("tokens"));
    store.ensure_dir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, "x").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&victim, store.dir().join("pd.lock")).unwrap();
    assert!(store.lock("pd").await.is_err(), "a lock through a link");
    assert_eq!(fs::metadata(&victim).unwrap().permissions().mode() & 0o777, 0o644);
}

#[test]
fn servers_whose_names_differ_only_in_punctuation_or_case_keep_separate_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    let names = ["a.b", "a_b", "a/b", "a%2Eb", "A_b", "a_B", "é"];
    for (i, name) in names.iter().enumerate() {
        let rec = Record {
            access_token: Some(format!("token-{i}")),
            ..Default::default()
        };
        store.save(name, &rec).unwrap();
    }
    for (i, name) in names.iter().enumerate() {
        let got = store.load(name).unwrap().and_then(|r| r.access_token);
        assert_eq!(got, Some(format!("token-{i}")), "{name}");
    }
    let stems: std::collections::HashSet<String> = names.iter().map(|n| file_stem(n).to_ascii_lowercase()).collect();
    assert_eq!(stems.len(), names.len(), "distinct even when case is folded");
    // Names of letters, digits, `-` and `_` keep the file they had.
    assert_eq!(file_stem("my-server_2"), "my-server_2");
}

#[test]
fn a_server_with_an_upper_case_name_keeps_its_sign_in_from_the_old_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    let old = |name: &str| dir.path().join(format!("{name}.json"));
    fs::write(old("MyServer"), br#"{"access_token": "kept"}"#).unwrap();
    let got = store.load("MyServer").unwrap().and_then(|r| r.access_token);
    assert_eq!(got.as_deref(), Some("kept"));
    assert!(!old("MyServer").exists() && store.path_of("MyServer").exists());
    // A newer file is never replaced by an old one.
    fs::write(old("MyServer"), br#"{"access_token": "stale"}"#).unwrap();
    let got = store.load("MyServer").unwrap().and_then(|r| r.access_token);
    assert_eq!(got.as_deref(), Some("kept"));
    // An old name that another server's could also have made (`a.b`
    // and `a_b` shared `a_b.json`) is never taken for it.
    fs::write(old("A_b"), br#"{"access_token": "whose"}"#).unwrap();
    assert_eq!(store.load("A.b").unwrap(), None);
    assert_eq!(store.load("A_b").unwrap(), None);
}

#[cfg(unix)]
#[test]
fn a_new_file_is_never_made_through_a_link_or_over_a_file_and_is_0600_from_the_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, "precious").unwrap();
    let planted = dir.path().join("planted");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    for taken in [&planted, &victim] {
        let e = create_new(taken, 0o600).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{}", taken.display());
    }
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    // Its mode before anything is written, whatever the umask lets through.
    let (path, _file) = create_temp(dir.path(), "pd", 0o600).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let (other, _) = create_temp(dir.path(), "pd", 0o600).unwrap();
    assert_ne!(path, other, "a fresh name each time");
}

#[test]
fn corrupt_file_reads_as_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    fs::write(store.path_of("x"), b"{not json").unwrap();
    assert_eq!(store.load("x").unwrap(), None);
}
