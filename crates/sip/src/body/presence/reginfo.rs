//! The registration event package's document (RFC 3680 §5.3): `application/reginfo+xml`.

use super::xml_escape;

pub const CONTENT_TYPE: &str = "application/reginfo+xml";
const NS: &str = "urn:ietf:params:xml:ns:reginfo";

/// One contact of a registration, with the event that last changed it (RFC 3680 §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub uri: String,
    /// `active` or `terminated`.
    pub state: String,
    /// `registered`, `created`, `refreshed`, `shortened`, `expired`, `deactivated`, `probation`,
    /// `unregistered` or `rejected`.
    pub event: String,
}

/// Full-state reginfo for one AOR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegInfo {
    pub version: u64,
    pub aor: String,
    /// `init`, `active` or `terminated`.
    pub state: String,
    pub contacts: Vec<Contact>,
}

impl RegInfo {
    pub fn to_xml(&self) -> String {
        let mut xml = format!(
            "<?xml version=\"1.0\"?>\n<reginfo xmlns=\"{NS}\" version=\"{}\" state=\"full\">\n  <registration aor=\"{}\" id=\"r0\" state=\"{}\">\n",
            self.version,
            xml_escape(&self.aor),
            self.state
        );
        for (i, c) in self.contacts.iter().enumerate() {
            xml.push_str(&format!(
                "    <contact id=\"c{i}\" state=\"{}\" event=\"{}\"><uri>{}</uri></contact>\n",
                c.state,
                c.event,
                xml_escape(&c.uri)
            ));
        }
        xml.push_str("  </registration>\n</reginfo>\n");
        xml
    }

    /// The state of the registration of `aor` in a reginfo document.
    pub fn parse_state(xml: &str, aor: &str) -> Result<String, String> {
        let doc =
            roxmltree::Document::parse(xml).map_err(|e| format!("reginfo is not XML: {e}"))?;
        doc.descendants()
            .filter(|n| n.has_tag_name((NS, "registration")))
            .find(|n| n.attribute("aor") == Some(aor))
            .and_then(|n| n.attribute("state"))
            .map(str::to_string)
            .ok_or_else(|| format!("reginfo has no registration for {aor}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminated_registration_reads_back() {
        let r = RegInfo {
            version: 3,
            aor: "sip:alice@lab".into(),
            state: "terminated".into(),
            contacts: vec![Contact {
                uri: "sip:alice@127.0.0.1:5070".into(),
                state: "terminated".into(),
                event: "deactivated".into(),
            }],
        };
        let xml = r.to_xml();
        assert!(xml.contains("version=\"3\""));
        assert_eq!(
            RegInfo::parse_state(&xml, "sip:alice@lab").unwrap(),
            "terminated"
        );
    }
}
