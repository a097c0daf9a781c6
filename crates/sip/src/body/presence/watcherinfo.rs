//! Watcher information (RFC 3857, format RFC 3858): `application/watcherinfo+xml`.

use super::xml_escape;

pub const CONTENT_TYPE: &str = "application/watcherinfo+xml";
const NS: &str = "urn:ietf:params:xml:ns:watcherinfo";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watcher {
    pub id: String,
    pub uri: String,
    /// `active`, `pending`, `waiting` or `terminated`.
    pub status: String,
    /// `subscribe`, `approved`, `deactivated`, `probation`, `rejected`, `timeout`, `giveup`,
    /// `noresource`.
    pub event: String,
}

/// Full-state watcher list for one resource and package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatcherInfo {
    pub version: u64,
    pub resource: String,
    pub package: String,
    pub watchers: Vec<Watcher>,
}

impl WatcherInfo {
    pub fn to_xml(&self) -> String {
        let mut xml = format!(
            "<?xml version=\"1.0\"?>\n<watcherinfo xmlns=\"{NS}\" version=\"{}\" state=\"full\">\n  <watcher-list resource=\"{}\" package=\"{}\">\n",
            self.version,
            xml_escape(&self.resource),
            xml_escape(&self.package)
        );
        for w in &self.watchers {
            xml.push_str(&format!(
                "    <watcher id=\"{}\" event=\"{}\" status=\"{}\">{}</watcher>\n",
                xml_escape(&w.id),
                w.event,
                w.status,
                xml_escape(&w.uri)
            ));
        }
        xml.push_str("  </watcher-list>\n</watcherinfo>\n");
        xml
    }

    /// Watcher URIs and their status from a watcherinfo document.
    pub fn parse_watchers(xml: &str) -> Result<Vec<(String, String)>, String> {
        let doc =
            roxmltree::Document::parse(xml).map_err(|e| format!("watcherinfo is not XML: {e}"))?;
        Ok(doc
            .descendants()
            .filter(|n| n.has_tag_name((NS, "watcher")))
            .map(|n| {
                (
                    n.text().unwrap_or("").trim().to_string(),
                    n.attribute("status").unwrap_or("").to_string(),
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchers_read_back() {
        let w = WatcherInfo {
            version: 0,
            resource: "sip:bob@lab".into(),
            package: "presence".into(),
            watchers: vec![Watcher {
                id: "w1".into(),
                uri: "sip:alice@lab".into(),
                status: "active".into(),
                event: "subscribe".into(),
            }],
        };
        assert_eq!(
            WatcherInfo::parse_watchers(&w.to_xml()).unwrap(),
            vec![("sip:alice@lab".to_string(), "active".to_string())]
        );
    }
}
