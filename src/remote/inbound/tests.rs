use super::*;
use crate::client::ToClient;
use serde_json::json;
use tokio::sync::mpsc;

struct Wants(&'static str);
impl Transform for Wants {
    fn response(&self, _asked: &Asked<'_>, response: &mut Value, _out: &Outbox) {
        response["result"]["seen"] = json!(true);
    }
    fn wants(&self, method: &str, _text: &[u8]) -> bool {
        method == self.0
    }
}

fn inbound() -> (Inbound, mpsc::UnboundedReceiver<ToClient>) {
    let (out, rx) = Outbox::channel();
    (
        Inbound::new(out).with_transforms(vec![Arc::new(Wants("tools/list"))]),
        rx,
    )
}

fn raw_line(rx: &mut mpsc::UnboundedReceiver<ToClient>) -> Vec<u8> {
    match rx.try_recv().expect("a line for the client") {
        ToClient::Raw(text) => text,
        ToClient::Message(m) => panic!("parsed, not raw: {m}"),
    }
}

#[test]
fn an_answer_no_transform_wants_goes_out_as_sent_with_line_breaks_as_spaces() {
    let (inb, mut rx) = inbound();
    let mut done = inb.expect(&json!(7), "tools/call", Route::Client);
    let text = b"{\"jsonrpc\":\"2.0\",\r\n \"id\":7,\n\"result\":{\"x\":\"a\\nb\", \"n\":1.50}}".to_vec();
    assert!(inb.dispatch_raw(text).is_ok());
    let line = raw_line(&mut rx);
    assert_eq!(
        line,
        b"{\"jsonrpc\":\"2.0\",   \"id\":7, \"result\":{\"x\":\"a\\nb\", \"n\":1.50}}"
    );
    assert_eq!(done.try_recv().unwrap(), Value::Null);
    assert!(!inb.is_pending(&json!(7)));
}

#[test]
fn what_must_be_read_is_handed_back() {
    let (inb, mut rx) = inbound();
    let answer = |id: &str| format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{}}}}").into_bytes();
    // A transform wants tools/list answers.
    let _list = inb.expect(&json!(1), "tools/list", Route::Client);
    assert!(inb.dispatch_raw(answer("1")).is_err());
    // The waiter wants a copy (hooks), or the bridge asked itself.
    let _copy = inb.expect(&json!(2), "tools/call", Route::ClientAndCopy);
    assert!(inb.dispatch_raw(answer("2")).is_err());
    let _own = inb.expect(&json!(3), "initialize", Route::Bridge);
    assert!(inb.dispatch_raw(answer("3")).is_err());
    // Not pending; a string id is not the number id.
    assert!(inb.dispatch_raw(answer("4")).is_err());
    let _num = inb.expect(&json!(5), "tools/call", Route::Client);
    assert!(inb.dispatch_raw(answer("\"5\"")).is_err());
    // Not a response, not JSON, not UTF-8, a batch, a duplicate key.
    for text in [
        &br#"{"jsonrpc":"2.0","id":5,"method":"ping"}"#[..],
        br#"{"jsonrpc":"2.0","id":5,"result":{}"#,
        b"{\"id\":5,\"result\":\"\xff\"}",
        br#"[{"jsonrpc":"2.0","id":5,"result":{}}]"#,
        br#"{"id":5,"id":6,"result":{}}"#,
    ] {
        assert_eq!(inb.dispatch_raw(text.to_vec()), Err(text.to_vec()));
    }
    assert!(rx.try_recv().is_err(), "nothing was written");
    assert!(inb.is_pending(&json!(1)) && inb.is_pending(&json!(2)) && inb.is_pending(&json!(5)));
    // Handed back, it still goes its usual way.
    inb.dispatch(serde_json::from_slice(&answer("1")).unwrap());
    let Some(ToClient::Message(m)) = rx.try_recv().ok() else {
        panic!("no parsed answer")
    };
    assert_eq!(m["result"]["seen"], true);
}
