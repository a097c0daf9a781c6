//! PIDF, the Presence Information Data Format (RFC 3863): `application/pidf+xml`.

use super::xml_escape;

pub const CONTENT_TYPE: &str = "application/pidf+xml";
const NS: &str = "urn:ietf:params:xml:ns:pidf";

/// One `<tuple>` (RFC 3863 §4.1.4): a basic status of `open` or `closed`, and an optional note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuple {
    pub id: String,
    pub basic: Basic,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basic {
    Open,
    Closed,
}

impl Basic {
    pub fn as_str(self) -> &'static str {
        match self {
            Basic::Open => "open",
            Basic::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Basic> {
        match s.trim() {
            "open" => Some(Basic::Open),
            "closed" => Some(Basic::Closed),
            _ => None,
        }
    }
}

/// A presence document: the presentity (`entity`) and its tuples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub entity: String,
    pub tuples: Vec<Tuple>,
}

impl Presence {
    /// The document a watcher gets for a presentity nobody published for: one closed tuple.
    pub fn offline(entity: &str) -> Presence {
        Presence {
            entity: entity.to_string(),
            tuples: vec![Tuple {
                id: "offline".into(),
                basic: Basic::Closed,
                note: None,
            }],
        }
    }

    /// Compose the presentity's state from its current publications (RFC 3903 §2): every tuple
    /// of every publication, a later publication's tuple replacing an earlier one of the same id.
    ///
    /// Linear in the number of tuples (an index by id), so a presentity with many tuples costs
    /// no more per NOTIFY than its size.
    pub fn compose(entity: &str, publications: &[Presence]) -> Presence {
        let mut tuples: Vec<Tuple> = Vec::new();
        let mut by_id: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for p in publications {
            for t in &p.tuples {
                match by_id.get(t.id.as_str()) {
                    Some(&i) => tuples[i] = t.clone(),
                    None => {
                        by_id.insert(&t.id, tuples.len());
                        tuples.push(t.clone());
                    }
                }
            }
        }
        if tuples.is_empty() {
            return Presence::offline(entity);
        }
        Presence {
            entity: entity.to_string(),
            tuples,
        }
    }

    /// The overall basic status: open if any tuple is open.
    pub fn basic(&self) -> Basic {
        if self.tuples.iter().any(|t| t.basic == Basic::Open) {
            Basic::Open
        } else {
            Basic::Closed
        }
    }

    /// The first note of an open tuple, else of any tuple.
    pub fn note(&self) -> Option<&str> {
        self.tuples
            .iter()
            .filter(|t| t.basic == Basic::Open)
            .chain(self.tuples.iter())
            .find_map(|t| t.note.as_deref())
    }

    pub fn to_xml(&self) -> String {
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence xmlns=\"{NS}\" entity=\"{}\">\n",
            xml_escape(&self.entity)
        );
        for t in &self.tuples {
            xml.push_str(&format!(
                "  <tuple id=\"{}\"><status><basic>{}</basic></status>",
                xml_escape(&t.id),
                t.basic.as_str()
            ));
            if let Some(note) = &t.note {
                xml.push_str(&format!("<note>{}</note>", xml_escape(note)));
            }
            xml.push_str("</tuple>\n");
        }
        xml.push_str("</presence>\n");
        xml
    }

    /// Parse a PIDF document; the error says what is wrong (it becomes a 400 reason).
    pub fn parse(xml: &str) -> Result<Presence, String> {
        let doc = roxmltree::Document::parse(xml).map_err(|e| format!("PIDF is not XML: {e}"))?;
        let root = doc.root_element();
        if root.tag_name().name() != "presence" || root.tag_name().namespace() != Some(NS) {
            return Err("PIDF root is not <presence> in urn:ietf:params:xml:ns:pidf".into());
        }
        let entity = root
            .attribute("entity")
            .ok_or("PIDF <presence> has no entity")?
            .to_string();
        let mut tuples = Vec::new();
        for t in root.children().filter(|n| n.has_tag_name((NS, "tuple"))) {
            let id = t
                .attribute("id")
                .ok_or("PIDF <tuple> has no id")?
                .to_string();
            let basic_text = t
                .descendants()
                .find(|n| n.has_tag_name((NS, "basic")))
                .and_then(|n| n.text())
                .ok_or("PIDF <tuple> has no <status><basic>")?;
            let basic = Basic::parse(basic_text)
                .ok_or_else(|| format!("PIDF <basic> {basic_text:?} is not open or closed"))?;
            let note = t
                .children()
                .find(|n| n.has_tag_name((NS, "note")))
                .and_then(|n| n.text())
                .map(str::to_string);
            tuples.push(Tuple { id, basic, note });
        }
        Ok(Presence { entity, tuples })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p = Presence {
            entity: "sip:bob@lab".into(),
            tuples: vec![Tuple {
                id: "t1".into(),
                basic: Basic::Open,
                note: Some("at <desk> & ready".into()),
            }],
        };
        assert_eq!(Presence::parse(&p.to_xml()).unwrap(), p);
    }

    #[test]
    fn compose_replaces_same_tuple_and_defaults_to_closed() {
        let a = Presence::parse(
            &Presence {
                entity: "sip:b@l".into(),
                tuples: vec![Tuple {
                    id: "x".into(),
                    basic: Basic::Closed,
                    note: None,
                }],
            }
            .to_xml(),
        )
        .unwrap();
        let b = Presence {
            entity: "sip:b@l".into(),
            tuples: vec![Tuple {
                id: "x".into(),
                basic: Basic::Open,
                note: None,
            }],
        };
        assert_eq!(Presence::compose("sip:b@l", &[a, b]).basic(), Basic::Open);
        assert_eq!(Presence::compose("sip:b@l", &[]).basic(), Basic::Closed);
    }

    #[test]
    fn bad_documents_say_why() {
        assert!(
            Presence::parse("<presence")
                .unwrap_err()
                .contains("not XML")
        );
        assert!(
            Presence::parse("<presence xmlns=\"urn:x\"/>")
                .unwrap_err()
                .contains("root")
        );
        let no_basic = "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"><tuple id=\"1\"><status/></tuple></presence>";
        assert!(Presence::parse(no_basic).unwrap_err().contains("basic"));
    }

    #[test]
    fn compose_of_many_tuples_keeps_first_order_and_last_value() {
        // 80 publications of 700 tuples, ids overlapping by half: the issue 13 §6 load shape.
        let publications: Vec<Presence> = (0..80)
            .map(|p| Presence {
                entity: "sip:b@l".into(),
                tuples: (0..700)
                    .map(|t| Tuple {
                        id: format!("t{}", p * 350 + t),
                        basic: if p % 2 == 0 {
                            Basic::Open
                        } else {
                            Basic::Closed
                        },
                        note: Some(format!("p{p}")),
                    })
                    .collect(),
            })
            .collect();
        let composed = Presence::compose("sip:b@l", &publications);
        assert_eq!(composed.tuples.len(), 79 * 350 + 700);
        assert_eq!(composed.tuples[0].id, "t0");
        // t350 was in publications 0 and 1: the later one wins, in the first one's place.
        assert_eq!(composed.tuples[350].id, "t350");
        assert_eq!(composed.tuples[350].note.as_deref(), Some("p1"));
    }
}
