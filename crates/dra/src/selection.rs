//! PCRF selection (TS 29.213 §7.3: the DRA chooses one PCRF per IP-CAN session): a stable hash
//! of the UE's identity (NAI, else IPv4 address, else IPv6 prefix) over the configured PCRFs.
//!
//! Why a hash rather than least-loaded: both DRAs of a mated pair (and a DRA after a restart)
//! choose the same PCRF for the same UE with no shared counter to read, and the choice needs no
//! store round trip. FNV-1a 64: fixed by its definition, unlike `std`'s `DefaultHasher`, which
//! may change between Rust releases (two DRAs built apart must agree).

/// The index of the PCRF for `identity` among `n` (n > 0).
pub fn choose(identity: &str, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    (fnv1a(identity.as_bytes()) % n as u64) as usize
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_identity_always_gets_the_same_pcrf_and_identities_spread() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let a = choose("001010000000001", 3);
        assert_eq!(a, choose("001010000000001", 3));
        let hits: std::collections::BTreeSet<usize> = (0..50)
            .map(|i| choose(&format!("00101000000{i:04}"), 3))
            .collect();
        assert_eq!(hits.len(), 3);
        assert_eq!(choose("x", 1), 0);
    }
}
