//! One plain HTTP/1.1 request for labctl and the tests: GETs of the nodes' admin servers
//! (`/metrics`, `/bindings`, `/sessions`, `/group-sessions`, `/healthz`), and any method with
//! headers (an XCAP `DELETE` of a group member), over a raw TCP connection, bounded in time.

use std::io::{Read, Write};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long one GET may take, connection to end of body.
const WAIT: Duration = Duration::from_secs(10);

/// A response: its status code and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// `GET url` (`http://host:port/path`), whatever the status.
pub async fn get(url: &str) -> anyhow::Result<Response> {
    send("GET", url, &[], "").await
}

/// `method url` with `headers` and `body` (`Content-Length` added), whatever the status.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> anyhow::Result<Response> {
    let (host, request) = request_with(method, url, headers, body);
    let text = tokio::time::timeout(WAIT, async {
        let mut stream = tokio::net::TcpStream::connect(&host).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut text = String::new();
        stream.read_to_string(&mut text).await?;
        anyhow::Ok(text)
    })
    .await
    .map_err(|_| anyhow::anyhow!("{method} {url}: no complete answer in {WAIT:?}"))??;
    parse(url, &text)
}

/// `GET url`, the body of a 200 (anything else is an error naming the status line).
pub async fn get_ok(url: &str) -> anyhow::Result<String> {
    let response = get(url).await?;
    anyhow::ensure!(response.status == 200, "GET {url}: {}", response.status);
    Ok(response.body)
}

/// [`get`] for tests that run no async runtime.
pub fn get_blocking(url: &str) -> anyhow::Result<Response> {
    let (host, request) = request(url);
    let mut stream = std::net::TcpStream::connect(&host)?;
    stream.set_read_timeout(Some(WAIT))?;
    stream.write_all(request.as_bytes())?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    parse(url, &text)
}

fn request(url: &str) -> (String, String) {
    request_with("GET", url, &[], "")
}

fn request_with(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut request = format!("{method} /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method != "GET" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    (host.to_string(), request)
}

fn parse(url: &str, text: &str) -> anyhow::Result<Response> {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("{url}: not an HTTP response: {head:?}"))?;
    Ok(Response {
        status,
        body: body.to_string(),
    })
}
