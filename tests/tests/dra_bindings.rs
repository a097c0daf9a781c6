//! dra over the wire (issue 10 §1): separate processes — `dra` (vDRA or hDRA) and
//! `diameter-peer` as the PCC client (PCEF, BBERF, AF, or a vPCRF on S9) and as the PCRF(s) —
//! over TCP on loopback; the assertions read the DRA's `GET /bindings` (its store) and metrics.
//! The seed's rows (specs/dra-roaming.md) each test serves are named in its doc comment.
//!
//! Needs `cargo build -p corelab-dra -p diameter-peer` (the binaries next to the test).

use std::time::Duration;

use corelab_proto::dra::v1 as pb;
use corelab_proto::dra::v1::dra_control_client::DraControlClient;
use corelab_tests::{Backend, on_both_backends, postgres_database, until};
use labctl::bin_path;
use serde_json::Value;
use tokio::process::Command;

#[path = "support/dra_peers.rs"]
mod dra_peers;
use dra_peers::{
    Dra, IMSI, Pcrf, ccr, client, client_answering, dra_config, store_for, ue_keys, ue_keys_of,
};

fn client_ids(ids: &[&str]) -> String {
    ids.iter()
        .map(|id| format!("{{ name = \"Corelab-Client-Session-Id\", value = \"{id}\" }},\n"))
        .collect()
}

fn subsession_termination() -> String {
    "{ name = \"Subsession-Enforcement-Info\", value = [\n\
       { name = \"Subsession-Id\", value = 1 },\n\
       { name = \"Subsession-Operation\", value = \"TERMINATION\" } ] },\n"
        .into()
}

fn aar(session: &str, ip: &str) -> String {
    format!(
        "[[request]]\ncommand = \"AA\"\napplication = \"rx\"\navps = [\n\
         {{ name = \"Session-Id\", value = \"{session}\" }},\n\
         {{ name = \"Destination-Realm\", value = \"lab\" }},\n\
         {{ name = \"Framed-IP-Address\", ip = \"{ip}\" }},\n]\n"
    )
}

fn str_(session: &str) -> String {
    format!(
        "[[request]]\ncommand = \"Session-Termination\"\napplication = \"rx\"\navps = [\n\
         {{ name = \"Session-Id\", value = \"{session}\" }},\n\
         {{ name = \"Destination-Realm\", value = \"lab\" }},\n\
         {{ name = \"Termination-Cause\", value = \"DIAMETER_LOGOUT\" }},\n]\n"
    )
}

fn session_ids(b: &Value) -> Vec<String> {
    b["sessions"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter_map(|x| x["session_id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Rows 1-3 (vDRA redirect): the BBERF's Gxx and the PCEF's Gx sessions of one IP-CAN session
/// share one binding (one PCRF); each termination sent to the vDRA deletes its session there
/// (3006 to the PCRF, which the client follows), and the last one takes the binding (cascade).
async fn redirect_establish_then_terminate(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (p1, p2) = (
        Pcrf::start(dir.path(), "vpcrf1.lab").await?,
        Pcrf::start(dir.path(), "vpcrf2.lab").await?,
    );
    let url = store_for(backend, dir.path()).await?;
    let dra = Dra::start(
        dir.path(),
        "vdra",
        &dra_config(dir.path(), &url, "visited", "redirect", &[&p1, &p2], ""),
    )
    .await?;
    let d = dra.diameter();
    let keys = ue_keys("10.45.0.17");
    assert_eq!(
        client(
            dir.path(),
            "bberf.lab",
            &d,
            &ccr("gxx", "bberf.lab;1;s1", "INITIAL_REQUEST", 0, &keys),
            None
        )
        .await?,
        0
    );
    assert_eq!(
        client(
            dir.path(),
            "pcef.lab",
            &d,
            &ccr("gx", "pcef.lab;1;s3", "INITIAL_REQUEST", 0, &keys),
            None
        )
        .await?,
        0
    );
    let b = dra.bindings(&format!("?nai={IMSI}")).await?;
    assert_eq!(b.len(), 1, "one binding for the IP-CAN session: {b:?}");
    assert_eq!(session_ids(&b[0]), vec!["bberf.lab;1;s1", "pcef.lab;1;s3"]);
    assert_eq!(b[0]["ipv4"], "10.45.0.17");
    assert_eq!(b[0]["apn"], "internet");
    assert!(["vpcrf1.lab", "vpcrf2.lab"].contains(&b[0]["pcrf_host"].as_str().unwrap_or("")));
    assert!(dra.bindings("?nai=001019999999999").await?.is_empty());
    // The same binding through the gRPC control service.
    let mut grpc = DraControlClient::connect(dra.node.grpc_uri()).await?;
    let listed = grpc
        .list_bindings(pb::ListBindingsRequest { nai: IMSI.into() })
        .await?
        .into_inner()
        .bindings;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].binding_id,
        b[0]["binding_id"].as_str().unwrap_or("")
    );
    assert_eq!(
        listed[0].pcrf_host,
        b[0]["pcrf_host"].as_str().unwrap_or("")
    );
    let ifaces: Vec<&str> = listed[0]
        .sessions
        .iter()
        .map(|s| s.interface.as_str())
        .collect();
    assert_eq!(ifaces, vec!["gxx", "gx"]);

    assert_eq!(
        client(
            dir.path(),
            "bberf.lab",
            &d,
            &ccr("gxx", "bberf.lab;1;s1", "TERMINATION_REQUEST", 1, ""),
            None
        )
        .await?,
        0
    );
    let b = dra.bindings("").await?;
    assert_eq!(b.len(), 1);
    assert_eq!(
        session_ids(&b[0]),
        vec!["pcef.lab;1;s3"],
        "the Gxx session deleted on its termination"
    );
    assert_eq!(
        client(
            dir.path(),
            "pcef.lab",
            &d,
            &ccr("gx", "pcef.lab;1;s3", "TERMINATION_REQUEST", 1, ""),
            None
        )
        .await?,
        0
    );
    assert!(
        dra.bindings("").await?.is_empty(),
        "the last session gone, the binding goes"
    );
    assert_eq!(
        dra.metric("corelab_dra_deletions_total{cause=\"cascade\"}")
            .await?,
        1.0
    );
    assert_eq!(
        dra.metric("corelab_dra_deletions_total{cause=\"termination\"}")
            .await?,
        2.0
    );
    assert_eq!(dra.metric("corelab_dra_bindings_created_total").await?, 1.0);
    assert_eq!(dra.metric("corelab_dra_redirects_total").await?, 4.0);
    Ok(())
}

/// `binding_cleanup = false`: the plain TS 29.213 redirect DRA. The same run leaves the
/// binding and its session (stale); the termination is still redirected to the PCRF.
async fn cleanup_off_leaves_the_binding(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let p = Pcrf::start(dir.path(), "vpcrf1.lab").await?;
    let url = store_for(backend, dir.path()).await?;
    let dra = Dra::start(
        dir.path(),
        "vdra",
        &dra_config(
            dir.path(),
            &url,
            "visited",
            "redirect",
            &[&p],
            "cleanup_off",
        ),
    )
    .await?;
    let d = dra.diameter();
    assert_eq!(
        client(
            dir.path(),
            "pcef.lab",
            &d,
            &ccr(
                "gx",
                "pcef.lab;1;s1",
                "INITIAL_REQUEST",
                0,
                &ue_keys("10.45.0.18")
            ),
            None
        )
        .await?,
        0
    );
    assert_eq!(
        client(
            dir.path(),
            "pcef.lab",
            &d,
            &ccr("gx", "pcef.lab;1;s1", "TERMINATION_REQUEST", 1, ""),
            None
        )
        .await?,
        0
    );
    let b = dra.bindings("").await?;
    assert_eq!(b.len(), 1, "stale binding kept without the seed's feature");
    assert_eq!(session_ids(&b[0]), vec!["pcef.lab;1;s1"]);
    assert_eq!(dra.metric("corelab_dra_deletions_total").await?, 0.0);
    Ok(())
}

/// Rows 7-9 (vDRA proxy): the AF's Rx session joins the PCEF's binding by UE IP; the STR and the
/// CCR-T are forwarded to the bound PCRF and the sessions deleted when its answer passes back.
/// With the PCRF down the termination gets 3002 and the binding stays (nothing was answered).
async fn visited_proxy_deletes_when_the_answer_passes_back(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let p = Pcrf::start(dir.path(), "vpcrf1.lab").await?;
    let url = store_for(backend, dir.path()).await?;
    let dra = Dra::start(
        dir.path(),
        "vdra",
        &dra_config(dir.path(), &url, "visited", "proxy", &[&p], ""),
    )
    .await?;
    let d = dra.diameter();
    assert_eq!(
        client(
            dir.path(),
            "pcef.lab",
            &d,
            &ccr(
                "gx",
                "pcef.lab;1;s1",
                "INITIAL_REQUEST",
                0,
                &ue_keys("10.45.0.19")
            ),
            None
        )
        .await?,
        0
    );
    assert_eq!(
        client(
            dir.path(),
            "pcscf.lab",
            &d,
            &aar("pcscf.lab;1;af1", "10.45.0.19"),
            None
        )
        .await?,
        0
    );
    let b = dra.bindings("").await?;
    assert_eq!(session_ids(&b[0]), vec!["pcef.lab;1;s1", "pcscf.lab;1;af1"]);
    assert_eq!(
        client(dir.path(), "pcscf.lab", &d, &str_("pcscf.lab;1;af1"), None).await?,
        0
    );
    assert_eq!(
        session_ids(&dra.bindings("").await?[0]),
        vec!["pcef.lab;1;s1"]
    );
    // An AF session for a UE with no IP-CAN session: no binding to join (5012), none made.
    assert_eq!(
        client(
            dir.path(),
            "pcscf.lab",
            &d,
            &aar("pcscf.lab;1;af2", "10.99.0.1"),
            Some("5012")
        )
        .await?,
        0
    );
    assert_eq!(dra.bindings("").await?.len(), 1);

    p.stop().await?;
    assert_eq!(
        client(
            dir.path(),
            "pcef.lab",
            &d,
            &ccr("gx", "pcef.lab;1;s1", "TERMINATION_REQUEST", 1, ""),
            Some("3002")
        )
        .await?,
        0
    );
    assert_eq!(
        dra.bindings("").await?.len(),
        1,
        "no answer passed back: the binding stays"
    );
    // CCR-I, AAR, STR, CCR-T steered to the bound PCRF (the AAR without a binding was not).
    assert_eq!(dra.metric("corelab_dra_proxied_requests_total").await?, 4.0);
    Ok(())
}

/// Rows 4-6 (hDRA proxy): the hDRA deletes **before forwarding**. Shown with the hPCRF down:
/// the S9 termination gets 3002, and the binding is gone all the same.
async fn home_proxy_deletes_before_forwarding(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let p = Pcrf::start(dir.path(), "hpcrf1.lab").await?;
    let url = store_for(backend, dir.path()).await?;
    let dra = Dra::start(
        dir.path(),
        "hdra",
        &dra_config(dir.path(), &url, "home", "proxy", &[&p], ""),
    )
    .await?;
    let d = dra.diameter();
    let est = format!(
        "{}{}",
        ue_keys("10.45.0.20"),
        client_ids(&["bberf.lab;1;s1"])
    );
    assert_eq!(
        client(
            dir.path(),
            "vpcrf.lab",
            &d,
            &ccr("s9", "vpcrf.lab;1;s2", "INITIAL_REQUEST", 0, &est),
            None
        )
        .await?,
        0
    );
    assert_eq!(
        session_ids(&dra.bindings("").await?[0]),
        vec!["bberf.lab;1;s1", "vpcrf.lab;1;s2"]
    );
    p.stop().await?;
    let term = ccr(
        "s9",
        "vpcrf.lab;1;s2",
        "TERMINATION_REQUEST",
        1,
        &client_ids(&["bberf.lab;1;s1"]),
    );
    assert_eq!(
        client(dir.path(), "vpcrf.lab", &d, &term, Some("3002")).await?,
        0
    );
    assert!(
        dra.bindings("").await?.is_empty(),
        "deleted before forwarding"
    );
    Ok(())
}

/// Rows 1-3 and 10 (hDRA redirect): the vPCRF's S9 establishment names the client sessions
/// (Session-Id 1 and 3) in Corelab-Client-Session-Id; an S9 subsession termination deletes
/// Session-Id 1 by that AVP alone (the S9 session lives on); the S9 termination (Session-Id 2
/// with Session-Id 3) takes the rest and the binding.
async fn home_redirect_deletes_by_s1_from_the_vendor_avp(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let p = Pcrf::start(dir.path(), "hpcrf1.lab").await?;
    let url = store_for(backend, dir.path()).await?;
    let dra = Dra::start(
        dir.path(),
        "hdra",
        &dra_config(dir.path(), &url, "home", "redirect", &[&p], ""),
    )
    .await?;
    let d = dra.diameter();
    let est = format!(
        "{}{}",
        ue_keys("10.45.0.21"),
        client_ids(&["bberf.lab;1;s1", "pcef.lab;1;s3"])
    );
    assert_eq!(
        client(
            dir.path(),
            "vpcrf.lab",
            &d,
            &ccr("s9", "vpcrf.lab;1;s2", "INITIAL_REQUEST", 0, &est),
            None
        )
        .await?,
        0
    );
    let b = dra.bindings("").await?;
    assert_eq!(
        session_ids(&b[0]),
        vec!["bberf.lab;1;s1", "pcef.lab;1;s3", "vpcrf.lab;1;s2"]
    );
    assert_eq!(b[0]["sessions"][0]["interface"], "s9-client");

    let sub = format!(
        "{}{}",
        subsession_termination(),
        client_ids(&["bberf.lab;1;s1"])
    );
    assert_eq!(
        client(
            dir.path(),
            "vpcrf.lab",
            &d,
            &ccr("s9", "vpcrf.lab;1;s2", "UPDATE_REQUEST", 1, &sub),
            None
        )
        .await?,
        0
    );
    assert_eq!(
        session_ids(&dra.bindings("").await?[0]),
        vec!["pcef.lab;1;s3", "vpcrf.lab;1;s2"]
    );

    let term = ccr(
        "s9",
        "vpcrf.lab;1;s2",
        "TERMINATION_REQUEST",
        2,
        &client_ids(&["pcef.lab;1;s3"]),
    );
    assert_eq!(client(dir.path(), "vpcrf.lab", &d, &term, None).await?, 0);
    assert!(dra.bindings("").await?.is_empty());
    Ok(())
}

/// Proxy vDRA: a request from the bound PCRF (a RAR right after the CCA-I, TS 29.212 §4.5.2)
/// is not steered by the binding but routed to the client by its Destination-Host, and the
/// client's RAA goes back to the PCRF.
async fn proxy_passes_the_pcrfs_rar_to_the_client(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let rar = dir.path().join("rar.toml");
    std::fs::write(
        &rar,
        "[[request]]\ncommand = \"Re-Auth\"\napplication = \"gx\"\navps = [\n\
         { name = \"Session-Id\", value = \"${session}\" },\n\
         { name = \"Destination-Realm\", value = \"${peer_realm}\" },\n\
         { name = \"Destination-Host\", value = \"${peer_host}\" },\n\
         { name = \"Re-Auth-Request-Type\", value = \"AUTHORIZE_ONLY\" },\n]\n",
    )?;
    let after = vec![
        "--send-after-answer".to_string(),
        format!("CCR-I={}", rar.display()),
    ];
    let p = Pcrf::start_with(dir.path(), "vpcrf1.lab", &after).await?;
    let url = store_for(backend, dir.path()).await?;
    let dra = Dra::start(
        dir.path(),
        "vdra",
        &dra_config(dir.path(), &url, "visited", "proxy", &[&p], ""),
    )
    .await?;
    let ccr_i = ccr(
        "gx",
        "pcef.lab;1;s1",
        "INITIAL_REQUEST",
        0,
        &ue_keys("10.45.0.27"),
    );
    assert_eq!(
        client_answering(dir.path(), "pcef.lab", &dra.diameter(), &ccr_i, None, 1).await?,
        0,
        "CCA-I, then the RAR answered"
    );
    // The client has sent its RAA; the PCRF prints it once it arrives.
    let out = dir.path().join("vpcrf1.lab.out");
    until(Duration::from_secs(10), "the RAA at the PCRF", || {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        async move { text.contains("Re-Auth-Answer").then_some(()) }
    })
    .await?;
    assert_eq!(dra.bindings("").await?.len(), 1);
    Ok(())
}

/// The seed's parallel ordering: the client addresses its termination to the DRA itself
/// (Destination-Host) besides sending it to the PCRF. The redirect vDRA is then its endpoint:
/// it deletes and acknowledges 2001, and sends nothing to the PCRF; any other request addressed
/// to it gets 3001.
async fn termination_addressed_to_the_dra_is_acknowledged(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let p = Pcrf::start(dir.path(), "vpcrf1.lab").await?;
    let url = store_for(backend, dir.path()).await?;
    let dra = Dra::start(
        dir.path(),
        "vdra",
        &dra_config(dir.path(), &url, "visited", "redirect", &[&p], ""),
    )
    .await?;
    let d = dra.diameter();
    let ccr_i = ccr(
        "gx",
        "pcef.lab;1;s1",
        "INITIAL_REQUEST",
        0,
        &ue_keys("10.45.0.28"),
    );
    assert_eq!(client(dir.path(), "pcef.lab", &d, &ccr_i, None).await?, 0);
    let to_dra = "{ name = \"Destination-Host\", value = \"visiteddra.lab\" },\n";
    let update = ccr("gx", "pcef.lab;1;s1", "UPDATE_REQUEST", 1, to_dra);
    assert_eq!(
        client(dir.path(), "pcef.lab", &d, &update, Some("3001")).await?,
        0
    );
    let ccr_t = ccr("gx", "pcef.lab;1;s1", "TERMINATION_REQUEST", 2, to_dra);
    assert_eq!(
        client(dir.path(), "pcef.lab", &d, &ccr_t, Some("2001")).await?,
        0
    );
    assert!(dra.bindings("").await?.is_empty());
    let pcrf_saw = std::fs::read_to_string(dir.path().join("vpcrf1.lab.out"))?;
    assert_eq!(
        pcrf_saw.matches("<< recv Credit-Control-Request").count(),
        1,
        "only the CCR-I reached the PCRF: {pcrf_saw}"
    );
    assert_eq!(
        client(dir.path(), "pcef.lab", &d, &ccr_t, Some("5002")).await?,
        0
    );
    Ok(())
}

/// A CCR-I whose UE IP (and APN) is that of a live binding of another NAI: the address was
/// given to a new UE, so that binding is stale (here left by a DRA with cleanup off); it is
/// replaced, counted `cause="stale"`, and an AF session for that IP joins the new UE's binding.
async fn a_new_ue_with_a_stale_bindings_ip_replaces_it(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let p = Pcrf::start(dir.path(), "vpcrf1.lab").await?;
    let url = store_for(backend, dir.path()).await?;
    let dra = Dra::start(
        dir.path(),
        "vdra",
        &dra_config(
            dir.path(),
            &url,
            "visited",
            "redirect",
            &[&p],
            "cleanup_off",
        ),
    )
    .await?;
    let d = dra.diameter();
    let (a, b) = ("001010000000111", "001010000000222");
    let old = ccr(
        "gx",
        "pcef.lab;1;a",
        "INITIAL_REQUEST",
        0,
        &ue_keys_of(a, "10.45.0.29"),
    );
    assert_eq!(client(dir.path(), "pcef.lab", &d, &old, None).await?, 0);
    let end = ccr("gx", "pcef.lab;1;a", "TERMINATION_REQUEST", 1, "");
    assert_eq!(client(dir.path(), "pcef.lab", &d, &end, None).await?, 0);
    assert_eq!(dra.bindings(&format!("?nai={a}")).await?.len(), 1, "stale");
    let new = ccr(
        "gx",
        "pcef.lab;1;b",
        "INITIAL_REQUEST",
        0,
        &ue_keys_of(b, "10.45.0.29"),
    );
    assert_eq!(client(dir.path(), "pcef.lab", &d, &new, None).await?, 0);
    let all = dra.bindings("").await?;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["nai"], b);
    assert_eq!(
        dra.metric("corelab_dra_deletions_total{cause=\"stale\"}")
            .await?,
        1.0
    );
    assert_eq!(
        client(
            dir.path(),
            "pcscf.lab",
            &d,
            &aar("pcscf.lab;1;af", "10.45.0.29"),
            None
        )
        .await?,
        0
    );
    assert_eq!(
        session_ids(&dra.bindings("").await?[0]),
        vec!["pcef.lab;1;b", "pcscf.lab;1;af"]
    );
    Ok(())
}

/// A termination for a Session-Id no binding records gets 5002 DIAMETER_UNKNOWN_SESSION_ID from
/// the DRA and changes nothing.
async fn unknown_session_termination_is_5002_and_changes_nothing(
    backend: Backend,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let p = Pcrf::start(dir.path(), "vpcrf1.lab").await?;
    let url = store_for(backend, dir.path()).await?;
    let dra = Dra::start(
        dir.path(),
        "vdra",
        &dra_config(dir.path(), &url, "visited", "redirect", &[&p], ""),
    )
    .await?;
    let d = dra.diameter();
    assert_eq!(
        client(
            dir.path(),
            "pcef.lab",
            &d,
            &ccr(
                "gx",
                "pcef.lab;1;s1",
                "INITIAL_REQUEST",
                0,
                &ue_keys("10.45.0.22")
            ),
            None
        )
        .await?,
        0
    );
    let before = dra.bindings("").await?;
    assert_eq!(
        client(
            dir.path(),
            "pcef.lab",
            &d,
            &ccr("gx", "pcef.lab;1;nobody", "TERMINATION_REQUEST", 1, ""),
            Some("5002")
        )
        .await?,
        0
    );
    assert_eq!(dra.bindings("").await?, before);
    assert_eq!(
        dra.metric("corelab_dra_rejected_total{result_code=\"5002\"}")
            .await?,
        1.0
    );
    Ok(())
}

/// Bindings are in the store: a restarted DRA finds the binding, and the termination sent to
/// it deletes it.
async fn binding_survives_a_restart(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let p = Pcrf::start(dir.path(), "vpcrf1.lab").await?;
    let url = store_for(backend, dir.path()).await?;
    let cfg = dra_config(dir.path(), &url, "visited", "redirect", &[&p], "");
    let dra = Dra::start(dir.path(), "vdra", &cfg).await?;
    assert_eq!(
        client(
            dir.path(),
            "pcef.lab",
            &dra.diameter(),
            &ccr(
                "gx",
                "pcef.lab;1;s1",
                "INITIAL_REQUEST",
                0,
                &ue_keys("10.45.0.23")
            ),
            None
        )
        .await?,
        0
    );
    let before = dra.bindings("").await?;
    dra.node.stop().await?;
    let dra = Dra::start(dir.path(), "vdra2", &cfg).await?;
    assert_eq!(dra.bindings("").await?, before);
    assert_eq!(
        client(
            dir.path(),
            "pcef.lab",
            &dra.diameter(),
            &ccr("gx", "pcef.lab;1;s1", "TERMINATION_REQUEST", 1, ""),
            None
        )
        .await?,
        0
    );
    assert!(dra.bindings("").await?.is_empty());
    Ok(())
}

/// The audit (beyond the seed): a binding whose termination never came is removed once its
/// sessions outlive `audit.lifetime_secs`, and counted.
async fn audit_removes_a_binding_whose_termination_was_lost(
    backend: Backend,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let p = Pcrf::start(dir.path(), "vpcrf1.lab").await?;
    let url = store_for(backend, dir.path()).await?;
    let dra = Dra::start(
        dir.path(),
        "vdra",
        &dra_config(dir.path(), &url, "visited", "redirect", &[&p], "audit_fast"),
    )
    .await?;
    assert_eq!(
        client(
            dir.path(),
            "pcef.lab",
            &dra.diameter(),
            &ccr(
                "gx",
                "pcef.lab;1;lost",
                "INITIAL_REQUEST",
                0,
                &ue_keys("10.45.0.24")
            ),
            None
        )
        .await?,
        0
    );
    assert_eq!(dra.bindings("").await?.len(), 1);
    until(
        Duration::from_secs(20),
        "the audit to remove the binding",
        || async { dra.bindings("").await.ok().filter(|b| b.is_empty()) },
    )
    .await?;
    assert_eq!(
        dra.metric("corelab_dra_deletions_total{cause=\"audit\"}")
            .await?,
        1.0
    );
    Ok(())
}

/// The binding is committed before the request is forwarded (proxy) or redirected: the vDRA
/// stopped right after creating it (failpoint `dra.binding_committed`) and killed (SIGKILL) has
/// sent nothing to the PCRF, and a new vDRA on the same store finds the binding.
async fn binding_is_committed_before_forwarding(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let p = Pcrf::start(dir.path(), "vpcrf1.lab").await?;
    let url = store_for(backend, dir.path()).await?;
    let stopping = dra_config(dir.path(), &url, "visited", "proxy", &[&p], "failpoint");
    let dra = Dra::start(dir.path(), "vdra", &stopping).await?;
    let requests = ccr(
        "gx",
        "pcef.lab;1;s1",
        "INITIAL_REQUEST",
        0,
        &ue_keys("10.45.0.26"),
    );
    let file = dir.path().join("ccr-i.toml");
    std::fs::write(&file, requests)?;
    let _client = Command::new(bin_path("diameter-peer")?)
        .args([
            "client",
            "--origin-host",
            "pcef.lab",
            "--origin-realm",
            "lab",
            "--connect",
        ])
        .arg(dra.diameter())
        .arg("--requests")
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let log = dir.path().join("vdra.log");
    until(Duration::from_secs(20), "the vDRA at its failpoint", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        async move { text.contains("failpoint reached").then_some(()) }
    })
    .await?;
    dra.node.kill().await?;
    let pcrf_saw = std::fs::read_to_string(dir.path().join("vpcrf1.lab.out"))?;
    assert!(
        !pcrf_saw.contains("Credit-Control"),
        "nothing forwarded: {pcrf_saw}"
    );
    let dra = Dra::start(
        dir.path(),
        "vdra2",
        &dra_config(dir.path(), &url, "visited", "proxy", &[&p], ""),
    )
    .await?;
    let b = dra.bindings("").await?;
    assert_eq!(b.len(), 1);
    assert_eq!(session_ids(&b[0]), vec!["pcef.lab;1;s1"]);
    Ok(())
}

on_both_backends! {
    a_new_ue_with_the_ip_of_a_stale_binding_replaces_it => a_new_ue_with_a_stale_bindings_ip_replaces_it;
    a_termination_addressed_to_the_redirect_dra_itself_is_deleted_and_acknowledged_2001 => termination_addressed_to_the_dra_is_acknowledged;
    proxy_vdra_passes_the_pcrfs_rar_to_the_client => proxy_passes_the_pcrfs_rar_to_the_client;
    the_binding_is_committed_before_the_request_is_forwarded => binding_is_committed_before_forwarding;
    redirect_vdra_deletes_each_session_on_its_termination_then_the_binding => redirect_establish_then_terminate;
    cleanup_off_the_plain_redirect_dra_keeps_a_stale_binding => cleanup_off_leaves_the_binding;
    proxy_vdra_deletes_when_the_answer_passes_back_and_not_without_one => visited_proxy_deletes_when_the_answer_passes_back;
    proxy_hdra_deletes_before_forwarding => home_proxy_deletes_before_forwarding;
    redirect_hdra_deletes_by_session_id_1_from_the_vendor_avp => home_redirect_deletes_by_s1_from_the_vendor_avp;
    termination_for_an_unknown_session_id_is_5002_and_changes_nothing => unknown_session_termination_is_5002_and_changes_nothing;
    a_binding_survives_a_dra_restart => binding_survives_a_restart;
    the_audit_removes_a_binding_whose_termination_was_lost => audit_removes_a_binding_whose_termination_was_lost;
}

/// A mated pair (PostgreSQL only: two processes on one store): the session is established
/// through one vDRA and terminated through the other; no binding is left in either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: CORELAB_TEST_PG_URL, run with --include-ignored"]
async fn mated_pair_established_through_one_terminated_through_the_other_leaves_no_binding()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let p = Pcrf::start(dir.path(), "vpcrf1.lab").await?;
    let url = postgres_database().await?;
    let cfg = dra_config(dir.path(), &url, "visited", "redirect", &[&p], "");
    let a = Dra::start(dir.path(), "vdra-a", &cfg).await?;
    let b = Dra::start(dir.path(), "vdra-b", &cfg).await?;
    let keys = ue_keys("10.45.0.25");
    assert_eq!(
        client(
            dir.path(),
            "bberf.lab",
            &a.diameter(),
            &ccr("gxx", "bberf.lab;1;s1", "INITIAL_REQUEST", 0, &keys),
            None
        )
        .await?,
        0
    );
    assert_eq!(
        client(
            dir.path(),
            "pcef.lab",
            &b.diameter(),
            &ccr("gx", "pcef.lab;1;s3", "INITIAL_REQUEST", 0, &keys),
            None
        )
        .await?,
        0
    );
    let seen_by_b = b.bindings("").await?;
    assert_eq!(
        seen_by_b.len(),
        1,
        "one binding for both sessions: {seen_by_b:?}"
    );
    assert_eq!(a.bindings("").await?, seen_by_b);
    assert_eq!(
        client(
            dir.path(),
            "bberf.lab",
            &b.diameter(),
            &ccr("gxx", "bberf.lab;1;s1", "TERMINATION_REQUEST", 1, ""),
            None
        )
        .await?,
        0
    );
    assert_eq!(
        client(
            dir.path(),
            "pcef.lab",
            &a.diameter(),
            &ccr("gx", "pcef.lab;1;s3", "TERMINATION_REQUEST", 1, ""),
            None
        )
        .await?,
        0
    );
    assert!(a.bindings("").await?.is_empty());
    assert!(b.bindings("").await?.is_empty());
    Ok(())
}
