//! The four-node proof over the wire (issue 10 §4): separate processes over TCP on loopback —
//! `pcc-emulator run` as the BBERF (and PCEF) → vDRA (`dra`, role visited) → vPCRF (`pcrf`, role
//! visited) → hDRA (`dra`, role home) → hPCRF (`pcrf`, role home) — establishment then
//! termination of one roaming UE, after which the four stores hold **no binding and no session**
//! (`GET /bindings` at the DRAs, `GET /sessions` at the PCRFs). One body, driven by the rows of
//! specs/dra-roaming.md's table: (vDRA mode, hDRA mode, ordering, binding_cleanup, embodiment 10).
//!
//! The lab is `labctl::dra::DraLab`, which `labctl demo dra` plays too. Needs
//! `cargo build -p pcc-emulator -p corelab-dra -p corelab-pcrf`.

use corelab_tests::{Backend, on_both_backends};
use serde_json::Value;

#[path = "support/dra_peers.rs"]
mod dra_peers;
use dra_peers::{
    Setup, ccr, client, json_array, metric, node_dir, run_scenario, start_lab, ue_keys,
};

const UE: &str = "ue = { nai = \"001010000000001\", ip = \"10.45.10.1\", apn = \"internet\" }";

/// One run of the table.
struct Row {
    /// The vDRA's mode (`redirect`, `proxy`).
    vdra: &'static str,
    /// The hDRA's mode.
    hdra: &'static str,
    /// The termination ordering (`after_redirect`, `at_once`) of the client towards a redirect
    /// vDRA and of the vPCRF's S9 towards a redirect hDRA (`s9.termination`).
    ordering: &'static str,
    /// `binding_cleanup` on both DRAs.
    cleanup: bool,
    /// The client sessions of the UE, established in this order (BBERF then PCEF: embodiment
    /// 10's one S9 session).
    clients: &'static [&'static str],
    /// How each ends, in order: (session, `terminate` | `await_end`, the latter for the AF's
    /// own STR after the vPCRF's loss-of-transmission RAR).
    ends: &'static [(&'static str, &'static str)],
}

impl Row {
    const fn new(vdra: &'static str, hdra: &'static str, ordering: &'static str) -> Row {
        Row {
            vdra,
            hdra,
            ordering,
            cleanup: true,
            clients: &["bberf"],
            ends: &[("bberf", "terminate")],
        }
    }

    fn name(&self) -> String {
        format!(
            "vDRA {} / hDRA {} / {} / cleanup {} / {}",
            self.vdra,
            self.hdra,
            self.ordering,
            self.cleanup,
            self.clients.join(" then ")
        )
    }

    /// The client's steps: establishments, then terminations.
    fn scenario(&self) -> String {
        let mut s = String::new();
        for r in self.clients {
            s.push_str(&format!(
                "[[step]]\nrole = \"{r}\"\n{UE}\naction = \"establish\"\nexpect = 2001\n"
            ));
        }
        for (r, action) in self.ends {
            let expect = if *action == "terminate" {
                "expect = 2001\n"
            } else {
                ""
            };
            s.push_str(&format!(
                "[[step]]\nsession = \"{r}\"\naction = \"{action}\"\n{expect}"
            ));
        }
        s
    }
}

/// Plays the row's establishment then termination through the four nodes and checks what each
/// store holds afterwards: nothing, or (cleanup off) the DRAs' stale bindings and no session.
async fn play(backend: Backend, row: Row) -> anyhow::Result<()> {
    let name = row.name();
    let dir = tempfile::tempdir()?;
    let setup = Setup {
        cleanup: row.cleanup,
        s9_termination: row.ordering.into(),
        ..Setup::new(row.vdra, row.hdra)
    };
    let lab = start_lab(backend, dir.path(), setup).await?;
    let args = lab.client_args(&lab.vdra, row.ordering);
    let (code, out) = run_scenario(dir.path(), "client", args, &row.scenario()).await?;
    assert_eq!(code, 0, "{name}: {out}");
    if row.ends.iter().any(|(_, a)| *a == "await_end") {
        assert!(
            out.contains("Re-Auth-Request (RAR) app=Rx") && out.contains(">> af STR"),
            "{name}: loss of transmission to the AF, then its STR: {out}"
        );
    }

    // Every hop was taken: bindings made at both DRAs, sessions at both PCRFs, S9 ended.
    for (dra, what) in [(&lab.vdra, "vDRA"), (&lab.hdra, "hDRA")] {
        assert!(
            dra.metric("corelab_dra_bindings_created_total").await? >= 1.0,
            "{name}: the {what} made a binding"
        );
    }
    for (pcrf, what) in [(&lab.vpcrf, "vPCRF"), (&lab.hpcrf, "hPCRF")] {
        assert!(
            metric(pcrf, "corelab_pcrf_sessions_established_total").await? >= 1.0,
            "{name}: the {what} established a session"
        );
    }
    let s9 = |kind: &str| format!("corelab_pcrf_s9_requests_total{{kind=\"{kind}\"");
    assert_eq!(
        metric(&lab.vpcrf, &s9("termination")).await?,
        1.0,
        "{name}: one S9 termination, for the last client session"
    );
    assert_eq!(
        metric(&lab.vpcrf, &s9("subsession_termination")).await?,
        (row.clients.len() - 1) as f64,
        "{name}: every termination but the last is an S9 modification"
    );

    for (pcrf, what) in [(&lab.vpcrf, "vPCRF"), (&lab.hpcrf, "hPCRF")] {
        let left = json_array(pcrf, "/sessions").await?;
        assert_eq!(
            left,
            Vec::<Value>::new(),
            "{name}: sessions left at the {what}"
        );
    }
    for (dra, what) in [(&lab.vdra, "vDRA"), (&lab.hdra, "hDRA")] {
        let left = dra.bindings("").await?;
        if row.cleanup {
            assert_eq!(
                left,
                Vec::<Value>::new(),
                "{name}: bindings left at the {what}"
            );
        } else {
            assert!(
                !left.is_empty(),
                "{name}: binding_cleanup = false leaves the {what}'s binding"
            );
        }
    }
    Ok(())
}

/// Embodiment 1, the seed's sequential ordering: each termination to the DRA, then to the PCRF
/// its 3006 names.
async fn e1_after_redirect(b: Backend) -> anyhow::Result<()> {
    play(b, Row::new("redirect", "redirect", "after_redirect")).await
}

/// Embodiment 1, "∥ at once": each termination to the DRA and the PCRF in parallel.
async fn e1_at_once(b: Backend) -> anyhow::Result<()> {
    play(b, Row::new("redirect", "redirect", "at_once")).await
}

/// Embodiment 4: the proxy hDRA deletes before forwarding.
async fn e4(b: Backend) -> anyhow::Result<()> {
    play(b, Row::new("redirect", "proxy", "after_redirect")).await
}

/// Embodiment 7: the proxy vDRA deletes when the answer passes back.
async fn e7(b: Backend) -> anyhow::Result<()> {
    play(b, Row::new("proxy", "redirect", "after_redirect")).await
}

/// Embodiment 1 with `binding_cleanup = false` on both DRAs (TS 29.213's DRA): the same
/// messages, but both DRAs keep a stale binding — the difference the cleanup makes.
async fn e1_without_cleanup(b: Backend) -> anyhow::Result<()> {
    let row = Row {
        cleanup: false,
        ..Row::new("redirect", "redirect", "after_redirect")
    };
    play(b, row).await
}

/// Embodiment 10: BBERF then PCEF on one S9 session; the first termination is an S9
/// modification, the last the S9 CCR-T.
async fn e10(b: Backend) -> anyhow::Result<()> {
    play(b, e10_row("after_redirect")).await
}

fn e10_row(ordering: &'static str) -> Row {
    Row {
        clients: &["bberf", "pcef"],
        ends: &[("bberf", "terminate"), ("pcef", "terminate")],
        ..Row::new("redirect", "redirect", ordering)
    }
}

/// Embodiment 10 "∥ at once".
async fn e10_at_once(b: Backend) -> anyhow::Result<()> {
    play(b, e10_row("at_once")).await
}

/// Embodiment 4 "∥ at once" (the vDRA's leg; the hDRA proxies).
async fn e4_at_once(b: Backend) -> anyhow::Result<()> {
    play(b, Row::new("redirect", "proxy", "at_once")).await
}

/// PCEF then AF through (vDRA, hDRA): the AF's STR first, the PCEF's CCR-T last.
fn pcef_af_row(vdra: &'static str, hdra: &'static str) -> Row {
    Row {
        clients: &["pcef", "af"],
        ends: &[("af", "terminate"), ("pcef", "terminate")],
        ..Row::new(vdra, hdra, "after_redirect")
    }
}

/// `row` with both terminations "∥ at once": the client's towards a redirect vDRA, the vPCRF's
/// S9 towards a redirect hDRA.
fn at_once(row: Row) -> Row {
    Row {
        ordering: "at_once",
        ..row
    }
}

/// Embodiments 2 and 3: redirect vDRA, redirect hDRA.
async fn pcef_then_af(b: Backend) -> anyhow::Result<()> {
    play(b, pcef_af_row("redirect", "redirect")).await
}

/// Embodiment 5's AF (and 6's PCEF, without the loss of transmission): proxy hDRA.
async fn pcef_then_af_proxy_hdra(b: Backend) -> anyhow::Result<()> {
    play(b, pcef_af_row("redirect", "proxy")).await
}

/// Embodiment 8's AF (and 9's PCEF, without the loss of transmission): proxy vDRA.
async fn pcef_then_af_proxy_vdra(b: Backend) -> anyhow::Result<()> {
    play(b, pcef_af_row("proxy", "redirect")).await
}

/// Embodiments 6 and 9: the PCEF's termination first; the vPCRF tells the AF of the loss of
/// transmission (RAR), the AF answers and ends its session with an STR.
fn loss_of_transmission_row(vdra: &'static str, hdra: &'static str) -> Row {
    Row {
        clients: &["pcef", "af"],
        ends: &[("pcef", "terminate"), ("af", "await_end")],
        ..Row::new(vdra, hdra, "after_redirect")
    }
}

/// Embodiment 6: redirect vDRA, proxy hDRA.
async fn e6(b: Backend) -> anyhow::Result<()> {
    play(b, loss_of_transmission_row("redirect", "proxy")).await
}

/// Embodiment 9: proxy vDRA, redirect hDRA.
async fn e9(b: Backend) -> anyhow::Result<()> {
    play(b, loss_of_transmission_row("proxy", "redirect")).await
}

/// The proxy-variant vDRA (establishment and termination through it) with a proxy hDRA.
async fn proxy_variant_proxy(b: Backend) -> anyhow::Result<()> {
    play(b, Row::new("proxy_variant", "proxy", "after_redirect")).await
}

/// Embodiment 5 "∥ at once" (the AF's STR to the vDRA and the vPCRF; the hDRA proxies).
async fn e5_at_once(b: Backend) -> anyhow::Result<()> {
    play(b, at_once(pcef_af_row("redirect", "proxy"))).await
}

/// Embodiment 6 "∥ at once".
async fn e6_at_once(b: Backend) -> anyhow::Result<()> {
    play(b, at_once(loss_of_transmission_row("redirect", "proxy"))).await
}

/// Embodiment 7 "∥ at once" (the vPCRF's S9 termination to the hDRA and the hPCRF).
async fn e7_at_once(b: Backend) -> anyhow::Result<()> {
    play(b, at_once(Row::new("proxy", "redirect", "after_redirect"))).await
}

/// Embodiment 8 "∥ at once".
async fn e8_at_once(b: Backend) -> anyhow::Result<()> {
    play(b, at_once(pcef_af_row("proxy", "redirect"))).await
}

/// Embodiment 9 "∥ at once".
async fn e9_at_once(b: Backend) -> anyhow::Result<()> {
    play(b, at_once(loss_of_transmission_row("proxy", "redirect"))).await
}

/// BBERF, PCEF and AF of one UE together (embodiment 6's "PCEF (+BBERF, +AF)"): the BBERF's and
/// the PCEF's terminations are S9 modifications, the PCEF's also tells the AF of the loss of
/// transmission, and the AF's own STR ends the S9 session.
fn bberf_pcef_af_row(vdra: &'static str, hdra: &'static str) -> Row {
    Row {
        clients: &["bberf", "pcef", "af"],
        ends: &[
            ("bberf", "terminate"),
            ("pcef", "terminate"),
            ("af", "await_end"),
        ],
        ..Row::new(vdra, hdra, "after_redirect")
    }
}

/// BBERF + PCEF + AF, redirect vDRA, proxy hDRA (row 6 with the BBERF).
async fn bberf_pcef_af_proxy_hdra(b: Backend) -> anyhow::Result<()> {
    play(b, bberf_pcef_af_row("redirect", "proxy")).await
}

/// BBERF + PCEF + AF, proxy vDRA, redirect hDRA, at once (row 9 with the BBERF).
async fn bberf_pcef_af_proxy_vdra_at_once(b: Backend) -> anyhow::Result<()> {
    play(b, at_once(bberf_pcef_af_row("proxy", "redirect"))).await
}

/// Proxy vDRA and proxy hDRA.
async fn proxy_proxy(b: Backend) -> anyhow::Result<()> {
    play(b, Row::new("proxy", "proxy", "after_redirect")).await
}

on_both_backends! {
    embodiment_1_after_the_redirect_leaves_nothing_on_four_nodes => e1_after_redirect;
    embodiment_1_at_once_leaves_nothing_on_four_nodes => e1_at_once;
    embodiment_4_redirect_vdra_proxy_hdra_leaves_nothing => e4;
    embodiment_7_proxy_vdra_redirect_hdra_leaves_nothing => e7;
    embodiment_1_without_binding_cleanup_leaves_stale_bindings => e1_without_cleanup;
    embodiment_10_one_s9_session_for_bberf_and_pcef_leaves_nothing => e10;
    proxy_vdra_proxy_hdra_leaves_nothing => proxy_proxy;
    embodiment_10_at_once_leaves_nothing => e10_at_once;
    embodiment_4_at_once_leaves_nothing => e4_at_once;
    pcef_then_af_leaves_nothing_on_four_nodes => pcef_then_af;
    pcef_then_af_through_a_proxy_hdra_leaves_nothing => pcef_then_af_proxy_hdra;
    pcef_then_af_through_a_proxy_vdra_leaves_nothing => pcef_then_af_proxy_vdra;
    proxy_variant_vdra_proxy_hdra_leaves_nothing => proxy_variant_proxy;
    embodiment_6_loss_of_transmission_then_str_leaves_nothing => e6;
    embodiment_9_loss_of_transmission_then_str_leaves_nothing => e9;
    embodiment_5_at_once_leaves_nothing => e5_at_once;
    embodiment_6_at_once_leaves_nothing => e6_at_once;
    embodiment_7_at_once_leaves_nothing => e7_at_once;
    embodiment_8_at_once_leaves_nothing => e8_at_once;
    embodiment_9_at_once_leaves_nothing => e9_at_once;
    bberf_pcef_and_af_together_through_a_proxy_hdra_leave_nothing => bberf_pcef_af_proxy_hdra;
    bberf_pcef_and_af_together_through_a_proxy_vdra_at_once_leave_nothing => bberf_pcef_af_proxy_vdra_at_once;
}

/// The mated pair over four nodes (issue 10 §1): two vDRAs in `mode` on one PostgreSQL binding
/// store in front of the vPCRF, hDRA, hPCRF. The BBERF's Gxx session is established through one
/// vDRA and the PCEF's Gx session of the same UE through the other (one binding, seen alike by
/// both); each is then terminated through the vDRA it did not use. The four stores end empty.
/// The client is `diameter-peer client` (pcc-emulator holds one vDRA connection per process).
async fn mated_pair(mode: &'static str) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let lab = start_lab(Backend::Postgres, dir.path(), Setup::new(mode, "redirect")).await?;
    let mate = lab
        .start_vdra(&node_dir(dir.path(), "vdra-b")?, "vdra-b", &lab.stores[3])
        .await?;
    let (a, b) = (lab.vdra.diameter(), mate.diameter());
    let d = node_dir(dir.path(), "clients")?;
    let keys = ue_keys("10.45.10.7");
    let (s1, s3) = ("pcc.lab;1;gxx", "pcc.lab;1;gx");
    let send = |at: &str, app: &str, session: &str, kind: &str, n: u32, keys: &str| {
        let request = ccr(app, session, kind, n, keys);
        let (d, at) = (d.clone(), at.to_string());
        async move { client(&d, "pcc.lab", &at, &request, None).await }
    };
    assert_eq!(
        send(&a, "gxx", s1, "INITIAL_REQUEST", 0, &keys).await?,
        0,
        "{mode}: Gxx CCR-I via vDRA a"
    );
    assert_eq!(
        send(&b, "gx", s3, "INITIAL_REQUEST", 0, &keys).await?,
        0,
        "{mode}: Gx CCR-I via vDRA b"
    );

    let seen_by_a = lab.vdra.bindings("").await?;
    assert_eq!(
        seen_by_a.len(),
        1,
        "{mode}: one binding for the UE: {seen_by_a:?}"
    );
    assert_eq!(
        mate.bindings("").await?,
        seen_by_a,
        "{mode}: both vDRAs read one store"
    );
    let sessions = seen_by_a[0]["sessions"].as_array().map(Vec::len);
    assert_eq!(
        sessions,
        Some(2),
        "{mode}: Gxx and Gx recorded: {seen_by_a:?}"
    );
    assert_eq!(
        lab.hdra.bindings("").await?.len(),
        1,
        "{mode}: the hDRA's binding"
    );

    assert_eq!(
        send(&b, "gxx", s1, "TERMINATION_REQUEST", 1, "").await?,
        0,
        "{mode}: Gxx CCR-T via vDRA b"
    );
    assert_eq!(
        send(&a, "gx", s3, "TERMINATION_REQUEST", 1, "").await?,
        0,
        "{mode}: Gx CCR-T via vDRA a"
    );

    for (what, left) in lab.stores_now().await? {
        assert_eq!(left, Vec::<Value>::new(), "{mode}: {what} left");
    }
    assert_eq!(
        mate.bindings("").await?,
        Vec::<Value>::new(),
        "{mode}: vDRA b's view"
    );
    assert_eq!(
        metric(
            &lab.vpcrf,
            "corelab_pcrf_s9_requests_total{kind=\"termination\""
        )
        .await?,
        1.0,
        "{mode}: the S9 session ended with the last client session"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: CORELAB_TEST_PG_URL, run with --include-ignored"]
async fn mated_redirect_vdras_over_four_nodes_leave_nothing() -> anyhow::Result<()> {
    mated_pair("redirect").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: CORELAB_TEST_PG_URL, run with --include-ignored"]
async fn mated_proxy_vdras_over_four_nodes_leave_nothing() -> anyhow::Result<()> {
    mated_pair("proxy").await
}
