//! XCAP node selectors (RFC 4825 §6.3): the part of a request URI after `~~`, percent-decoded.
//!
//! ```text
//! node-selector      = element-selector ["/" attribute-selector]
//! element-selector   = step *( "/" step)
//! step               = by-name / by-pos / by-attr / by-pos-attr
//! by-name            = NameorAny
//! by-pos             = NameorAny "[" position "]"
//! by-attr            = NameorAny "[" "@" att-name "=" AttValue "]"
//! by-pos-attr        = NameorAny "[" position "]" "[" "@" att-name "=" AttValue "]"
//! attribute-selector = "@" att-name
//! ```
//! The first step selects the document's root element. An unprefixed name is in the
//! application's default namespace (RFC 4825 §6.3, "the default document namespace" of the
//! AUID); a prefixed one needs its prefix bound by the query (`?xmlns(p=urn:…)`, §6.4).
//! Namespace selectors (`namespace::*`) are not supported (400).

use crate::tree::{Element, Node};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSelector {
    pub steps: Vec<Step>,
    /// The trailing `@name`, when the selector selects an attribute.
    pub attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: NameTest,
    /// 1-based position among the siblings that pass the name test.
    pub position: Option<usize>,
    /// `[@name="value"]`, value with entity references resolved.
    pub attr_test: Option<(String, String)>,
    /// The step as written (for `<ancestor>` URIs in errors).
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameTest {
    Any,
    Name { ns: String, local: String },
}

/// A selector that does not parse: the request gets 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node selector: {0}")]
pub struct SelectorError(pub String);

/// Where an element is: the index in `children` at each level below the root (empty: the root).
pub type ElementPath = Vec<usize>;

impl NodeSelector {
    /// Parse `text` (already percent-decoded). `default_ns` is the AUID's default namespace;
    /// `bindings` the prefixes bound by the query.
    pub fn parse(
        text: &str,
        default_ns: &str,
        bindings: &[(String, String)],
    ) -> Result<NodeSelector, SelectorError> {
        let err = |m: &str| Err(SelectorError(format!("{m} in {text:?}")));
        if text.is_empty() {
            return err("empty");
        }
        let parts = split_steps(text)?;
        let mut steps = Vec::with_capacity(parts.len());
        let mut attribute = None;
        let last = parts.len() - 1;
        for (i, part) in parts.iter().enumerate() {
            if let Some(name) = part.strip_prefix('@') {
                if i != last || i == 0 {
                    return err("an attribute selector may only be the last step");
                }
                if !is_name(name) || name.contains(':') {
                    return err("bad attribute name");
                }
                attribute = Some(name.to_string());
            } else {
                steps.push(
                    parse_step(part, default_ns, bindings)
                        .map_err(|m| SelectorError(format!("{m} in step {part:?} of {text:?}")))?,
                );
            }
        }
        Ok(NodeSelector { steps, attribute })
    }

    /// Every element the element part selects, as paths from the root.
    pub fn select(&self, root: &Element) -> Vec<ElementPath> {
        select_steps(root, &self.steps)
    }

    /// The element-selector text of the first `n` steps.
    pub fn prefix_text(&self, n: usize) -> String {
        self.steps[..n]
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Every element selected by `steps` below (and including) `root`.
pub fn select_steps(root: &Element, steps: &[Step]) -> Vec<ElementPath> {
    let Some((first, rest)) = steps.split_first() else {
        return Vec::new();
    };
    // The first step is tested against the root as the only child of the document.
    if !matches_at(first, root, 1) {
        return Vec::new();
    }
    let mut current: Vec<ElementPath> = vec![Vec::new()];
    for step in rest {
        let mut next = Vec::new();
        for path in &current {
            let Some(parent) = element_at(root, path) else {
                continue;
            };
            for index in select_children(parent, step) {
                let mut p = path.clone();
                p.push(index);
                next.push(p);
            }
        }
        current = next;
    }
    current
}

/// Indexes (in `parent.children`) of the children `step` selects.
pub fn select_children(parent: &Element, step: &Step) -> Vec<usize> {
    let mut out = Vec::new();
    let mut position = 0;
    for (index, child) in parent.children.iter().enumerate() {
        let Node::Element(e) = child else { continue };
        if !name_matches(&step.name, e) {
            continue;
        }
        position += 1;
        if matches_at(step, e, position) {
            out.push(index);
        }
    }
    out
}

fn matches_at(step: &Step, e: &Element, position: usize) -> bool {
    name_matches(&step.name, e)
        && step.position.is_none_or(|p| p == position)
        && step
            .attr_test
            .as_ref()
            .is_none_or(|(name, value)| e.attr(name) == Some(value.as_str()))
}

pub fn name_matches(test: &NameTest, e: &Element) -> bool {
    match test {
        NameTest::Any => true,
        NameTest::Name { ns, local } => &e.ns == ns && &e.name == local,
    }
}

pub fn element_at<'a>(root: &'a Element, path: &[usize]) -> Option<&'a Element> {
    let mut e = root;
    for &i in path {
        match e.children.get(i) {
            Some(Node::Element(child)) => e = child,
            _ => return None,
        }
    }
    Some(e)
}

pub fn element_at_mut<'a>(root: &'a mut Element, path: &[usize]) -> Option<&'a mut Element> {
    let mut e = root;
    for &i in path {
        match e.children.get_mut(i) {
            Some(Node::Element(child)) => e = child,
            _ => return None,
        }
    }
    Some(e)
}

/// Split on `/` outside brackets and quotes.
fn split_steps(text: &str) -> Result<Vec<&str>, SelectorError> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0usize, None::<char>, 0usize);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if depth > 0 => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| SelectorError(format!("unbalanced ] in {text:?}")))?
            }
            (None, '/') if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quote.is_some() || depth != 0 {
        return Err(SelectorError(format!(
            "unterminated [ or quote in {text:?}"
        )));
    }
    parts.push(&text[start..]);
    if parts.iter().any(|p| p.is_empty()) {
        return Err(SelectorError(format!("empty step in {text:?}")));
    }
    Ok(parts)
}

fn parse_step(part: &str, default_ns: &str, bindings: &[(String, String)]) -> Result<Step, String> {
    let name_end = part.find('[').unwrap_or(part.len());
    let name = &part[..name_end];
    let name = if name == "*" {
        NameTest::Any
    } else if !is_name(name) {
        return Err("bad element name".into());
    } else if let Some((prefix, local)) = name.split_once(':') {
        let ns = bindings
            .iter()
            .find(|(p, _)| p == prefix)
            .map(|(_, ns)| ns.clone())
            .ok_or_else(|| format!("prefix {prefix:?} not bound by an xmlns() query"))?;
        if local.contains(':') {
            return Err("bad element name".into());
        }
        NameTest::Name {
            ns,
            local: local.into(),
        }
    } else {
        NameTest::Name {
            ns: default_ns.into(),
            local: name.into(),
        }
    };
    let mut step = Step {
        name,
        position: None,
        attr_test: None,
        text: part.to_string(),
    };
    let mut rest = &part[name_end..];
    while !rest.is_empty() {
        let inner_end = closing_bracket(rest).ok_or("unterminated [")?;
        let inner = &rest[1..inner_end];
        rest = &rest[inner_end + 1..];
        if let Some(test) = inner.strip_prefix('@') {
            if step.attr_test.is_some() || !rest.is_empty() {
                return Err("an attribute test must be the last predicate".into());
            }
            let (att, value) = test.split_once('=').ok_or("attribute test without =")?;
            if !is_name(att) || att.contains(':') {
                return Err("bad attribute name".into());
            }
            step.attr_test = Some((att.to_string(), att_value(value)?));
        } else {
            if step.position.is_some() || step.attr_test.is_some() {
                return Err("a position must come first and once".into());
            }
            if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_digit()) {
                return Err("a position is a positive integer".into());
            }
            let p: usize = inner.parse().map_err(|_| "position too large")?;
            if p == 0 {
                return Err("positions start at 1".into());
            }
            step.position = Some(p);
        }
    }
    Ok(step)
}

/// Index of the `]` closing the `[` at 0, outside quotes.
fn closing_bracket(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, ']') => return Some(i),
            _ => {}
        }
    }
    None
}

/// `"…"` or `'…'`, with XML entity references resolved (RFC 4825 §6.3 AttValue).
fn att_value(v: &str) -> Result<String, String> {
    let quoted = v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')));
    if !quoted {
        return Err("attribute value must be quoted".into());
    }
    let inner = &v[1..v.len() - 1];
    if inner.contains(['<', v.as_bytes()[0] as char]) {
        return Err("bad character in attribute value".into());
    }
    quick_xml::escape::unescape(inner)
        .map(|c| c.into_owned())
        .map_err(|e| format!("attribute value: {e}"))
}

/// An XML Name (simplified: letters, digits, `-`, `_`, `.`, one optional `:`), not empty.
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_alphabetic() || first == '_')
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        && s.matches(':').count() <= 1
        && !s.ends_with(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "urn:oma:xml:poc:list-service";

    fn parse(s: &str) -> Result<NodeSelector, SelectorError> {
        NodeSelector::parse(s, NS, &[])
    }

    fn doc() -> Element {
        Element::parse_document(
            br#"<group xmlns="urn:oma:xml:poc:list-service"><list-service uri="sip:g@lab">
            <owner>sip:a@lab</owner>
            <list><entry uri="sip:a@lab"/><entry uri="sip:b/c@lab"/><other/><entry uri="sip:d@lab"/></list>
            </list-service></group>"#,
        )
        .unwrap()
    }

    fn uris(root: &Element, sel: &str) -> Vec<String> {
        let s = parse(sel).unwrap();
        s.select(root)
            .iter()
            .map(|p| {
                let e = element_at(root, p).unwrap();
                e.attr("uri").map(str::to_string).unwrap_or(e.name.clone())
            })
            .collect()
    }

    #[test]
    fn steps_by_name_position_and_attribute() {
        let s = parse(r#"group/list-service/list/entry[2][@uri="sip:x@lab"]/@uri"#).unwrap();
        assert_eq!(s.steps.len(), 4);
        assert_eq!(s.steps[3].position, Some(2));
        assert_eq!(
            s.steps[3].attr_test,
            Some(("uri".to_string(), "sip:x@lab".to_string()))
        );
        assert_eq!(s.attribute.as_deref(), Some("uri"));
        assert_eq!(
            s.steps[0].name,
            NameTest::Name {
                ns: NS.into(),
                local: "group".into()
            }
        );
        assert_eq!(s.prefix_text(2), "group/list-service");
    }

    #[test]
    fn a_slash_or_bracket_inside_a_quoted_value_is_not_a_step() {
        let s = parse(r#"group/list-service/list/entry[@uri='sip:b/c@lab]']"#).unwrap();
        assert_eq!(s.steps.len(), 4);
        assert_eq!(s.steps[3].attr_test.as_ref().unwrap().1, "sip:b/c@lab]");
        let s = parse(r#"a/b[@x="&quot;q&amp;"]"#).unwrap();
        assert_eq!(s.steps[1].attr_test.as_ref().unwrap().1, "\"q&");
    }

    #[test]
    fn prefixes_need_an_xmlns_binding() {
        assert!(parse("p:group").is_err());
        let s = NodeSelector::parse("p:group/*", NS, &[("p".into(), "urn:p".into())]).unwrap();
        assert_eq!(
            s.steps[0].name,
            NameTest::Name {
                ns: "urn:p".into(),
                local: "group".into()
            }
        );
        assert_eq!(s.steps[1].name, NameTest::Any);
    }

    #[test]
    fn malformed_selectors_are_refused() {
        for bad in [
            "",
            "/group",
            "group/",
            "group//list",
            "@uri",
            "group/@uri/list",
            "group[0]",
            "group[-1]",
            "group[x]",
            "group[1",
            "group[@uri=x]",
            "group[@uri=\"x]",
            "group[@uri=\"x\"][1]",
            "group[1][2]",
            "gr oup",
            "1group",
            "group/@a:b",
            "namespace::*",
            "group[99999999999999999999999]",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn selection_by_name_position_and_attribute() {
        let d = doc();
        assert_eq!(uris(&d, "group"), vec!["group"]);
        assert_eq!(uris(&d, "list-service"), Vec::<String>::new());
        assert_eq!(
            uris(&d, "group/list-service/list/entry"),
            vec!["sip:a@lab", "sip:b/c@lab", "sip:d@lab"]
        );
        // Position counts only siblings with the name (`other` is skipped) …
        assert_eq!(
            uris(&d, "group/list-service/list/entry[3]"),
            vec!["sip:d@lab"]
        );
        // … and `*` counts every element.
        assert_eq!(uris(&d, "group/list-service/list/*[3]"), vec!["other"]);
        assert_eq!(
            uris(&d, r#"group/list-service/list/entry[@uri="sip:b/c@lab"]"#),
            vec!["sip:b/c@lab"]
        );
        assert_eq!(
            uris(&d, r#"group/list-service/list/entry[2][@uri="sip:a@lab"]"#),
            Vec::<String>::new()
        );
        assert_eq!(uris(&d, "group/*/owner"), vec!["owner"]);
        assert_eq!(
            uris(&d, "group/list-service/list/entry[9]"),
            Vec::<String>::new()
        );
    }
}
