//! `labctl console`: the lab console, a web page for operator demos (docs/console.md). It serves,
//! for the lab `labctl up` started:
//! - every node with its process, readiness and counts (`GET /api/nodes`);
//! - the protocol messages of every node, from their wire taps (`GET /api/events`, server-sent
//!   events; the page draws one ladder per flow: Call-ID, Session-Id or SUPI);
//! - one message decoded (`GET /api/message/{id}`), the pcapng of one flow (`GET /api/pcap`);
//! - a button per demo that plays the seed's client side **against the running lab's nodes**
//!   (`POST /api/demo/{name}`, [`crate::lab_demo`]), so its messages appear on the ladders as
//!   they go.
//!
//! The page is plain HTML, SVG and JavaScript (`index.html`), no framework.

pub(crate) mod events;
mod runs;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio_stream::StreamExt;

use crate::lab::LabState;
use events::Events;

const PAGE: &str = include_str!("index.html");

struct Console {
    lab: LabState,
    events: Events,
    demos: runs::Runs,
}

/// Serve the console for the lab in `dir` on `listen` until Ctrl-C or SIGTERM; prints the URL
/// and, with `ready_file`, writes `{"admin": "<address>"}` there once it listens (`labctl up`
/// waits for it).
pub async fn serve(
    dir: &Path,
    listen: SocketAddr,
    ready_file: Option<&Path>,
) -> anyhow::Result<()> {
    let (addr, fut) = start(dir, listen).await?;
    println!("console: http://{addr}/  (Ctrl-C to stop)");
    if let Some(path) = ready_file {
        std::fs::write(
            path,
            serde_json::json!({ "admin": addr.to_string() }).to_string(),
        )?;
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        () = fut => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = term.recv() => Ok(()),
    }
}

/// Bind the console; its address and the future that serves it.
pub async fn start(
    dir: &Path,
    listen: SocketAddr,
) -> anyhow::Result<(SocketAddr, impl Future<Output = ()>)> {
    let lab = LabState::load(&std::path::absolute(dir)?)?;
    let events = Events::subscribe(&lab).await?;
    let console = Arc::new(Console {
        demos: runs::Runs::default(),
        lab,
        events,
    });
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(|| async { "ready\n" }))
        .route("/api/nodes", get(nodes))
        .route("/api/events", get(stream))
        .route("/api/message/{id}", get(message))
        .route("/api/pcap", get(pcap))
        .route("/api/demos", get(demo_list))
        .route("/api/demo/{name}", post(run_demo))
        .with_state(console);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("--listen {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    Ok((addr, async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("console: {e}");
        }
    }))
}

async fn nodes(State(c): State<Arc<Console>>) -> Response {
    axum::Json(crate::lab::health(&c.lab).await).into_response()
}

/// Every event so far, then each new one, as server-sent events (`data:` one JSON object).
async fn stream(
    State(c): State<Arc<Console>>,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, std::convert::Infallible>>> {
    let (backlog, live) = c.events.follow();
    let backlog = tokio_stream::iter(backlog);
    let live = tokio_stream::wrappers::BroadcastStream::new(live).filter_map(|r| r.ok());
    let all = backlog
        .chain(live)
        .map(|e| Ok(Event::default().data(e.json.clone())));
    Sse::new(all).keep_alive(KeepAlive::default())
}

async fn message(State(c): State<Arc<Console>>, UrlPath(id): UrlPath<u64>) -> Response {
    match c.events.get(id) {
        Some(e) => e.decoded().into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "no such message (kept: the last 5,000)\n",
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct Flow {
    flow: String,
}

async fn pcap(State(c): State<Arc<Console>>, Query(q): Query<Flow>) -> Response {
    match c.events.pcapng(&q.flow) {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.tcpdump.pcap".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"flow.pcapng\"".to_string(),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

async fn demo_list(State(c): State<Arc<Console>>) -> Response {
    axum::Json(c.demos.list()).into_response()
}

async fn run_demo(State(c): State<Arc<Console>>, UrlPath(name): UrlPath<String>) -> Response {
    match crate::lab_demo::Demo::of(&name, &c.lab) {
        Ok(demo) => {
            c.demos.start(name.clone(), demo, c.lab.dir.join("demos"));
            (StatusCode::ACCEPTED, format!("{name} started\n")).into_response()
        }
        Err(e) => (StatusCode::NOT_FOUND, format!("{e}\n")).into_response(),
    }
}
