//! Issue 11 §1: group-server over real HTTP (a raw HTTP/1.1 client on a TcpStream, so the
//! bytes are what any XCAP client sends), on SQLite and PostgreSQL: documents created, read
//! and edited by node selector, ETag conditions, the RFC 4825 refusals, authorization by the
//! asserted identity, provisioning from a file, restart.

use std::path::Path;

use corelab_proto::group::v1 as gpb;
use corelab_proto::group::v1::group_control_client::GroupControlClient;
use corelab_tests::{Backend, on_both_backends, postgres_database};
use labctl::{Node, bin_path};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ALICE: &str = "sip:alice@lab.example";
const BOB: &str = "sip:bob@lab.example";
const CF: &str = "sip:poc-controlling@lab.example";
const DOC_PATH: &str = "/xcap/org.openmobilealliance.poc-groups/users/sip:team@lab.example/index";
const LIST: &str = "/~~/group/list-service/list";
const MIME: &str = "application/vnd.oma.poc.groups+xml";

const DOC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<group xmlns="urn:oma:xml:poc:list-service">
  <list-service uri="sip:team@lab.example">
    <display-name>Team</display-name>
    <owner>sip:alice@lab.example</owner>
    <join-type>join</join-type>
    <max-participant-count>8</max-participant-count>
    <list>
      <entry uri="sip:alice@lab.example"/>
      <entry uri="sip:bob@lab.example"/>
    </list>
  </list-service>
</group>
"#;

/// One HTTP response.
#[derive(Debug)]
struct Resp {
    status: u16,
    head: String,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    fn etag(&self) -> String {
        self.header("ETag").unwrap_or_default()
    }
}

/// Send one request (`Connection: close`) and read the whole answer.
async fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> anyhow::Result<Resp> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    let has_length = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
    if !has_length && (!body.is_empty() || method == "PUT") {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut raw),
    )
    .await??;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("no header end in {text:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no status in {head:?}"))?;
    Ok(Resp {
        status,
        head: head.to_string(),
        body: body.to_string(),
    })
}

struct Server {
    dir: tempfile::TempDir,
    store_url: String,
    config: String,
    node: Option<Node>,
}

impl Server {
    async fn start(backend: Backend, config: &str) -> anyhow::Result<Server> {
        let dir = tempfile::tempdir()?;
        let store_url = match backend {
            Backend::Sqlite => format!("sqlite://{}/group_server.db", dir.path().display()),
            Backend::Postgres => postgres_database().await?,
        };
        let mut s = Server {
            dir,
            store_url,
            config: config.to_string(),
            node: None,
        };
        s.restart().await?;
        Ok(s)
    }

    async fn restart(&mut self) -> anyhow::Result<()> {
        if let Some(node) = self.node.take() {
            node.stop().await?;
        }
        let cfg = self.dir.path().join("group-server.toml");
        std::fs::write(&cfg, &self.config)?;
        self.node = Some(
            Node::start(
                "group-server",
                &bin_path("group-server")?,
                &[
                    "--config".into(),
                    cfg.display().to_string(),
                    "--store-url".into(),
                    self.store_url.clone(),
                    "--xcap-listen".into(),
                    "127.0.0.1:0".into(),
                ],
                self.dir.path(),
                false,
            )
            .await?,
        );
        Ok(())
    }

    fn node(&self) -> &Node {
        self.node.as_ref().expect("group-server running")
    }

    fn xcap(&self) -> String {
        self.node().addrs.get("xcap").cloned().unwrap_or_default()
    }

    /// A request as `who` (the asserted identity header; none when empty).
    async fn req(
        &self,
        who: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> anyhow::Result<Resp> {
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if !who.is_empty() {
            all.push(("X-XCAP-Asserted-Identity", who));
        }
        http(&self.xcap(), method, path, &all, body).await
    }

    async fn put_doc(&self, who: &str, body: &str) -> anyhow::Result<Resp> {
        self.req(who, "PUT", DOC_PATH, &[("Content-Type", MIME)], body)
            .await
    }
}

fn config(extra: &str) -> String {
    format!("[xcap]\nreaders = [\"{CF}\"]\n{extra}\n")
}

fn el(path: &str) -> String {
    format!("{DOC_PATH}{LIST}{path}")
}

async fn create_read_edit_and_conditions(backend: Backend) -> anyhow::Result<()> {
    let s = Server::start(backend, &config("")).await?;
    // Create (only if absent), then the same again is refused by If-None-Match: *.
    let created = s
        .req(
            ALICE,
            "PUT",
            DOC_PATH,
            &[("Content-Type", MIME), ("If-None-Match", "*")],
            DOC,
        )
        .await?;
    assert_eq!(created.status, 201, "{created:?}");
    let tag1 = created.etag();
    assert!(
        tag1.starts_with('"') && tag1.len() > 2,
        "strong ETag: {tag1}"
    );
    let again = s
        .req(
            ALICE,
            "PUT",
            DOC_PATH,
            &[("Content-Type", MIME), ("If-None-Match", "*")],
            DOC,
        )
        .await?;
    assert_eq!(again.status, 412);

    // Read: the document, its ETag; a matching If-None-Match gets 304.
    let got = s.req(ALICE, "GET", DOC_PATH, &[], "").await?;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("Content-Type").as_deref(), Some(MIME));
    assert_eq!(got.etag(), tag1);
    assert!(got.body.contains(r#"<entry uri="sip:bob@lab.example"/>"#));
    let not_modified = s
        .req(ALICE, "GET", DOC_PATH, &[("If-None-Match", &tag1)], "")
        .await?;
    assert_eq!(
        (not_modified.status, not_modified.etag()),
        (304, tag1.clone())
    );

    // A member added by `entry[@uri="…"]` (percent-encoded as a client would).
    let carol = el("/entry%5B@uri=%22sip:carol@lab.example%22%5D");
    let added = s
        .req(
            ALICE,
            "PUT",
            &carol,
            &[
                ("Content-Type", "application/xcap-el+xml"),
                ("If-Match", &tag1),
            ],
            r#"<entry uri="sip:carol@lab.example"/>"#,
        )
        .await?;
    assert_eq!(added.status, 201, "{added:?}");
    let tag2 = added.etag();
    assert_ne!(tag2, tag1);
    // The old ETag no longer matches: 412, and nothing changes.
    let stale = s
        .req(
            ALICE,
            "PUT",
            &el("/entry[4]"),
            &[
                ("Content-Type", "application/xcap-el+xml"),
                ("If-Match", &tag1),
            ],
            r#"<entry uri="sip:dave@lab.example"/>"#,
        )
        .await?;
    assert_eq!(stale.status, 412);
    let member = s.req(ALICE, "GET", &carol, &[], "").await?;
    assert_eq!(member.status, 200);
    assert_eq!(
        member.header("Content-Type").as_deref(),
        Some("application/xcap-el+xml")
    );
    assert!(member.body.contains("sip:carol@lab.example"));
    assert_eq!(member.etag(), tag2);

    // Positional read, child element by name, attribute read and write.
    let second = s.req(ALICE, "GET", &el("/entry[2]/@uri"), &[], "").await?;
    assert_eq!((second.status, second.body.as_str()), (200, BOB));
    let join = s
        .req(
            ALICE,
            "GET",
            &format!("{DOC_PATH}/~~/group/list-service/join-type"),
            &[],
            "",
        )
        .await?;
    assert!(join.body.contains(">join</join-type>"), "{join:?}");
    let renamed = s
        .req(
            ALICE,
            "PUT",
            &el("/entry[2]/@uri"),
            &[("Content-Type", "application/xcap-att+xml")],
            "sip:robert@lab.example",
        )
        .await?;
    assert_eq!(renamed.status, 200, "{renamed:?}");

    // Delete a member; the document no longer lists it.
    let deleted = s
        .req(
            ALICE,
            "DELETE",
            &el("/entry%5B@uri=%22sip:carol@lab.example%22%5D"),
            &[],
            "",
        )
        .await?;
    assert_eq!(deleted.status, 200);
    let doc = s.req(ALICE, "GET", DOC_PATH, &[], "").await?;
    assert!(!doc.body.contains("carol") && doc.body.contains("sip:robert@lab.example"));
    assert_eq!(doc.etag(), deleted.etag());

    // gRPC GetGroup reads the same document.
    let mut ctl = GroupControlClient::connect(s.node().grpc_uri()).await?;
    let g = ctl
        .get_group(gpb::GetGroupRequest {
            uri: "sip:team@lab.example".into(),
        })
        .await?
        .into_inner();
    assert_eq!(g.members, [ALICE, "sip:robert@lab.example"]);
    assert_eq!((g.join_type.as_str(), g.max_participants), ("join", 8));
    assert_eq!(format!("\"{}\"", g.etag), doc.etag());

    // The whole document deleted: 404 after.
    let gone = s
        .req(ALICE, "DELETE", DOC_PATH, &[("If-Match", &doc.etag())], "")
        .await?;
    assert_eq!(gone.status, 200);
    assert_eq!(s.req(ALICE, "GET", DOC_PATH, &[], "").await?.status, 404);

    // Requests counted by method and status on the admin server's /metrics.
    let metrics = http(
        s.node()
            .addrs
            .get("admin")
            .map(String::as_str)
            .unwrap_or(""),
        "GET",
        "/metrics",
        &[],
        "",
    )
    .await?;
    assert!(
        metrics
            .body
            .contains(r#"corelab_group_server_xcap_requests_total{method="PUT",status="412"} 2"#),
        "{}",
        metrics.body
    );
    Ok(())
}

async fn refusals_carry_the_rfc_4825_status_and_body(backend: Backend) -> anyhow::Result<()> {
    let s = Server::start(
        backend,
        &config("max_body_bytes = 2048\nbody_timeout_ms = 300"),
    )
    .await?;
    assert_eq!(s.put_doc(ALICE, DOC).await?.status, 201);
    let conflict = |r: &Resp, child: &str| {
        assert_eq!(r.status, 409, "{r:?}");
        assert_eq!(
            r.header("Content-Type").as_deref(),
            Some("application/xcap-error+xml")
        );
        assert!(
            r.body
                .contains(r#"<xcap-error xmlns="urn:ietf:params:xml:ns:xcap-error">"#)
                && r.body.contains(&format!("<{child}")),
            "{child}: {}",
            r.body
        );
    };
    // Not well-formed; breaks the schema (no join-type); a member twice.
    conflict(&s.put_doc(ALICE, "<group").await?, "not-well-formed");
    conflict(
        &s.put_doc(ALICE, &DOC.replace("<join-type>join</join-type>", ""))
            .await?,
        "schema-validation-error",
    );
    let twice = s
        .req(
            ALICE,
            "PUT",
            &el("/entry[3]"),
            &[("Content-Type", "application/xcap-el+xml")],
            &format!(r#"<entry uri="{BOB}"/>"#),
        )
        .await?;
    conflict(&twice, "uniqueness-failure");
    // An element under a parent that does not exist: no-parent, naming the closest ancestor.
    let orphan = s
        .req(
            ALICE,
            "PUT",
            &format!("{DOC_PATH}/~~/group/list-service/nothing/entry"),
            &[("Content-Type", "application/xcap-el+xml")],
            r#"<entry uri="sip:x@lab.example"/>"#,
        )
        .await?;
    conflict(&orphan, "no-parent");
    assert!(
        orphan.body.contains("/~~/group/list-service</ancestor>"),
        "{}",
        orphan.body
    );
    conflict(
        &s.req(
            ALICE,
            "PUT",
            &el("/entry[3]"),
            &[("Content-Type", "application/xcap-el+xml")],
            "<entry/><entry/>",
        )
        .await?,
        "not-xml-frag",
    );
    // Deleting the owner element would break the schema.
    conflict(
        &s.req(
            ALICE,
            "DELETE",
            &format!("{DOC_PATH}/~~/group/list-service/owner"),
            &[],
            "",
        )
        .await?,
        "schema-validation-error",
    );
    // 415: an element body sent as a document and vice versa.
    let wrong_type = s
        .req(
            ALICE,
            "PUT",
            &el("/entry[3]"),
            &[("Content-Type", MIME)],
            r#"<entry uri="sip:x@lab.example"/>"#,
        )
        .await?;
    assert_eq!(wrong_type.status, 415);
    let wrong_type = s
        .req(ALICE, "PUT", DOC_PATH, &[("Content-Type", "text/xml")], DOC)
        .await?;
    assert_eq!(wrong_type.status, 415);
    // 404: no such element, document, AUID; 400: a selector that does not parse.
    assert_eq!(
        s.req(ALICE, "GET", &el("/entry[9]"), &[], "").await?.status,
        404
    );
    let other = DOC_PATH.replace("sip:team@", "sip:other@");
    assert_eq!(s.req(ALICE, "GET", &other, &[], "").await?.status, 404);
    assert_eq!(
        s.req(
            ALICE,
            "GET",
            "/xcap/org.example.nothing/users/sip:a@b/index",
            &[],
            ""
        )
        .await?
        .status,
        404
    );
    assert_eq!(
        s.req(ALICE, "GET", &el("/entry[x"), &[], "").await?.status,
        400
    );
    // 413: a body over xcap.max_body_bytes, refused on its Content-Length.
    let big = http(
        &s.xcap(),
        "PUT",
        DOC_PATH,
        &[
            ("Content-Type", MIME),
            ("X-XCAP-Asserted-Identity", ALICE),
            ("Content-Length", "100000"),
        ],
        "",
    )
    .await?;
    assert_eq!(big.status, 413);
    // … and one without a Content-Length (chunked) that turns out too long.
    let chunk = "x".repeat(3000);
    let chunked = format!(
        "PUT {DOC_PATH} HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Type: {MIME}\r\n\
         X-XCAP-Asserted-Identity: {ALICE}\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let mut stream = tokio::net::TcpStream::connect(s.xcap()).await?;
    stream.write_all(chunked.as_bytes()).await?;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut raw),
    )
    .await?;
    assert!(
        String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    // 408: a body that stops arriving.
    let mut stream = tokio::net::TcpStream::connect(s.xcap()).await?;
    stream
        .write_all(
            format!(
                "PUT {DOC_PATH} HTTP/1.1\r\nHost: h\r\nContent-Type: {MIME}\r\n\
                 X-XCAP-Asserted-Identity: {ALICE}\r\nContent-Length: 100\r\n\r\n<group"
            )
            .as_bytes(),
        )
        .await?;
    let mut raw = vec![0u8; 1024];
    let n =
        tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut raw)).await??;
    let text = String::from_utf8_lossy(&raw[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert_eq!(s.req(ALICE, "POST", DOC_PATH, &[], "").await?.status, 405);
    // None of it changed the document.
    let doc = s.req(ALICE, "GET", DOC_PATH, &[], "").await?;
    assert!(
        doc.body.contains("<join-type>join</join-type>") && doc.body.matches("<entry").count() == 2
    );
    Ok(())
}

async fn only_the_owner_and_trusted_readers_get_in(backend: Backend) -> anyhow::Result<()> {
    let s = Server::start(backend, &config("")).await?;
    // Nobody may create a group that names another owner.
    assert_eq!(s.put_doc(BOB, DOC).await?.status, 403);
    assert_eq!(s.put_doc("", DOC).await?.status, 403);
    assert_eq!(s.put_doc(ALICE, DOC).await?.status, 201);
    // Bob is a member, not the owner: no read, no write.
    assert_eq!(s.req(BOB, "GET", DOC_PATH, &[], "").await?.status, 403);
    assert_eq!(
        s.req(BOB, "DELETE", &el("/entry[2]"), &[], "")
            .await?
            .status,
        403
    );
    // No identity at all.
    assert_eq!(s.req("", "GET", DOC_PATH, &[], "").await?.status, 403);
    // The controlling server reads any group (X-3GPP-Intended-Identity works too) …
    let read = http(
        &s.xcap(),
        "GET",
        DOC_PATH,
        &[("X-3GPP-Intended-Identity", &format!("\"{CF}\""))],
        "",
    )
    .await?;
    assert_eq!(read.status, 200);
    // … but writes none.
    assert_eq!(s.req(CF, "DELETE", DOC_PATH, &[], "").await?.status, 403);
    assert_eq!(s.req(ALICE, "GET", DOC_PATH, &[], "").await?.status, 200);
    Ok(())
}

async fn identity_from_an_untrusted_source_is_ignored(backend: Backend) -> anyhow::Result<()> {
    // Only 192.0.2.1 may assert identities: our loopback requests carry none.
    let s = Server::start(backend, &config("trusted_sources = [\"192.0.2.1\"]")).await?;
    assert_eq!(s.put_doc(ALICE, DOC).await?.status, 403);
    assert_eq!(s.req(ALICE, "GET", DOC_PATH, &[], "").await?.status, 403);
    Ok(())
}

async fn provisioned_groups_survive_restart(backend: Backend) -> anyhow::Result<()> {
    let mut s = Server::start(backend, &config("")).await?;
    // Provision with the CLI (the running server shares the store).
    let file = s.dir.path().join("groups.toml");
    std::fs::write(
        &file,
        format!(
            r#"
[[group]]
uri = "sip:squad@lab.example"
owner = "{ALICE}"
join_type = "join"
max_participants = 4
members = ["{ALICE}", "{BOB}"]
conversation_id = "conv-77"
contribution_id = "contrib-77"
"#
        ),
    )?;
    provision(&s.store_url, &file, s.dir.path()).await?;
    let squad = DOC_PATH.replace("sip:team@", "sip:squad@");
    let got = s.req(CF, "GET", &squad, &[], "").await?;
    assert_eq!(got.status, 200, "{got:?}");
    assert!(
        got.body
            .contains("<conversation-id>conv-77</conversation-id>")
    );
    let created = s.put_doc(ALICE, DOC).await?;
    assert_eq!(created.status, 201);

    s.restart().await?;
    let after = s.req(ALICE, "GET", DOC_PATH, &[], "").await?;
    assert_eq!((after.status, after.etag()), (200, created.etag()));
    let squad_after = s.req(CF, "GET", &squad, &[], "").await?;
    assert_eq!(
        (&squad_after.body, squad_after.etag()),
        (&got.body, got.etag())
    );
    let mut ctl = GroupControlClient::connect(s.node().grpc_uri()).await?;
    let listed = ctl.list_groups(gpb::Empty {}).await?.into_inner();
    assert_eq!(listed.groups.len(), 2);
    let g = ctl
        .get_group(gpb::GetGroupRequest {
            uri: "sip:squad@lab.example".into(),
        })
        .await?
        .into_inner();
    assert_eq!(
        (g.conversation_id.as_str(), g.contribution_id.as_str()),
        ("conv-77", "contrib-77")
    );
    let missing = ctl
        .get_group(gpb::GetGroupRequest {
            uri: "sip:none@lab.example".into(),
        })
        .await;
    assert_eq!(missing.err().map(|e| e.code()), Some(tonic::Code::NotFound));
    Ok(())
}

async fn concurrent_edits_lose_nothing(backend: Backend) -> anyhow::Result<()> {
    let s = Server::start(backend, &config("")).await?;
    assert_eq!(s.put_doc(ALICE, DOC).await?.status, 201);
    // Eight clients add eight members at once, none with If-Match: each write is
    // compare-and-set on the ETag, so a loser re-applies its edit to what the winner left.
    let addr = s.xcap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let addr = addr.clone();
        tasks.push(tokio::spawn(async move {
            let uri = format!("sip:m{i}@lab.example");
            http(
                &addr,
                "PUT",
                &el(&format!("/entry%5B@uri=%22{uri}%22%5D")),
                &[
                    ("Content-Type", "application/xcap-el+xml"),
                    ("X-XCAP-Asserted-Identity", ALICE),
                ],
                &format!(r#"<entry uri="{uri}"/>"#),
            )
            .await
            .map(|r| r.status)
        }));
    }
    for t in tasks {
        assert_eq!(t.await??, 201);
    }
    let doc = s.req(ALICE, "GET", DOC_PATH, &[], "").await?;
    for i in 0..8 {
        assert!(
            doc.body.contains(&format!("sip:m{i}@lab.example")),
            "m{i}: {}",
            doc.body
        );
    }
    assert_eq!(doc.body.matches("<entry").count(), 10);
    Ok(())
}

/// `group-server provision FILE` on `store_url`.
async fn provision(store_url: &str, file: &Path, dir: &Path) -> anyhow::Result<()> {
    let out = tokio::process::Command::new(bin_path("group-server")?)
        .args(["--store-url", store_url, "--data-dir"])
        .arg(dir)
        .arg("provision")
        .arg(file)
        .output()
        .await?;
    anyhow::ensure!(
        out.status.success(),
        "provision failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

on_both_backends! {
    create_read_edit_and_conditional_requests_over_http => create_read_edit_and_conditions;
    refusals_get_409_412_413_415_404_with_xcap_error_bodies => refusals_carry_the_rfc_4825_status_and_body;
    only_the_owner_and_trusted_readers_get_in_others_get_403 => only_the_owner_and_trusted_readers_get_in;
    an_asserted_identity_from_an_untrusted_source_is_ignored => identity_from_an_untrusted_source_is_ignored;
    provisioned_and_created_documents_survive_a_restart_with_their_etags => provisioned_groups_survive_restart;
    concurrent_member_additions_are_all_kept => concurrent_edits_lose_nothing;
}

/// Whether the server closed `stream` (EOF or reset) within `wait`.
async fn closed_within(stream: &mut tokio::net::TcpStream, wait: std::time::Duration) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // an answer (e.g. a 408) before the close
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_xcap_listener_caps_connections_and_closes_silent_ones() -> anyhow::Result<()> {
    let long = std::time::Duration::from_secs(5);
    // Two connections at most; headers within 60 s (longer than this test waits).
    let s = Server::start(
        Backend::Sqlite,
        &config("max_connections = 2\nheader_timeout_ms = 60000"),
    )
    .await?;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = tokio::net::TcpStream::connect(s.xcap()).await?;
        c.write_all(b"GET ").await?; // a request begun, never finished
        held.push(c);
    }
    // Both are accepted and held (a GET on either would still be answered) …
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut third = tokio::net::TcpStream::connect(s.xcap()).await?;
    // … so the third is closed at once, not served.
    assert!(
        closed_within(&mut third, long).await,
        "third connection served"
    );
    drop(held);
    // Once they are gone, requests are served again.
    let mut served = false;
    for _ in 0..50 {
        if let Ok(r) = s.req(ALICE, "GET", DOC_PATH, &[], "").await
            && r.status == 404
        {
            served = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(served, "not served after the held connections closed");
    let metrics = http(
        s.node()
            .addrs
            .get("admin")
            .map(String::as_str)
            .unwrap_or(""),
        "GET",
        "/metrics",
        &[],
        "",
    )
    .await?;
    assert!(
        metrics
            .body
            .contains("corelab_group_server_xcap_connections_refused_total"),
        "{}",
        metrics.body
    );

    // Headers that never finish: closed after xcap.header_timeout_ms.
    let s = Server::start(Backend::Sqlite, &config("header_timeout_ms = 300")).await?;
    let mut slow = tokio::net::TcpStream::connect(s.xcap()).await?;
    slow.write_all(b"GET /xcap/ HTTP/1.1\r\nHost: h\r\n")
        .await?;
    assert!(closed_within(&mut slow, long).await, "silent client kept");
    Ok(())
}

#[tokio::test]
async fn a_config_error_names_the_key() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[xcap]\nreaders = [\"controlling\"]\n")?;
    let out = tokio::process::Command::new(bin_path("group-server")?)
        .arg("--config")
        .arg(&cfg)
        .output()
        .await?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("xcap.readers"),
        "{err}"
    );
    std::fs::write(&cfg, "[xcap]\ntrusted_sources = [\"10.0.0.0/33\"]\n")?;
    let out = tokio::process::Command::new(bin_path("group-server")?)
        .arg("--config")
        .arg(&cfg)
        .output()
        .await?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("xcap.trusted_sources"),
        "{err}"
    );
    std::fs::write(&cfg, "[xcap]\nlisten = \"nowhere\"\n")?;
    let out = tokio::process::Command::new(bin_path("group-server")?)
        .arg("--config")
        .arg(&cfg)
        .output()
        .await?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("xcap.listen"),
        "{err}"
    );
    Ok(())
}
