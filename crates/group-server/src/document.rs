//! The PoC group document: the application usage this server serves (RFC 4825 §5) and its
//! schema rules, checked after every change (RFC 4825 §8.2.5 "the document MUST be valid").
//!
//! Shape of OMA PoC's list-service group document (OMA-TS-PoC_XDM, AUID
//! `org.openmobilealliance.poc-groups`), with two lab elements: `<owner>` and `<join-type>`
//! (OMA's `invite-members` true/false is the prearranged/chat distinction; the seed speaks of a
//! "join" group), and the seed's pre-provisioned `<conversation-id>`/`<contribution-id>`.
//! docs/group-server.md has an example.

use crate::tree::{Element, Node};

/// Application Unique ID (RFC 4825 §5.1).
pub const AUID: &str = "org.openmobilealliance.poc-groups";
/// The document's (default) namespace (RFC 4825 §5.2 / §6.3).
pub const NAMESPACE: &str = "urn:oma:xml:poc:list-service";
/// MIME type of a whole document (RFC 4825 §5.4).
pub const MIME: &str = "application/vnd.oma.poc.groups+xml";
/// MIME type of an element (RFC 4825 §15.2.1).
pub const MIME_ELEMENT: &str = "application/xcap-el+xml";
/// MIME type of an attribute value (RFC 4825 §15.2.2).
pub const MIME_ATTRIBUTE: &str = "application/xcap-att+xml";
/// The one document name per group (the XUI is the group URI).
pub const DOCUMENT_NAME: &str = "index";
/// Largest `max-participant-count` accepted.
pub const MAX_PARTICIPANTS: u32 = 10_000;

/// Whether joiners join an ongoing group session (the seed's "join" type, an OMA chat group)
/// or are invited by the first one (prearranged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JoinType {
    Join,
    Prearranged,
}

impl JoinType {
    pub fn as_str(self) -> &'static str {
        match self {
            JoinType::Join => "join",
            JoinType::Prearranged => "prearranged",
        }
    }
}

/// What a valid document says, read out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub uri: String,
    pub owner: String,
    pub display_name: Option<String>,
    pub join_type: JoinType,
    pub max_participants: Option<u32>,
    pub members: Vec<String>,
    /// Pre-provisioned ids (the seed's "session pre-established" embodiment).
    pub conversation_id: Option<String>,
    pub contribution_id: Option<String>,
}

/// How a document breaks the rules (RFC 4825 §11.2 error conditions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// `<schema-validation-error/>`, with why.
    Schema(String),
    /// `<uniqueness-failure>`: a member listed twice.
    NotUnique { field: String, value: String },
    /// `<constraint-failure/>`: e.g. the group URI is not the document's XUI.
    Constraint(String),
}

impl Group {
    /// Check `root` against the schema rules and read it. `xui`: the group URI of the document's
    /// path, which the document must carry.
    pub fn validate(root: &Element, xui: &str) -> Result<Group, Invalid> {
        let schema = |m: String| Invalid::Schema(m);
        if root.ns != NAMESPACE || root.name != "group" {
            return Err(schema(format!(
                "root must be <group xmlns=\"{NAMESPACE}\">, not <{}> in {:?}",
                root.name, root.ns
            )));
        }
        no_text(root)?;
        only_attrs(root, &[])?;
        let services: Vec<&Element> = root.elements().collect();
        let [service] = services.as_slice() else {
            return Err(schema(
                "<group> must hold exactly one <list-service>".into(),
            ));
        };
        known(service, "list-service")?;
        only_attrs(service, &["uri"])?;
        no_text(service)?;
        let uri = service
            .attr("uri")
            .ok_or_else(|| schema("<list-service> needs a uri".into()))?;
        sip_uri(uri, "list-service uri")?;
        if uri != xui {
            return Err(Invalid::Constraint(format!(
                "the list-service uri {uri} is not the document's XUI {xui}"
            )));
        }
        let mut group = Group {
            uri: uri.to_string(),
            owner: String::new(),
            display_name: None,
            join_type: JoinType::Join,
            max_participants: None,
            members: Vec::new(),
            conversation_id: None,
            contribution_id: None,
        };
        let mut seen: Vec<&str> = Vec::new();
        for child in service.elements() {
            if seen.contains(&child.name.as_str()) {
                return Err(schema(format!(
                    "<{}> may appear once in <list-service>",
                    child.name
                )));
            }
            seen.push(&child.name);
            if child.ns != NAMESPACE {
                return Err(schema(format!(
                    "unknown element <{}> in {:?}",
                    child.name, child.ns
                )));
            }
            match child.name.as_str() {
                "display-name" => group.display_name = Some(leaf(child)?),
                "owner" => {
                    group.owner = leaf(child)?;
                    sip_uri(&group.owner, "owner")?;
                }
                "join-type" => {
                    group.join_type = match leaf(child)?.as_str() {
                        "join" => JoinType::Join,
                        "prearranged" => JoinType::Prearranged,
                        other => {
                            return Err(schema(format!(
                                "join-type {other:?}: use join or prearranged"
                            )));
                        }
                    }
                }
                "max-participant-count" => {
                    let text = leaf(child)?;
                    let n: u32 = text.trim().parse().map_err(|_| {
                        schema(format!("max-participant-count {text:?} is not a number"))
                    })?;
                    if n == 0 || n > MAX_PARTICIPANTS {
                        return Err(schema(format!(
                            "max-participant-count must be 1..={MAX_PARTICIPANTS}"
                        )));
                    }
                    group.max_participants = Some(n);
                }
                "conversation-id" => group.conversation_id = Some(token(child)?),
                "contribution-id" => group.contribution_id = Some(token(child)?),
                "list" => group.members = members(child)?,
                other => return Err(schema(format!("unknown element <{other}>"))),
            }
        }
        for required in ["owner", "join-type", "list"] {
            if !seen.contains(&required) {
                return Err(schema(format!("<list-service> needs <{required}>")));
            }
        }
        if group.conversation_id.is_some() != group.contribution_id.is_some() {
            return Err(schema(
                "<conversation-id> and <contribution-id> come together or not at all".into(),
            ));
        }
        Ok(group)
    }

    /// The document for this group (provisioning).
    pub fn to_element(&self) -> Element {
        let mut service = Element::new(NAMESPACE, "list-service");
        service.set_attr("uri", &self.uri);
        let mut push = |e: Element| service.children.push(Node::Element(e));
        if let Some(d) = &self.display_name {
            push(Element::leaf(NAMESPACE, "display-name", d));
        }
        push(Element::leaf(NAMESPACE, "owner", &self.owner));
        push(Element::leaf(
            NAMESPACE,
            "join-type",
            self.join_type.as_str(),
        ));
        if let Some(n) = self.max_participants {
            push(Element::leaf(
                NAMESPACE,
                "max-participant-count",
                &n.to_string(),
            ));
        }
        if let Some(c) = &self.conversation_id {
            push(Element::leaf(NAMESPACE, "conversation-id", c));
        }
        if let Some(c) = &self.contribution_id {
            push(Element::leaf(NAMESPACE, "contribution-id", c));
        }
        let mut list = Element::new(NAMESPACE, "list");
        for m in &self.members {
            let mut entry = Element::new(NAMESPACE, "entry");
            entry.set_attr("uri", m);
            list.children.push(Node::Element(entry));
        }
        push(list);
        let mut root = Element::new(NAMESPACE, "group");
        root.children.push(Node::Element(service));
        root
    }
}

fn members(list: &Element) -> Result<Vec<String>, Invalid> {
    only_attrs(list, &[])?;
    no_text(list)?;
    let mut out: Vec<String> = Vec::new();
    for entry in list.elements() {
        known(entry, "entry")?;
        only_attrs(entry, &["uri"])?;
        no_text(entry)?;
        let uri = entry
            .attr("uri")
            .ok_or_else(|| Invalid::Schema("<entry> needs a uri".into()))?;
        sip_uri(uri, "entry uri")?;
        for child in entry.elements() {
            known(child, "display-name")?;
            leaf(child)?;
        }
        if out.iter().any(|m| m == uri) {
            return Err(Invalid::NotUnique {
                field: "group/list-service/list/entry/@uri".into(),
                value: uri.into(),
            });
        }
        out.push(uri.into());
    }
    Ok(out)
}

fn known(e: &Element, name: &str) -> Result<(), Invalid> {
    if e.ns == NAMESPACE && e.name == name {
        Ok(())
    } else {
        Err(Invalid::Schema(format!(
            "<{}> in {:?} where <{name}> is expected",
            e.name, e.ns
        )))
    }
}

fn only_attrs(e: &Element, allowed: &[&str]) -> Result<(), Invalid> {
    match e
        .attrs
        .iter()
        .find(|a| !a.ns.is_empty() || !allowed.contains(&a.name.as_str()))
    {
        Some(a) => Err(Invalid::Schema(format!(
            "unknown attribute {:?} on <{}>",
            a.name, e.name
        ))),
        None => Ok(()),
    }
}

fn no_text(e: &Element) -> Result<(), Invalid> {
    let text = e
        .children
        .iter()
        .any(|c| matches!(c, Node::Text(t) if !t.trim().is_empty()));
    if text {
        Err(Invalid::Schema(format!("<{}> holds no text", e.name)))
    } else {
        Ok(())
    }
}

/// A text-only element without attributes.
fn leaf(e: &Element) -> Result<String, Invalid> {
    only_attrs(e, &[])?;
    if e.elements().next().is_some() {
        return Err(Invalid::Schema(format!("<{}> holds text only", e.name)));
    }
    Ok(e.text().trim().to_string())
}

/// A Conversation-ID / Contribution-ID: 1..=128 visible ASCII characters, no `<>"`.
fn token(e: &Element) -> Result<String, Invalid> {
    let t = leaf(e)?;
    let ok = (1..=128).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"'));
    if ok {
        Ok(t)
    } else {
        Err(Invalid::Schema(format!(
            "<{}> must be 1-128 visible ASCII characters",
            e.name
        )))
    }
}

/// `sip:` or `sips:` URI with a host part, no whitespace or control characters, at most 256
/// bytes.
pub fn sip_uri(uri: &str, what: &str) -> Result<(), Invalid> {
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"));
    let ok = match rest {
        Some(r) => {
            !r.is_empty()
                && uri.len() <= 256
                && !r.starts_with('@')
                && !r.ends_with('@')
                && uri
                    .chars()
                    .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"'))
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Invalid::Schema(format!("{what} {uri:?} is not a SIP URI")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const DOC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<group xmlns="urn:oma:xml:poc:list-service">
  <list-service uri="sip:team@lab.example">
    <display-name>Team</display-name>
    <owner>sip:alice@lab.example</owner>
    <join-type>join</join-type>
    <max-participant-count>8</max-participant-count>
    <list>
      <entry uri="sip:alice@lab.example"/>
      <entry uri="sip:bob@lab.example"><display-name>Bob</display-name></entry>
    </list>
  </list-service>
</group>"#;

    fn check(doc: &str) -> Result<Group, Invalid> {
        Group::validate(
            &Element::parse_document(doc.as_bytes()).unwrap(),
            "sip:team@lab.example",
        )
    }

    #[test]
    fn the_example_document_is_valid_and_read() {
        let g = check(DOC).unwrap();
        assert_eq!(g.owner, "sip:alice@lab.example");
        assert_eq!(g.join_type, JoinType::Join);
        assert_eq!(g.max_participants, Some(8));
        assert_eq!(g.members, ["sip:alice@lab.example", "sip:bob@lab.example"]);
        assert_eq!(g.conversation_id, None);
    }

    #[test]
    fn a_provisioned_group_round_trips() {
        let mut g = check(DOC).unwrap();
        g.conversation_id = Some("conv-1".into());
        g.contribution_id = Some("contrib-1".into());
        let text = g.to_element().to_document();
        assert_eq!(check(&text).unwrap().members, g.members);
        assert_eq!(check(&text).unwrap(), {
            let mut g = g.clone();
            g.members = check(&text).unwrap().members;
            g
        });
    }

    #[test]
    fn rule_breaks_are_named() {
        let cases: &[(&str, &str, &str)] = &[
            ("<owner>sip:alice@lab.example</owner>", "", "needs <owner>"),
            (
                "<join-type>join</join-type>",
                "<join-type>open</join-type>",
                "join-type",
            ),
            (
                "<max-participant-count>8",
                "<max-participant-count>0",
                "max-participant-count",
            ),
            (
                "<max-participant-count>8",
                "<max-participant-count>x",
                "not a number",
            ),
            ("<list>", "<list><entry/>", "needs a uri"),
            ("<list>", "<list><entry uri=\"mailto:x\"/>", "not a SIP URI"),
            ("<list>", "<list><friend/>", "where <entry>"),
            (
                "<display-name>Team</display-name>",
                "<colour>red</colour>",
                "unknown element",
            ),
            ("<list>", "<list foo=\"1\">", "unknown attribute"),
            (
                "<owner>sip:alice@lab.example</owner>",
                "<owner>sip:alice@lab.example</owner><owner>sip:x@y</owner>",
                "once",
            ),
            (
                "<list>",
                "<conversation-id>c</conversation-id><list>",
                "together",
            ),
            (
                "<group xmlns=\"urn:oma:xml:poc:list-service\">",
                "<group xmlns=\"urn:other\">",
                "root",
            ),
        ];
        for (from, to, why) in cases {
            let doc = DOC.replacen(from, to, 1);
            match check(&doc) {
                Err(Invalid::Schema(m)) => assert!(m.contains(why), "{why}: {m}"),
                other => panic!("{why}: {other:?}"),
            }
        }
        let twice = DOC.replacen("<list>", "<list><entry uri=\"sip:bob@lab.example\"/>", 1);
        assert!(matches!(check(&twice), Err(Invalid::NotUnique { .. })));
        let other_uri = DOC.replacen("sip:team@", "sip:other@", 1);
        assert!(matches!(check(&other_uri), Err(Invalid::Constraint(_))));
    }
}
