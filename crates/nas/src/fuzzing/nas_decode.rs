//! Arbitrary octets through what a node does with a received NAS PDU, in both directions:
//! decode with TS 24.501 clause 7, encode the answer of a refusal, and re-encode what decodes.
//! Invariants: nothing panics; a refusal's answer encodes; a decoded message encodes, and its
//! octets decode to the same message (the wrapper loses nothing it keeps).

use crate::{Direction, decode};

/// The body of the `nas_decode` fuzz target.
pub fn nas_decode(data: &[u8]) {
    for direction in [Direction::Uplink, Direction::Downlink] {
        match decode(data, direction) {
            Err(rejection) => {
                if let Some(answer) = rejection.answer {
                    let octets = answer.encode();
                    assert!(octets.is_ok(), "the answer to {data:02x?} does not encode");
                }
            }
            Ok(message) => {
                let octets = match message.encode() {
                    Ok(octets) => octets,
                    Err(error) => {
                        panic!("{data:02x?} decodes as {message:?}, which fails: {error}")
                    }
                };
                let again = decode(&octets, direction);
                assert_eq!(
                    again.as_ref().ok(),
                    Some(&message),
                    "{data:02x?} re-encoded as {octets:02x?}"
                );
            }
        }
    }
}
