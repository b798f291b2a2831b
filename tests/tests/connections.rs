//! Connections as a hostile or careless client holds them (issue #20, L1 and L6), over raw TCP:
//! a client trickling its headers, an idle keep-alive connection and a stalled body are cut off
//! after their configured timeouts; connections beyond the cap wait; and a POST refused before
//! its body arrived is answered with `Connection: close`, so the client does not reuse a socket
//! the server is about to close.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use infrastructure::testing::{Backend, TestDatabase};
use support::{Api, Server, ADMIN_KEY};

/// A server on a fresh SQLite file with these connection settings.
async fn server(env: &[(&str, &str)]) -> (TestDatabase, Server) {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let mut all = vec![
        ("DATABASE_URL", db.url.as_str()),
        ("LEDGERLINE_ADMIN_KEY", ADMIN_KEY),
    ];
    all.extend_from_slice(env);
    let server = Server::start_with(&all, &[]);
    (db, server)
}

fn connect(server: &Server) -> TcpStream {
    let address = server.base_url.trim_start_matches("http://");
    let stream = TcpStream::connect(address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    stream
}

/// Whether the server has closed the connection: a read sees the end of the stream (after any
/// response bytes) or a reset. `false` while it is still open and silent.
fn closed(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Waits up to `limit` for the server to close `stream`, calling `tick` between checks; answers
/// how long it took.
fn time_to_close(
    stream: &mut TcpStream,
    limit: Duration,
    mut tick: impl FnMut(&mut TcpStream),
) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if closed(stream) {
            return Some(start.elapsed());
        }
        tick(stream);
    }
    None
}

/// Reads one whole response head (and whatever body came with it) as text.
fn response(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut text = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&text).contains("\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.extend_from_slice(&buffer[..n]),
        }
    }
    String::from_utf8_lossy(&text).to_lowercase()
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off() {
    let (_db, server) = server(&[("LEDGERLINE_HEADER_READ_TIMEOUT_SECS", "1")]).await;
    let mut stream = connect(&server);
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // One header byte every 200 ms would hold the connection forever without a timeout.
    let took = time_to_close(&mut stream, Duration::from_secs(6), |stream| {
        let _ = stream.write_all(b"x");
    });
    let took = took.expect("the server closes a connection whose headers never end");
    assert!(took < Duration::from_secs(3), "closed after {took:?}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let (_db, server) = server(&[("LEDGERLINE_HEADER_READ_TIMEOUT_SECS", "1")]).await;
    let mut stream = connect(&server);
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(response(&mut stream).starts_with("http/1.1 200"));
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let took = time_to_close(&mut stream, Duration::from_secs(6), |_| {});
    assert!(took.is_some(), "an idle connection is closed");
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_and_closed() {
    let (_db, server) = server(&[("LEDGERLINE_BODY_READ_TIMEOUT_SECS", "1")]).await;
    let mut stream = connect(&server);
    let head = format!(
        "POST /v1/subscriptions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"account_id\""
    );
    stream.write_all(head.as_bytes()).unwrap();
    let start = Instant::now();
    let answer = response(&mut stream);
    assert!(answer.starts_with("http/1.1 408"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let (_db, server) = server(&[("LEDGERLINE_MAX_CONNECTIONS", "2")]).await;
    let held: Vec<TcpStream> = (0..2).map(|_| connect(&server)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let waiting = client.get(server.url("/healthz")).send().await;
    assert!(
        waiting.is_err(),
        "a third connection is not served while two are held"
    );
    drop(held);
    let served = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(served.status(), 200);
}

/// A POST refused before its body arrived: the answer says `Connection: close`, and the
/// connection is indeed closed, rather than reused for a request that would then fail.
fn refused_early_closes(server: &Server, head: &str, status: &str) {
    let mut stream = connect(server);
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(b"{\"account_id\": \"acct_").unwrap();
    let answer = response(&mut stream);
    assert!(
        answer.starts_with(&format!("http/1.1 {status}")),
        "{answer}"
    );
    assert!(answer.contains("connection: close"), "{answer}");
}

#[tokio::test]
async fn an_early_refusal_of_a_post_says_connection_close() {
    let (_db, server) = server(&[]).await;
    let post = |auth: &str, length: usize| {
        format!(
            "POST /v1/subscriptions HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n\
             Content-Length: {length}\r\n\r\n"
        )
    };
    refused_early_closes(&server, &post("", 1000), "401");
    let created = Api::admin(&server.base_url)
        .post(
            "/v1/admin/api-keys",
            serde_json::json!({"role": "account", "account_id": "acct_x"}),
        )
        .await;
    let account_key = created.str("secret");
    refused_early_closes(
        &server,
        &post(&format!("Authorization: Bearer {account_key}\r\n"), 1000),
        "403",
    );
    refused_early_closes(
        &server,
        &post(
            &format!("Authorization: Bearer {ADMIN_KEY}\r\n"),
            10_000_000,
        ),
        "413",
    );
}
