//! Fuzz the loopback way's HTTP/1.1 response reading (`remote/loopback/h1.rs`):
//! the head parsed with `httparse`, then the body by its framing (a length,
//! chunks, or up to the close). The first two bytes steer the run (the
//! request method, and the size of the pieces the rest is cut into), the
//! rest is what the server sent. Checked: nothing panics, and the response
//! read from pieces of any size is the one read from the bytes whole.
#![no_main]

use http::Method;
use libfuzzer_sys::fuzz_target;
use mcp_bridge::remote::read_http1_pieces;

fuzz_target!(|data: &[u8]| {
    let [steer, size, wire @ ..] = data else { return };
    let method = match steer % 4 {
        0 => Method::POST,
        1 => Method::GET,
        2 => Method::DELETE,
        _ => Method::HEAD,
    };
    let whole = read_http1_pieces(&method, [wire]);
    let cut = read_http1_pieces(&method, wire.chunks(usize::from(*size).max(1)));
    match (&whole, &cut) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "cut into pieces of {size}"),
        (Err(_), Err(_)) => {}
        _ => panic!("whole {whole:?} but cut into pieces of {size} {cut:?}"),
    }
});
