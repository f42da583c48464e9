use super::*;

#[test]
fn well_known_order_follows_the_spec() {
    let u = Url::parse("https://a.example/tenant1").unwrap();
    let got: Vec<String> = well_known(&u, &["oauth-authorization-server", "openid-configuration"], true)
        .iter()
        .map(|u| u.path().to_string())
        .collect();
    assert_eq!(
        got,
        [
            "/.well-known/oauth-authorization-server/tenant1",
            "/.well-known/openid-configuration/tenant1",
            "/tenant1/.well-known/openid-configuration"
        ]
    );
    let root = Url::parse("https://a.example").unwrap();
    assert_eq!(
        well_known(&root, &["oauth-authorization-server", "openid-configuration"], true).len(),
        2
    );
}

#[test]
fn resource_must_cover_the_mcp_url() {
    let mcp = Url::parse("http://h:1/api/mcp").unwrap();
    let ok = |r: &str| covers(&Url::parse(r).unwrap(), &mcp);
    assert!(ok("http://h:1/api/mcp"));
    assert!(ok("http://h:1/api"));
    assert!(ok("http://h:1/"));
    assert!(!ok("http://h:1/ap"));
    assert!(!ok("https://evil.example.com/api/mcp"));
    assert!(!ok("http://h:2/api/mcp"));
}
