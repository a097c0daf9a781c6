//! Property tests: round trips of arbitrary AVP trees, and no panic on any bytes.

use corelab_diameter::{
    Avp, AvpBuf, AvpValue, Avps, Dictionary, Message, MessageBuilder, Role, RoutingView,
    error_answer, render, validate,
};
use proptest::prelude::*;

fn avp_tree() -> impl Strategy<Value = AvpBuf> {
    let leaf = (
        any::<u32>(),
        any::<u8>(),
        proptest::option::of(any::<u32>()),
        proptest::collection::vec(any::<u8>(), 0..24),
    )
        .prop_map(|(code, flags, vendor_id, data)| AvpBuf {
            code,
            flags: (flags & 0x7f) | if vendor_id.is_some() { 0x80 } else { 0 },
            vendor_id,
            value: AvpValue::Octets(data),
        });
    leaf.prop_recursive(6, 64, 5, |inner| {
        (
            any::<u32>(),
            proptest::option::of(any::<u32>()),
            proptest::collection::vec(inner, 0..5),
        )
            .prop_map(|(code, vendor_id, kids)| AvpBuf {
                code,
                flags: if vendor_id.is_some() { 0xc0 } else { 0x40 },
                vendor_id,
                value: AvpValue::Grouped(kids),
            })
    })
}

/// Rebuilds an owned tree from a view, descending where the original was grouped.
fn rebuild(view: &Avp<'_>, shape: &AvpBuf) -> AvpBuf {
    match &shape.value {
        AvpValue::Octets(_) => AvpBuf::from_avp(view),
        AvpValue::Grouped(kids) => {
            let inner: Avps<'_> = view.as_grouped().expect("grouped framing");
            AvpBuf {
                value: AvpValue::Grouped(inner.zip(kids).map(|(v, s)| rebuild(&v, s)).collect()),
                ..AvpBuf::from_avp(view)
            }
        }
    }
}

proptest! {
    #[test]
    fn encode_decode_encode_is_byte_identical(
        avps in proptest::collection::vec(avp_tree(), 0..6),
        code in 0u32..0x0100_0000, app in any::<u32>(), hbh in any::<u32>(), e2e in any::<u32>(),
        request in any::<bool>(),
    ) {
        let mut b = MessageBuilder::request(code, app).ids(hbh, e2e);
        if !request { b.flags = 0x40; }
        b.avps = avps.clone();
        let bytes = b.encode().unwrap();
        let msg = Message::decode(&bytes).unwrap();
        // Opaque copy round trip.
        prop_assert_eq!(&MessageBuilder::from_message(&msg).encode().unwrap(), &bytes);
        // Full-depth rebuild round trip.
        let mut again = MessageBuilder::from_message(&msg);
        again.avps = msg.avps().zip(&avps).map(|(v, s)| rebuild(&v, s)).collect();
        prop_assert_eq!(&again.avps, &avps);
        prop_assert_eq!(again.encode().unwrap(), bytes);
    }

    #[test]
    fn nothing_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = corelab_diameter::frame_length(&bytes);
        if let Ok(m) = Message::decode(&bytes) {
            let _ = RoutingView::new(&m).route_records().count();
            let _ = validate(&m, Dictionary::standard(), Role::Endpoint);
            let _ = validate(&m, Dictionary::standard(), Role::Agent);
            let _ = render(&m, Dictionary::standard());
            for a in m.avps() { let _ = a.as_grouped().map(|g| g.count()); }
        }
        let _ = Avps::new(&bytes).map(|a| a.count());
        let err = corelab_diameter::DiameterError::new(corelab_diameter::ResultCode(5004), "x");
        let _ = error_answer(&bytes, &err, "h", "r");
    }

    #[test]
    fn nothing_panics_on_valid_headers_with_random_bodies(
        body in proptest::collection::vec(any::<u8>(), 0..200), flags in any::<u8>(),
        code in prop_oneof![Just(257u32), Just(272), Just(265), Just(258), any::<u32>()],
        app in prop_oneof![Just(0u32), Just(16_777_238), Just(16_777_267), any::<u32>()],
    ) {
        let len = 20 + body.len() / 4 * 4;
        let mut bytes = vec![1, 0, 0, 0, flags, 0, 0, 0];
        bytes[1..4].copy_from_slice(&(len as u32).to_be_bytes()[1..]);
        bytes[5..8].copy_from_slice(&code.to_be_bytes()[1..]);
        bytes.extend_from_slice(&app.to_be_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&body[..len - 20]);
        if let Ok(m) = Message::decode(&bytes) {
            let _ = validate(&m, Dictionary::standard(), Role::Endpoint);
            let _ = render(&m, Dictionary::standard());
        }
    }
}
