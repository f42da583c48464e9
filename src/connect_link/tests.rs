//! Unit tests: the shared helpers, the `connect_link_pattern` recogniser and
//! how a result is decorated.

use super::surface::{META_KEY, decorate, display_app, lead};
use super::*;
use serde_json::json;

#[test]
fn glob_matches_whole_urls() {
    assert!(glob(
        "https://auth.example.com/connect?*",
        "https://auth.example.com/connect?app=x&t=1"
    ));
    assert!(glob("https://*.example.com/*/link*", "https://a.example.com/v1/link?x"));
    assert!(!glob(
        "https://auth.example.com/connect?*",
        "https://auth.example.com/docs"
    ));
    assert!(!glob("https://x/a", "https://x/ab"));
    assert!(glob("https://x/a*b*b", "https://x/abb"));
}

#[test]
fn pattern_recogniser_finds_text_and_fields_only_when_they_match() {
    let r = pattern_recogniser("https://auth.example.com/connect?*".into());
    let url = "https://auth.example.com/connect?app=jira&token=t1";
    let text = json!({"content": [{"type": "text", "text": format!("Please connect ({url}).")}]});
    assert_eq!(
        r(&text),
        Some(ConnectLink {
            url: url.into(),
            app: Some("jira".into())
        })
    );
    let field = json!({"content": [], "structuredContent": {"connectUrl": url}});
    assert!(r(&field).is_some());
    let other = json!({"content": [{"type": "text", "text": "see https://auth.example.com/docs"}]});
    assert_eq!(r(&other), None);
    let no = json!({"content": [{"type": "text", "text": url}], "accountRequired": false});
    assert_eq!(r(&no), None);
}

#[test]
fn decorate_leads_with_the_notice_and_sets_meta() {
    let link = ConnectLink {
        url: "https://x.example/c?token=ctok_1&app=slack".into(),
        app: Some("slack".into()),
    };
    let mut resp = json!({"id": 1, "result": {"content": [{"type": "text", "text": "provider text"}]}});
    decorate(&mut resp, &link);
    let first = resp["result"]["content"][0]["text"].as_str().unwrap();
    assert_eq!(first, format!("Connect your Slack account to continue:\n{}", link.url));
    assert_eq!(
        first.lines().nth(1),
        Some(link.url.as_str()),
        "the link stands whole on its own line"
    );
    assert_eq!(resp["result"]["content"][1]["text"], "provider text");
    assert_eq!(resp["result"]["_meta"][META_KEY]["url"], link.url.as_str());
    assert_eq!(display_app("google_calendar"), "Google Calendar");
    assert_eq!(
        lead(&ConnectLink {
            url: String::new(),
            app: None
        }),
        "Connect your account to continue:"
    );
}

#[test]
fn answers_reach_the_waiter_once() {
    let links = ConnectLinks::new(
        "s",
        ConnectSettings::default(),
        Arc::new(|_: &Value| None),
        Duration::from_secs(1),
        None,
    );
    let (one, two) = (crate::ids::next("t"), crate::ids::next("t"));
    let mut rx = links.0.expect_answer(&one);
    let answer = json!({"id": one, "result": {"action": "accept"}});
    assert!(links.answered(&answer));
    assert!(!links.answered(&answer), "answered once");
    assert_eq!(rx.try_recv().unwrap()["result"]["action"], "accept");
    let mut rx = links.0.expect_answer(&two);
    links.client_gone();
    assert!(rx.try_recv().is_err());
}

#[test]
fn a_providers_link_counts_only_on_its_own_domains_or_the_servers_origin() {
    let origin = url::Url::parse("http://127.0.0.1:4100/v3").unwrap().origin();
    fn any_field(result: &Value) -> Option<ConnectLink> {
        field_url(result, &["connectUrl"]).map(|url| ConnectLink { url, app: None })
    }
    let r = on_hosts(any_field, &["pipedream.com"], origin);
    let found = |url: &str| r(&json!({"content": [], "accountRequired": true, "connectUrl": url})).map(|l| l.url);
    for ok in [
        "https://pipedream.com/_static/connect.html?token=ctok_1",
        "https://connect.pipedream.com/x?token=ctok_1",
        "http://127.0.0.1:4100/_static/connect.html?token=ctok_1",
    ] {
        assert_eq!(found(ok).as_deref(), Some(ok));
    }
    for off in [
        "https://evil.example/_static/connect.html?token=ctok_1",
        "https://pipedream.com.evil.example/x",
        "https://evilpipedream.com/x",
        "http://pipedream.com/_static/connect.html?token=ctok_1",
        "http://127.0.0.1:4101/_static/connect.html?token=ctok_1",
    ] {
        assert_eq!(found(off), None, "{off}");
    }
}
