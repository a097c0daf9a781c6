//! An editable XML element tree: what XCAP edits (RFC 4825 §8.2). Read with `roxmltree`
//! (which refuses DTDs, so no entity expansion), written back by [`Element::write`].
//!
//! Only what XCAP documents of this server need: elements with a namespace and a local name,
//! attributes without a namespace, and text. Comments and processing instructions are dropped;
//! whitespace-only text between elements is dropped and the output re-indented.

use std::fmt::Write as _;

use quick_xml::escape::escape;

/// An XML element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Namespace URI (`""`: none).
    pub ns: String,
    pub name: String,
    /// Attributes in document order. A namespaced attribute keeps its namespace URI so that the
    /// schema can refuse it.
    pub attrs: Vec<Attr>,
    pub children: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub ns: String,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

/// Why a body is not an XML document or element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not UTF-8")]
    NotUtf8,
    #[error("not well-formed: {0}")]
    NotWellFormed(String),
    #[error("not a single XML element")]
    NotFragment,
    /// Elements nested deeper than [`MAX_DEPTH`] (well-formed, but no document of ours is).
    #[error("elements nested deeper than {MAX_DEPTH}")]
    TooDeep,
}

/// Deepest element nesting read. Group documents are 5 deep; the bound keeps the recursive
/// copy and writer off the stack's edge whatever a client sends (roxmltree itself has no
/// depth limit).
pub const MAX_DEPTH: usize = 16;

impl Element {
    pub fn new(ns: &str, name: &str) -> Element {
        Element {
            ns: ns.into(),
            name: name.into(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Parse a whole document.
    pub fn parse_document(bytes: &[u8]) -> Result<Element, ParseError> {
        let text = std::str::from_utf8(bytes).map_err(|_| ParseError::NotUtf8)?;
        let doc = roxmltree::Document::parse(text)
            .map_err(|e| ParseError::NotWellFormed(e.to_string()))?;
        from_ro(doc.root_element(), 0)
    }

    /// Parse the body of an element PUT (`application/xcap-el+xml`, RFC 4825 §8.2.3): exactly
    /// one element, no XML declaration, unprefixed names in `default_ns` (the namespace of the
    /// document at the insertion point).
    pub fn parse_fragment(bytes: &[u8], default_ns: &str) -> Result<Element, ParseError> {
        let text = std::str::from_utf8(bytes).map_err(|_| ParseError::NotUtf8)?;
        let wrapped = format!(
            "<xcap-fragment xmlns=\"{}\">{text}</xcap-fragment>",
            escape(default_ns)
        );
        let doc = roxmltree::Document::parse(&wrapped).map_err(|_| ParseError::NotFragment)?;
        let wrapper = doc.root_element();
        let mut elements = wrapper.children().filter(|n| n.is_element());
        let (Some(one), None) = (elements.next(), elements.next()) else {
            return Err(ParseError::NotFragment);
        };
        let stray_text = wrapper
            .children()
            .any(|n| n.is_text() && !n.text().unwrap_or("").trim().is_empty());
        if stray_text {
            return Err(ParseError::NotFragment);
        }
        from_ro(one, 0)
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_empty() && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// Set (or add) an attribute without namespace.
    pub fn set_attr(&mut self, name: &str, value: &str) {
        match self
            .attrs
            .iter_mut()
            .find(|a| a.ns.is_empty() && a.name == name)
        {
            Some(a) => a.value = value.to_string(),
            None => self.attrs.push(Attr {
                ns: String::new(),
                name: name.into(),
                value: value.into(),
            }),
        }
    }

    /// Remove an attribute; whether it was there.
    pub fn remove_attr(&mut self, name: &str) -> bool {
        let before = self.attrs.len();
        self.attrs.retain(|a| !(a.ns.is_empty() && a.name == name));
        self.attrs.len() != before
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The concatenated text children (for leaf elements like `<owner>`).
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) => None,
            })
            .collect()
    }

    /// A leaf element `<name>text</name>` in `ns`.
    pub fn leaf(ns: &str, name: &str, text: &str) -> Element {
        let mut e = Element::new(ns, name);
        e.children.push(Node::Text(text.into()));
        e
    }

    /// The element as a standalone document (with the XML declaration).
    pub fn to_document(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        self.write(&mut out, "", 0);
        out.push('\n');
        out
    }

    /// The element alone (an `application/xcap-el+xml` body), its namespace declared on it.
    pub fn to_fragment(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, "", 0);
        out
    }

    /// Write the element at `depth` where the default namespace in scope is `scope_ns`.
    fn write(&self, out: &mut String, scope_ns: &str, depth: usize) {
        out.push('<');
        out.push_str(&self.name);
        if self.ns != scope_ns {
            let _ = write!(out, " xmlns=\"{}\"", escape(&self.ns));
        }
        for a in &self.attrs {
            let name = match a.ns.as_str() {
                "" => a.name.clone(),
                "http://www.w3.org/XML/1998/namespace" => format!("xml:{}", a.name),
                // Other namespaced attributes never reach a stored document (the schema
                // refuses them); written plain here so output stays well-formed.
                _ => a.name.clone(),
            };
            let _ = write!(out, " {name}=\"{}\"", escape(&a.value));
        }
        if self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        let has_elements = self.elements().next().is_some();
        for child in &self.children {
            match child {
                Node::Text(t) => out.push_str(&escape(t)),
                Node::Element(e) => {
                    if has_elements {
                        out.push('\n');
                        out.push_str(&"  ".repeat(depth + 1));
                    }
                    e.write(out, &self.ns, depth + 1);
                }
            }
        }
        if has_elements {
            out.push('\n');
            out.push_str(&"  ".repeat(depth));
        }
        let _ = write!(out, "</{}>", self.name);
    }
}

fn from_ro(node: roxmltree::Node, depth: usize) -> Result<Element, ParseError> {
    if depth >= MAX_DEPTH {
        return Err(ParseError::TooDeep);
    }
    let tag = node.tag_name();
    let mut e = Element::new(tag.namespace().unwrap_or(""), tag.name());
    for a in node.attributes() {
        e.attrs.push(Attr {
            ns: a.namespace().unwrap_or("").into(),
            name: a.name().into(),
            value: a.value().into(),
        });
    }
    let has_elements = node.children().any(|c| c.is_element());
    for child in node.children() {
        if child.is_element() {
            e.children.push(Node::Element(from_ro(child, depth + 1)?));
        } else if child.is_text() {
            let t = child.text().unwrap_or("");
            // Indentation between elements is not content.
            if has_elements && t.trim().is_empty() {
                continue;
            }
            e.children.push(Node::Text(t.into()));
        }
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_names_attributes_text_and_escapes() {
        let doc = br#"<?xml version="1.0"?>
<a xmlns="urn:x"><!-- c --><b k="1 &amp; &quot;2&quot;">t &lt; u</b>
  <c/><d xmlns="urn:y"><e/></d></a>"#;
        let e = Element::parse_document(doc).unwrap();
        let text = e.to_document();
        let again = Element::parse_document(text.as_bytes()).unwrap();
        assert_eq!(e, again);
        assert_eq!(
            again.elements().next().unwrap().attr("k"),
            Some("1 & \"2\"")
        );
        assert_eq!(again.elements().nth(2).unwrap().ns, "urn:y");
        assert_eq!(
            again
                .elements()
                .nth(2)
                .unwrap()
                .elements()
                .next()
                .unwrap()
                .ns,
            "urn:y"
        );
    }

    #[test]
    fn fragment_is_exactly_one_element_in_the_default_namespace() {
        let e = Element::parse_fragment(br#"<entry uri="sip:a@x"/>"#, "urn:x").unwrap();
        assert_eq!((e.ns.as_str(), e.name.as_str()), ("urn:x", "entry"));
        for bad in [
            &b"<a/><b/>"[..],
            b"text <a/>",
            b"<a>",
            b"",
            b"<?xml version=\"1.0\"?><a/>",
            b"</xcap-fragment><a/><xcap-fragment>",
        ] {
            assert_eq!(
                Element::parse_fragment(bad, "urn:x"),
                Err(ParseError::NotFragment),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_recursed_into() {
        let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        assert_eq!(
            Element::parse_document(deep.as_bytes()),
            Err(ParseError::TooDeep)
        );
        assert_eq!(
            Element::parse_fragment(deep.as_bytes(), "urn:x"),
            Err(ParseError::TooDeep)
        );
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(Element::parse_document(ok.as_bytes()).is_ok());
    }

    #[test]
    fn bad_documents_are_named() {
        assert_eq!(
            Element::parse_document(&[0xff, 0xfe]),
            Err(ParseError::NotUtf8)
        );
        assert!(matches!(
            Element::parse_document(b"<a><b></a>"),
            Err(ParseError::NotWellFormed(_))
        ));
        // No DTD, so no entity expansion ("billion laughs").
        assert!(matches!(
            Element::parse_document(b"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>"),
            Err(ParseError::NotWellFormed(_))
        ));
    }
}
