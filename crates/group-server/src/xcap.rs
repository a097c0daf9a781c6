//! XCAP operations on one document, without IO (RFC 4825 §7, §8): given the request and the
//! stored document, what to answer, or what to store. The HTTP shell ([`crate::http`]) loads the
//! document, authorizes, calls [`decide`], and stores the outcome only if the document has not
//! changed meanwhile (compare-and-set on its ETag).

use quick_xml::escape::{escape, unescape};

use crate::document::{Group, MIME, MIME_ATTRIBUTE, MIME_ELEMENT, NAMESPACE};
use crate::error::{Conflict, XcapError};
use crate::request_uri::Target;
use crate::selector::{self, ElementPath, NodeSelector};
use crate::tree::{Element, Node, ParseError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Put,
    Delete,
}

/// The stored document.
#[derive(Debug, Clone)]
pub struct Current {
    pub root: Element,
    /// Its text as stored (what a GET of the document returns).
    pub text: String,
    /// Strong entity tag, unquoted.
    pub etag: String,
}

pub struct Request<'a> {
    pub method: Method,
    pub target: &'a Target,
    /// Content-Type's media type (lowercase, without parameters).
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
    pub if_match: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
    /// Absolute URI of the document (`http://host/xcap/…/index`), for `<ancestor>`.
    pub document_uri: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 200 with a body, or 304 (`body` empty).
    Read {
        status: u16,
        content_type: &'static str,
        body: String,
        etag: String,
    },
    /// Store this document (replacing `Current`, or creating it), then answer `status`
    /// (201 created, 200 replaced) with the new ETag.
    Store {
        status: u16,
        root: Element,
        group: Box<Group>,
    },
    /// Delete the document, then 200.
    DeleteDocument,
}

/// What `req` does to `current`.
pub fn decide(req: &Request, current: Option<&Current>) -> Result<Outcome, XcapError> {
    if let Some(outcome) = preconditions(req, current)? {
        return Ok(outcome);
    }
    let selector = req.target.selector.as_ref();
    match (req.method, selector) {
        (Method::Get, None) => {
            let cur = current.ok_or_else(|| not_found("no such document"))?;
            Ok(read(MIME, cur.text.clone(), cur))
        }
        (Method::Get, Some(sel)) => {
            let cur = current.ok_or_else(|| not_found("no such document"))?;
            let path = one(&cur.root, sel)?;
            let e = selector::element_at(&cur.root, &path).ok_or_else(|| not_found("gone"))?;
            match &sel.attribute {
                Some(att) => {
                    let v = e.attr(att).ok_or_else(|| not_found("no such attribute"))?;
                    Ok(read(MIME_ATTRIBUTE, escape(v).into_owned(), cur))
                }
                None => Ok(read(MIME_ELEMENT, e.to_fragment(), cur)),
            }
        }
        (Method::Delete, None) => {
            current.ok_or_else(|| not_found("no such document"))?;
            Ok(Outcome::DeleteDocument)
        }
        (Method::Delete, Some(sel)) => {
            let cur = current.ok_or_else(|| not_found("no such document"))?;
            delete_node(req, cur, sel)
        }
        (Method::Put, None) => {
            media_type(req, MIME)?;
            let root = Element::parse_document(req.body).map_err(conflict_of)?;
            let group = Group::validate(&root, &req.target.xui)?;
            Ok(Outcome::Store {
                status: if current.is_some() { 200 } else { 201 },
                root,
                group: Box::new(group),
            })
        }
        (Method::Put, Some(sel)) => put_node(req, current, sel),
    }
}

fn read(content_type: &'static str, body: String, cur: &Current) -> Outcome {
    Outcome::Read {
        status: 200,
        content_type,
        body,
        etag: cur.etag.clone(),
    }
}

fn not_found(m: &str) -> XcapError {
    XcapError::NotFound(m.into())
}

/// If-Match / If-None-Match (RFC 9110 §13.1.1, §13.1.2; RFC 4825 §7.11): 412, or 304 for a
/// GET whose entity tag matches.
fn preconditions(req: &Request, current: Option<&Current>) -> Result<Option<Outcome>, XcapError> {
    let etag = current.map(|c| c.etag.as_str());
    if let Some(h) = req.if_match {
        let ok = match etag {
            None => false,
            Some(tag) => tag_list_matches(h, tag, false)?,
        };
        if !ok {
            return Err(XcapError::PreconditionFailed);
        }
    }
    if let Some(h) = req.if_none_match {
        let matched = match etag {
            None => false,
            Some(tag) => tag_list_matches(h, tag, true)?,
        };
        if matched {
            return match (req.method, current) {
                (Method::Get, Some(cur)) => Ok(Some(Outcome::Read {
                    status: 304,
                    content_type: "",
                    body: String::new(),
                    etag: cur.etag.clone(),
                })),
                _ => Err(XcapError::PreconditionFailed),
            };
        }
    }
    Ok(None)
}

/// Does the header (`*` or a list of entity tags) match `tag`? Strong comparison unless `weak`.
fn tag_list_matches(header: &str, tag: &str, weak: bool) -> Result<bool, XcapError> {
    if header.trim() == "*" {
        return Ok(true);
    }
    for item in header.split(',') {
        let item = item.trim();
        let (is_weak, quoted) = match item.strip_prefix("W/") {
            Some(q) => (true, q),
            None => (false, item),
        };
        let inner = quoted
            .strip_prefix('"')
            .and_then(|q| q.strip_suffix('"'))
            .ok_or_else(|| XcapError::BadRequest(format!("entity tag {item:?} is not quoted")))?;
        if inner == tag && (weak || !is_weak) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn media_type(req: &Request, expected: &'static str) -> Result<(), XcapError> {
    if req.content_type == Some(expected) {
        Ok(())
    } else {
        Err(XcapError::UnsupportedMediaType { expected })
    }
}

fn conflict_of(e: ParseError) -> XcapError {
    XcapError::Conflict(match e {
        ParseError::NotUtf8 => Conflict::NotUtf8,
        ParseError::NotWellFormed(_) => Conflict::NotWellFormed,
        ParseError::NotFragment => Conflict::NotXmlFrag,
        ParseError::TooDeep => Conflict::SchemaValidation(e.to_string()),
    })
}

/// The one element `sel` selects (404 for none or several, RFC 4825 §8.1.2).
fn one(root: &Element, sel: &NodeSelector) -> Result<ElementPath, XcapError> {
    let mut found = sel.select(root);
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(not_found("no such element")),
        _ => Err(not_found("the node selector selects several elements")),
    }
}

/// `<no-parent>` naming the deepest existing ancestor of `steps[..n]`.
fn no_parent(req: &Request, root: Option<&Element>, sel: &NodeSelector, n: usize) -> XcapError {
    let existing = root.map_or(0, |root| {
        (1..=n)
            .rev()
            .find(|&k| selector::select_steps(root, &sel.steps[..k]).len() == 1)
            .unwrap_or(0)
    });
    let ancestor = match existing {
        0 => req.document_uri.to_string(),
        k => format!("{}/~~/{}", req.document_uri, sel.prefix_text(k)),
    };
    XcapError::Conflict(Conflict::NoParent { ancestor })
}

fn revalidate(req: &Request, root: Element, status: u16) -> Result<Outcome, XcapError> {
    let group = Group::validate(&root, &req.target.xui)?;
    Ok(Outcome::Store {
        status,
        root,
        group: Box::new(group),
    })
}

/// PUT of an element or attribute (RFC 4825 §8.2.3, §8.2.4, §8.2.5).
fn put_node(
    req: &Request,
    current: Option<&Current>,
    sel: &NodeSelector,
) -> Result<Outcome, XcapError> {
    let steps = sel.steps.len();
    if let Some(att) = &sel.attribute {
        media_type(req, MIME_ATTRIBUTE)?;
        let cur = current.ok_or_else(|| no_parent(req, None, sel, steps))?;
        let value = attribute_value(req.body)?;
        let mut found = sel.select(&cur.root);
        let path = match found.len() {
            1 => found.remove(0),
            0 => return Err(no_parent(req, Some(&cur.root), sel, steps)),
            _ => return Err(not_found("the node selector selects several elements")),
        };
        let mut root = cur.root.clone();
        let e = selector::element_at_mut(&mut root, &path).ok_or_else(|| not_found("gone"))?;
        let created = e.attr(att).is_none();
        e.set_attr(att, &value);
        // Idempotence (§8.2.5): the same URI must now select what was put.
        let after = sel.select(&root);
        let same = after == [path.clone()]
            && selector::element_at(&root, &path).and_then(|e| e.attr(att)) == Some(&value);
        if !same {
            return Err(XcapError::Conflict(Conflict::CannotInsert));
        }
        return revalidate(req, root, if created { 201 } else { 200 });
    }

    media_type(req, MIME_ELEMENT)?;
    let cur = current.ok_or_else(|| no_parent(req, None, sel, steps))?;
    let new = Element::parse_fragment(req.body, NAMESPACE).map_err(conflict_of)?;
    let mut root = cur.root.clone();
    let mut found = sel.select(&root);
    let (path, status) = match found.len() {
        // Replace (§8.2.3): the new element takes the old one's place.
        1 => {
            let path = found.remove(0);
            match path.split_last() {
                None => root = new,
                Some((&last, parent)) => {
                    let p = selector::element_at_mut(&mut root, parent)
                        .ok_or_else(|| not_found("gone"))?;
                    p.children[last] = Node::Element(new);
                }
            }
            (path, 200)
        }
        0 => {
            if steps == 1 {
                // The root exists (documents always have one) but is not this.
                return Err(XcapError::Conflict(Conflict::CannotInsert));
            }
            let mut parents = selector::select_steps(&root, &sel.steps[..steps - 1]);
            let parent_path = match parents.len() {
                1 => parents.remove(0),
                0 => return Err(no_parent(req, Some(&root), sel, steps - 1)),
                _ => return Err(not_found("the parent selector selects several elements")),
            };
            let last = &sel.steps[steps - 1];
            let parent = selector::element_at_mut(&mut root, &parent_path)
                .ok_or_else(|| not_found("gone"))?;
            let index = insertion_index(parent, last, &new)?;
            parent.children.insert(index, Node::Element(new));
            let mut path = parent_path;
            path.push(index);
            (path, 201)
        }
        _ => return Err(not_found("the node selector selects several elements")),
    };
    // Idempotence (§8.2.5): the URI must select the element just put, and only it.
    if sel.select(&root) != [path] {
        return Err(XcapError::Conflict(Conflict::CannotInsert));
    }
    revalidate(req, root, status)
}

/// Where a new child goes (RFC 4825 §8.2.3): for a positional step `[n]`, after the (n-1)th
/// sibling passing the step's name test (so it becomes the n-th); otherwise after the last
/// sibling of the new element's own name, or after the last child when it has none.
fn insertion_index(
    parent: &Element,
    step: &selector::Step,
    new: &Element,
) -> Result<usize, XcapError> {
    let elements = || {
        parent
            .children
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match c {
                Node::Element(e) => Some((i, e)),
                Node::Text(_) => None,
            })
    };
    match step.position {
        Some(n) => {
            let siblings: Vec<usize> = elements()
                .filter(|(_, e)| selector::name_matches(&step.name, e))
                .map(|(i, _)| i)
                .collect();
            match n {
                1 => Ok(siblings.first().copied().unwrap_or(parent.children.len())),
                n => match siblings.get(n - 2) {
                    Some(&i) => Ok(i + 1),
                    None => Err(XcapError::Conflict(Conflict::CannotInsert)),
                },
            }
        }
        None => Ok(elements()
            .filter(|(_, e)| e.ns == new.ns && e.name == new.name)
            .map(|(i, _)| i + 1)
            .next_back()
            .unwrap_or(parent.children.len())),
    }
}

/// DELETE of an element or attribute (RFC 4825 §8.3).
fn delete_node(req: &Request, cur: &Current, sel: &NodeSelector) -> Result<Outcome, XcapError> {
    let path = one(&cur.root, sel)?;
    let mut root = cur.root.clone();
    match &sel.attribute {
        Some(att) => {
            let e = selector::element_at_mut(&mut root, &path).ok_or_else(|| not_found("gone"))?;
            if !e.remove_attr(att) {
                return Err(not_found("no such attribute"));
            }
        }
        None => {
            let Some((&last, parent)) = path.split_last() else {
                return Err(XcapError::Conflict(Conflict::CannotDelete));
            };
            let p = selector::element_at_mut(&mut root, parent).ok_or_else(|| not_found("gone"))?;
            p.children.remove(last);
            // §8.3.3: afterwards the URI must select nothing (a positional selector would
            // select the next sibling).
            if !sel.select(&root).is_empty() {
                return Err(XcapError::Conflict(Conflict::CannotDelete));
            }
        }
    }
    revalidate(req, root, 200)
}

/// An `application/xcap-att+xml` body: an XML AttValue without its quotes (RFC 4825 §8.2.4).
fn attribute_value(body: &[u8]) -> Result<String, XcapError> {
    let text = std::str::from_utf8(body).map_err(|_| XcapError::Conflict(Conflict::NotUtf8))?;
    if text.contains('<') {
        return Err(XcapError::Conflict(Conflict::NotXmlAttValue));
    }
    unescape(text)
        .map(|v| v.into_owned())
        .map_err(|_| XcapError::Conflict(Conflict::NotXmlAttValue))
}

#[cfg(test)]
mod tests;
