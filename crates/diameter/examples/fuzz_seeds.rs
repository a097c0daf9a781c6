//! Writes the seed corpora of the cargo-fuzz targets under `fuzz/corpus/`
//! (real messages built with the builder): `cargo run -p corelab-diameter
//! --example fuzz_seeds -- fuzz/corpus`.

use std::path::Path;

use corelab_diameter::codes::{VENDOR_3GPP, app, avp, cmd};
use corelab_diameter::{Address, AvpBuf, DiameterError, MessageBuilder, ResultCode, error_answer};

#[path = "../tests/common/mod.rs"]
mod common;

fn cer() -> MessageBuilder {
    MessageBuilder::request(cmd::CAPABILITIES_EXCHANGE, app::BASE)
        .ids(1, 1)
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, "pgw.visited.example").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, "visited.example").mandatory())
        .avp(AvpBuf::address(avp::HOST_IP_ADDRESS, &Address::V4([192, 0, 2, 1].into())).mandatory())
        .avp(AvpBuf::u32(avp::VENDOR_ID, VENDOR_3GPP).mandatory())
        .avp(AvpBuf::utf8(avp::PRODUCT_NAME, "corelab"))
        .avp(
            AvpBuf::grouped(
                avp::VENDOR_SPECIFIC_APPLICATION_ID,
                vec![
                    AvpBuf::u32(avp::VENDOR_ID, VENDOR_3GPP).mandatory(),
                    AvpBuf::u32(avp::AUTH_APPLICATION_ID, app::GX).mandatory(),
                ],
            )
            .mandatory(),
        )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/corpus".into());
    let decode = Path::new(&root).join("decode");
    let fsm = Path::new(&root).join("peer_fsm");
    std::fs::create_dir_all(&decode).unwrap();
    std::fs::create_dir_all(&fsm).unwrap();

    let ccr = common::gx_ccr_initial().encode().unwrap();
    let cer = cer().encode().unwrap();
    write(&decode, "cer", &cer);
    write(&decode, "gx_ccr_i", &ccr);
    write(
        &decode,
        "gx_cca_i",
        &common::gx_cca_initial().encode().unwrap(),
    );
    let dwr = MessageBuilder::request(cmd::DEVICE_WATCHDOG, app::BASE)
        .ids(2, 2)
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, "pgw.visited.example").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, "visited.example").mandatory());
    write(&decode, "dwr", &dwr.encode().unwrap());
    let err = DiameterError::with_avp(
        ResultCode::DIAMETER_INVALID_AVP_BITS,
        &[0, 0, 1, 0x9f, 0x41, 0, 0, 12, 0, 0, 0, 0],
        "reserved bit",
    );
    let ans = error_answer(&ccr, &err, "vpcrf.visited.example", "visited.example");
    write(&decode, "error_answer_3009", &ans.unwrap().unwrap());

    // peer_fsm: byte 0 picks the config, 4 bytes seed, then ops (see the target).
    let seed = [0u8, 0, 0, 0, 1];
    let ids = |n: u8| [255u8, 0, 0, 0, n, 0, 0, 0, n]; // selector "new id" + hbh + e2e
    let mut initiator = seed.to_vec();
    initiator.extend([0, 1]); // Start, Connected
    initiator.extend([8, 0x01]); // structured CEA 2001 Gx
    initiator.extend(ids(2));
    initiator.push(0);
    initiator.push(10); // send a CCR
    initiator.extend([8, 0x07, 0, 0, 0, 0, 3, 0]); // its CCA (first outstanding id)
    initiator.extend([6, 100]); // 10 s later: Tw expired
    initiator.extend([8, 0x03]); // DWA
    initiator.extend(ids(9));
    initiator.push(0);
    initiator.extend([10, 6, 200, 6, 200]); // a request that times out
    initiator.extend([5, 0, 8, 0x05]); // Stop, DPA
    initiator.extend(ids(11));
    initiator.push(0);
    write(&fsm, "initiator", &initiator);

    let mut responder = seed.to_vec();
    responder.push(3); // Accepted
    for kind in [0x00u8, 0x06, 0x02, 0x04] {
        // CER, CCR, DWR, DPR
        responder.extend([8, kind]);
        responder.extend(ids(kind + 20));
        responder.push(0);
    }
    write(&fsm, "responder", &responder);

    let mut raw = seed.to_vec();
    raw.extend([3, 7, cer.len() as u8]);
    raw.extend(&cer);
    raw.extend([7, 20]);
    raw.extend(&ccr[..20]);
    write(&fsm, "responder_raw_cer", &raw);
}
