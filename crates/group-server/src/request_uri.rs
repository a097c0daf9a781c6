//! The XCAP request URI (RFC 4825 §6): `<xcap-root>/<auid>/users/<xui>/<document>` for a
//! document, followed by `/~~/<node-selector>` for an element or attribute, and an optional
//! query binding namespace prefixes (`?xmlns(p=urn:…)xmlns(q=…)`, §6.4).
//!
//! Here the XUI is the group's SIP URI and the document name is always `index`
//! (docs/group-server.md); the `global` tree is not served.

use crate::document::{AUID, DOCUMENT_NAME, NAMESPACE};
use crate::selector::{NodeSelector, SelectorError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The group URI (the XUI).
    pub xui: String,
    pub selector: Option<NodeSelector>,
    /// The document URI's path (for `<ancestor>` in errors), as received.
    pub document_path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// No such resource here (another root, AUID, tree or document name): 404.
    #[error("not found: {0}")]
    NotFound(String),
    /// The URI does not parse: 400.
    #[error("bad request URI: {0}")]
    Bad(String),
}

impl From<SelectorError> for UriError {
    fn from(e: SelectorError) -> Self {
        UriError::Bad(e.to_string())
    }
}

/// Split and decode `path` (and `query`) under the XCAP root path `root` (e.g. `/xcap`).
pub fn parse(path: &str, query: Option<&str>, root: &str) -> Result<Target, UriError> {
    let root = root.trim_end_matches('/');
    let rest = path
        .strip_prefix(root)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(|| UriError::NotFound(format!("{path} is not under the XCAP root {root}/")))?;
    let (document, selector) = match rest.split_once("/~~/") {
        Some((d, s)) => (d, Some(s)),
        None => (rest, None),
    };
    let segments: Vec<&str> = document.split('/').collect();
    let [auid, tree, xui, name] = segments.as_slice() else {
        return Err(UriError::NotFound(format!(
            "{path}: expected {root}/{AUID}/users/<group URI>/{DOCUMENT_NAME}"
        )));
    };
    if *auid != AUID {
        return Err(UriError::NotFound(format!("unknown AUID {auid:?}")));
    }
    if *tree != "users" {
        return Err(UriError::NotFound(format!(
            "tree {tree:?}: only the users tree is served"
        )));
    }
    let name = percent_decode(name)?;
    if name != DOCUMENT_NAME {
        return Err(UriError::NotFound(format!(
            "document {name:?}: a group's document is named {DOCUMENT_NAME}"
        )));
    }
    let xui = percent_decode(xui)?;
    if xui.is_empty() {
        return Err(UriError::NotFound("empty XUI".into()));
    }
    let selector = match selector {
        Some(s) => {
            let bindings = xmlns_bindings(query.unwrap_or(""))?;
            let decoded = percent_decode(s)?;
            Some(NodeSelector::parse(&decoded, NAMESPACE, &bindings)?)
        }
        None => None,
    };
    Ok(Target {
        xui,
        selector,
        document_path: format!("{root}/{document}"),
    })
}

/// `xmlns(p=urn:a)xmlns(q=urn:b)` (percent-decoded first).
fn xmlns_bindings(query: &str) -> Result<Vec<(String, String)>, UriError> {
    let mut out = Vec::new();
    let mut rest = percent_decode(query)?;
    rest = rest.trim().to_string();
    let mut s = rest.as_str();
    while !s.is_empty() {
        let inner = s
            .strip_prefix("xmlns(")
            .ok_or_else(|| UriError::Bad(format!("query {query:?}: expected xmlns(prefix=ns)")))?;
        let end = inner
            .find(')')
            .ok_or_else(|| UriError::Bad(format!("query {query:?}: unclosed xmlns(")))?;
        let (prefix, ns) = inner[..end]
            .split_once('=')
            .ok_or_else(|| UriError::Bad(format!("query {query:?}: xmlns() without =")))?;
        out.push((prefix.trim().to_string(), ns.trim().to_string()));
        s = &inner[end + 1..];
    }
    Ok(out)
}

/// Decode `%XX` escapes; the result must be UTF-8.
pub fn percent_decode(s: &str) -> Result<String, UriError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| UriError::Bad(format!("bad percent escape in {s:?}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UriError::Bad(format!("{s:?} is not UTF-8 once decoded")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "/xcap/org.openmobilealliance.poc-groups/users/sip:team@lab.example/index";

    #[test]
    fn document_and_node_selector() {
        let t = parse(DOC, None, "/xcap").unwrap();
        assert_eq!(t.xui, "sip:team@lab.example");
        assert!(t.selector.is_none());
        let t = parse(
            &format!("{DOC}/~~/group/list-service/list/entry%5B@uri=%22sip:bob@lab.example%22%5D"),
            None,
            "/xcap/",
        )
        .unwrap();
        let s = t.selector.unwrap();
        assert_eq!(s.steps.len(), 4);
        assert_eq!(
            s.steps[3].attr_test.as_ref().unwrap().1,
            "sip:bob@lab.example"
        );
        assert_eq!(t.document_path, DOC);
        let t = parse(
            "/xcap/org.openmobilealliance.poc-groups/users/sip%3Ateam%40lab.example/index",
            None,
            "/xcap",
        )
        .unwrap();
        assert_eq!(t.xui, "sip:team@lab.example");
    }

    #[test]
    fn prefixes_bound_by_the_query() {
        let t = parse(
            &format!("{DOC}/~~/p:group"),
            Some("xmlns(p=urn:x)"),
            "/xcap",
        )
        .unwrap();
        assert_eq!(t.selector.unwrap().steps.len(), 1);
        assert!(matches!(
            parse(&format!("{DOC}/~~/p:group"), None, "/xcap"),
            Err(UriError::Bad(_))
        ));
    }

    #[test]
    fn other_resources_are_not_found_and_garbage_is_bad() {
        for path in [
            "/other/org.openmobilealliance.poc-groups/users/sip:t@l/index",
            "/xcap/org.openmobilealliance.xcap-caps/users/sip:t@l/index",
            "/xcap/org.openmobilealliance.poc-groups/global/index",
            "/xcap/org.openmobilealliance.poc-groups/users/sip:t@l/other",
            "/xcap/org.openmobilealliance.poc-groups/users/sip:t@l",
            "/xcap/org.openmobilealliance.poc-groups/users//index",
        ] {
            assert!(
                matches!(parse(path, None, "/xcap"), Err(UriError::NotFound(_))),
                "{path}"
            );
        }
        for path in [
            format!("{DOC}/~~/group["),
            format!("{DOC}/~~/%ZZ"),
            format!("{DOC}/~~/%FF"),
        ] {
            assert!(
                matches!(parse(&path, None, "/xcap"), Err(UriError::Bad(_))),
                "{path}"
            );
        }
    }
}
