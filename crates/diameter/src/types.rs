//! Derived AVP data formats of RFC 6733 §4.3.1 that need more than a byte copy:
//! Address and Time.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Address (RFC 6733 §4.3.1): a 2-byte IANA address family then the address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// Family 1.
    V4(Ipv4Addr),
    /// Family 2.
    V6(Ipv6Addr),
    /// Any other family, kept as is (e.g. 8 E.164).
    Other {
        /// IANA address family number.
        family: u16,
        /// Address bytes.
        bytes: Vec<u8>,
    },
}

impl Address {
    /// IANA "Address Family Numbers" value for IPv4.
    pub const FAMILY_IPV4: u16 = 1;
    /// IANA "Address Family Numbers" value for IPv6.
    pub const FAMILY_IPV6: u16 = 2;

    /// Encodes family + address.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(18);
        match self {
            Address::V4(a) => {
                out.extend_from_slice(&Self::FAMILY_IPV4.to_be_bytes());
                out.extend_from_slice(&a.octets());
            }
            Address::V6(a) => {
                out.extend_from_slice(&Self::FAMILY_IPV6.to_be_bytes());
                out.extend_from_slice(&a.octets());
            }
            Address::Other { family, bytes } => {
                out.extend_from_slice(&family.to_be_bytes());
                out.extend_from_slice(bytes);
            }
        }
        out
    }

    /// Decodes; `None` when shorter than the family, or an IPv4/IPv6 address of
    /// the wrong size (the caller maps that to 5014 / 5004).
    pub fn from_bytes(data: &[u8]) -> Option<Address> {
        let (fam, rest) = data.split_first_chunk::<2>()?;
        let family = u16::from_be_bytes(*fam);
        match family {
            Self::FAMILY_IPV4 => {
                let b: [u8; 4] = rest.try_into().ok()?;
                Some(Address::V4(Ipv4Addr::from(b)))
            }
            Self::FAMILY_IPV6 => {
                let b: [u8; 16] = rest.try_into().ok()?;
                Some(Address::V6(Ipv6Addr::from(b)))
            }
            _ => Some(Address::Other {
                family,
                bytes: rest.to_vec(),
            }),
        }
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::V4(a) => write!(f, "{a}"),
            Address::V6(a) => write!(f, "{a}"),
            Address::Other { family, bytes } => {
                write!(f, "family {family}:")?;
                for b in bytes {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

/// Time (RFC 6733 §4.3.1): the 4 most significant bytes of an NTP timestamp,
/// seconds since 1900-01-01 UTC. The value wraps in February 2036; following
/// RFC 4330 §3, values with the top bit clear are read as after 2036.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Time(pub u32);

/// Seconds from 1900-01-01 to 1970-01-01.
const NTP_UNIX_OFFSET: i64 = 2_208_988_800;

impl Time {
    /// From seconds since the Unix epoch (wraps modulo 2^32 as the format does).
    pub fn from_unix(secs: i64) -> Time {
        Time((secs + NTP_UNIX_OFFSET).rem_euclid(1 << 32) as u32)
    }

    /// To seconds since the Unix epoch, using the RFC 4330 era rule.
    pub fn to_unix(self) -> i64 {
        let ntp = i64::from(self.0);
        if self.0 & 0x8000_0000 != 0 {
            ntp - NTP_UNIX_OFFSET
        } else {
            ntp + (1i64 << 32) - NTP_UNIX_OFFSET
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_address_has_family_1() {
        let a = Address::V4(Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(a.to_bytes(), [0, 1, 192, 0, 2, 1]);
        assert_eq!(Address::from_bytes(&[0, 1, 192, 0, 2, 1]), Some(a));
        assert_eq!(Address::from_bytes(&[0, 1, 192, 0, 2]), None);
        assert_eq!(Address::from_bytes(&[0]), None);
    }

    #[test]
    fn time_round_trips_before_and_after_2036() {
        // 2026-11-23T00:00:00Z and 2040-01-01T00:00:00Z
        for unix in [1_795_392_000i64, 2_208_988_800] {
            assert_eq!(Time::from_unix(unix).to_unix(), unix);
        }
        assert_eq!(Time::from_unix(0).0, 2_208_988_800);
    }
}
