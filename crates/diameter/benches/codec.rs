//! Decode-and-route of a Gx CCR-I, the same plus forwarding, full validation,
//! and encode of a Gx CCA-I. Numbers and conditions: docs/benchmarks.md.
//!
//! "Decode-and-route" is what a DRA does per request: parse the header and
//! check the top-level AVP framing, find Session-Id, Destination-Realm,
//! Destination-Host and the Route-Records (loop detection, RFC 6733 §6.1.3),
//! and pick the next hop in a small route table (by Destination-Host, else by
//! Destination-Realm and application, RFC 6733 §6.1.4-6.1.6).

use std::hint::black_box;

use corelab_diameter::codes::app;
use corelab_diameter::{Dictionary, Message, Role, RoutingView, relay, validate};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/common/mod.rs"]
mod common;

/// A small static route table: host routes, then realm routes per application.
struct Routes {
    hosts: Vec<(&'static str, usize)>,
    realms: Vec<(&'static str, u32, usize)>,
}

impl Routes {
    fn lab() -> Routes {
        Routes {
            hosts: vec![
                ("hpcrf.home.example", 0),
                ("vpcrf.visited.example", 1),
                ("pcscf.visited.example", 2),
            ],
            realms: vec![
                ("home.example", app::S9, 3),
                ("home.example", app::GX, 0),
                ("ims.example", app::RX, 4),
                ("visited.example", app::RX, 2),
                ("visited.example", app::GX, 1),
                ("visited.example", app::GXX, 1),
            ],
        }
    }

    /// The peer index for this request, `None` = 3003/3002.
    fn pick(&self, v: &RoutingView<'_>) -> Option<usize> {
        if let Some(h) = v.destination_host {
            if let Some(&(_, p)) = self
                .hosts
                .iter()
                .find(|(n, _)| h.eq_ignore_ascii_case(n.as_bytes()))
            {
                return Some(p);
            }
        }
        let realm = v.destination_realm?;
        let app_id = v.header.application_id;
        self.realms
            .iter()
            .find(|(r, a, _)| *a == app_id && realm.eq_ignore_ascii_case(r.as_bytes()))
            .map(|&(_, _, p)| p)
    }
}

const SELF: &str = "vdra.visited.example.net";

/// One decode-and-route: the next hop, or `None` (loop or no route).
fn decode_and_route(bytes: &[u8], routes: &Routes) -> Option<(usize, usize)> {
    let view = RoutingView::decode(bytes).ok()?;
    view.session_id?;
    if view.has_looped_through(SELF) {
        return None; // 3005 DIAMETER_LOOP_DETECTED
    }
    let peer = routes.pick(&view)?;
    Some((peer, view.session_id.map_or(0, <[u8]>::len)))
}

fn codec(c: &mut Criterion) {
    let ccr = common::gx_ccr_initial().encode().unwrap();
    let cca = common::gx_cca_initial();
    let routes = Routes::lab();
    assert_eq!(decode_and_route(&ccr, &routes).map(|r| r.0), Some(1));
    c.bench_function("gx_ccr_i_decode_and_route", |b| {
        b.iter(|| decode_and_route(black_box(&ccr), &routes))
    });
    c.bench_function("gx_ccr_i_decode_route_and_forward", |b| {
        b.iter(|| {
            let msg = Message::decode(black_box(&ccr)).unwrap();
            let view = RoutingView::new(&msg);
            let peer = routes.pick(&view);
            (peer, relay::forward_request(&msg, 7, SELF).unwrap())
        })
    });
    c.bench_function("gx_ccr_i_decode_and_validate_endpoint", |b| {
        let dict = Dictionary::standard();
        b.iter(|| {
            let msg = Message::decode(black_box(&ccr)).unwrap();
            validate(&msg, dict, Role::Endpoint)
        })
    });
    c.bench_function("gx_cca_i_encode", |b| {
        b.iter(|| black_box(&cca).encode().unwrap())
    });
}

criterion_group!(benches, codec);
criterion_main!(benches);
