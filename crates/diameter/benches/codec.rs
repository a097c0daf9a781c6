//! Decode-and-route of a Gx CCR-I, and encode of a Gx CCA-I.

use std::hint::black_box;

use corelab_diameter::{Message, RoutingView, relay};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/common/mod.rs"]
mod common;

fn codec(c: &mut Criterion) {
    let ccr = common::gx_ccr_initial().encode().unwrap();
    let cca = common::gx_cca_initial();
    c.bench_function("gx_ccr_i_decode_and_route", |b| {
        b.iter(|| {
            let view = RoutingView::decode(black_box(&ccr)).unwrap();
            black_box((
                view.session_id,
                view.destination_realm,
                view.has_looped_through("hdra.home.example"),
            ))
        })
    });
    c.bench_function("gx_ccr_i_decode_route_and_forward", |b| {
        b.iter(|| {
            let msg = Message::decode(black_box(&ccr)).unwrap();
            relay::forward_request(&msg, 7, "pgw.visited.example").unwrap()
        })
    });
    c.bench_function("gx_cca_i_encode", |b| {
        b.iter(|| black_box(&cca).encode().unwrap())
    });
}

criterion_group!(benches, codec);
criterion_main!(benches);
