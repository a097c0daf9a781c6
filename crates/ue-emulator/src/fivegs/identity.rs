//! A UE's identities (TS 23.003) and the TMGI as the emulator's flags and files write it.

use corelab_nas::{ImsiSuci, Plmn, RoutingIndicator, Suci, Tmgi};

/// The PLMN and MSIN of one emulated UE: its SUPI is `imsi-<MCC><MNC><MSIN>` and its first
/// REGISTRATION REQUEST carries the SUCI of that IMSI under the null protection scheme
/// (TS 33.501 annex C.2), from which the network reads the SUPI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// Home PLMN.
    pub plmn: Plmn,
    /// MSIN, decimal digits.
    pub msin: String,
}

impl Subscriber {
    /// UE number `index` (0-based) of a run whose first MSIN is `first_msin`: MSINs count up
    /// from it, keeping its width (`0000000001`, `0000000002`, ...).
    pub fn numbered(plmn: Plmn, first_msin: &str, index: u64) -> Result<Self, String> {
        let first: u64 = first_msin
            .parse()
            .map_err(|_| format!("MSIN {first_msin:?} is not decimal digits"))?;
        let width = first_msin.len();
        let msin = format!("{:0width$}", first + index);
        if msin.len() > width {
            return Err(format!("MSIN {msin} is longer than {first_msin}"));
        }
        Ok(Self { plmn, msin })
    }

    /// `imsi-<MCC><MNC><MSIN>` (TS 23.003 §28.7.2).
    pub fn supi(&self) -> String {
        format!("imsi-{}{}", self.plmn.digits(), self.msin)
    }

    /// The SUCI of the IMSI with the null scheme.
    pub fn suci(&self) -> Result<Suci, String> {
        ImsiSuci::null(self.plmn, RoutingIndicator::default(), &self.msin)
            .map(Suci::Imsi)
            .map_err(|e| format!("SUCI of {}: {e}", self.supi()))
    }
}

/// A PLMN written `MCC-MNC` (`001-01`).
pub fn parse_plmn(text: &str) -> Result<Plmn, String> {
    let (mcc, mnc) = text
        .split_once('-')
        .ok_or_else(|| format!("PLMN {text:?}: write MCC-MNC, e.g. 001-01"))?;
    Plmn::new(mcc, mnc).map_err(|e| format!("PLMN {text:?}: {e}"))
}

/// A TMGI written as its MBS service ID in hex (`000001` or `0x000001`), optionally with the
/// PLMN of the TMGI after `@` (`000001@001-01`); without it the TMGI is the serving PLMN's
/// (TS 23.003 §15.2).
pub fn parse_tmgi(text: &str) -> Result<Tmgi, String> {
    let (id, plmn) = match text.split_once('@') {
        Some((id, plmn)) => (id, Some(parse_plmn(plmn)?)),
        None => (text, None),
    };
    let id = id.trim_start_matches("0x");
    let service_id = u32::from_str_radix(id, 16)
        .map_err(|_| format!("TMGI {text:?}: the MBS service ID is hex, e.g. 000001"))?;
    Tmgi::new(service_id, plmn).map_err(|e| format!("TMGI {text:?}: {e}"))
}

/// The text [`parse_tmgi`] reads.
pub fn tmgi_text(tmgi: &Tmgi) -> String {
    match tmgi.plmn {
        Some(plmn) => format!("{:06x}@{}-{}", tmgi.service_id(), plmn.mcc(), plmn.mnc()),
        None => format!("{:06x}", tmgi.service_id()),
    }
}

/// The same MBS session: equal service IDs, and equal PLMNs where both name one (a TMGI
/// without a PLMN is the serving PLMN's, which the other side may spell out).
pub fn same_tmgi(a: &Tmgi, b: &Tmgi) -> bool {
    a.service_id() == b.service_id()
        && match (a.plmn, b.plmn) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
}

/// The TMGI of the N1 link and the control service (`corelab.n1.v1.Tmgi`): an empty MCC is the
/// serving PLMN's.
pub fn tmgi_from_pb(tmgi: &corelab_proto::n1::v1::Tmgi) -> Result<Tmgi, String> {
    let plmn = match tmgi.mcc.as_str() {
        "" => None,
        mcc => Some(Plmn::new(mcc, &tmgi.mnc).map_err(|e| format!("TMGI PLMN: {e}"))?),
    };
    Tmgi::new(tmgi.mbs_service_id, plmn).map_err(|e| e.to_string())
}

/// [`tmgi_from_pb`] the other way.
pub fn tmgi_to_pb(tmgi: &Tmgi) -> corelab_proto::n1::v1::Tmgi {
    corelab_proto::n1::v1::Tmgi {
        mbs_service_id: tmgi.service_id(),
        mcc: tmgi.plmn.map(|p| p.mcc().to_string()).unwrap_or_default(),
        mnc: tmgi.plmn.map(|p| p.mnc().to_string()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_subscribers_keep_the_msin_width_and_give_the_supi() {
        let plmn = parse_plmn("001-01").unwrap();
        let ue = Subscriber::numbered(plmn, "0000000001", 41).unwrap();
        assert_eq!(ue.supi(), "imsi-001010000000042");
        assert_eq!(
            ue.suci().unwrap().to_string(),
            "suci-0-001-01-0-0-0-0000000042"
        );
        assert!(Subscriber::numbered(plmn, "9", 1).is_err());
    }

    #[test]
    fn tmgi_text_round_trips_with_and_without_plmn() {
        for text in ["000001", "abcdef@001-01"] {
            assert_eq!(tmgi_text(&parse_tmgi(text).unwrap()), text);
        }
        assert_eq!(parse_tmgi("0x10").unwrap().service_id(), 0x10);
        assert!(parse_tmgi("1000000").is_err());
        assert!(parse_tmgi("xyz").is_err());
    }
}
