//! Document edits without IO: each RFC 4825 operation on the example group document.

use super::*;
use crate::request_uri;

const DOC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<group xmlns="urn:oma:xml:poc:list-service">
  <list-service uri="sip:team@lab.example">
    <owner>sip:alice@lab.example</owner>
    <join-type>join</join-type>
    <list>
      <entry uri="sip:alice@lab.example"/>
      <entry uri="sip:bob@lab.example"/>
    </list>
  </list-service>
</group>"#;

const BASE: &str = "/xcap/org.openmobilealliance.poc-groups/users/sip:team@lab.example/index";
const LIST: &str = "group/list-service/list";

fn current() -> Current {
    Current {
        root: Element::parse_document(DOC.as_bytes()).unwrap(),
        text: DOC.into(),
        etag: "e1".into(),
    }
}

struct R<'a> {
    method: Method,
    selector: &'a str,
    content_type: Option<&'a str>,
    body: &'a str,
    if_match: Option<&'a str>,
    if_none_match: Option<&'a str>,
}

fn r(method: Method, selector: &str) -> R<'_> {
    R {
        method,
        selector,
        content_type: None,
        body: "",
        if_match: None,
        if_none_match: None,
    }
}

impl R<'_> {
    fn run(&self, cur: Option<&Current>) -> Result<Outcome, XcapError> {
        let path = match self.selector {
            "" => BASE.to_string(),
            s => format!("{BASE}/~~/{s}"),
        };
        let target = request_uri::parse(&path, None, "/xcap").unwrap();
        decide(
            &Request {
                method: self.method,
                target: &target,
                content_type: self.content_type,
                body: self.body.as_bytes(),
                if_match: self.if_match,
                if_none_match: self.if_none_match,
                document_uri: "http://h/doc",
            },
            cur,
        )
    }
}

fn put<'a>(selector: &'a str, content_type: &'a str, body: &'a str) -> R<'a> {
    R {
        content_type: Some(content_type),
        body,
        ..r(Method::Put, selector)
    }
}

fn stored(o: Result<Outcome, XcapError>) -> (u16, Group, Element) {
    match o {
        Ok(Outcome::Store {
            status,
            group,
            root,
        }) => (status, *group, root),
        other => panic!("not stored: {other:?}"),
    }
}

fn conflict(o: Result<Outcome, XcapError>) -> Conflict {
    match o {
        Err(XcapError::Conflict(c)) => c,
        other => panic!("not a 409: {other:?}"),
    }
}

#[test]
fn put_document_creates_then_replaces() {
    let (status, g, _) = stored(put("", MIME, DOC).run(None));
    assert_eq!((status, g.members.len()), (201, 2));
    let (status, _, _) = stored(put("", MIME, DOC).run(Some(&current())));
    assert_eq!(status, 200);
}

#[test]
fn put_document_checks_media_type_well_formedness_and_schema() {
    assert_eq!(
        put("", "application/xml", DOC).run(None),
        Err(XcapError::UnsupportedMediaType { expected: MIME })
    );
    assert_eq!(
        conflict(put("", MIME, "<group>").run(None)),
        Conflict::NotWellFormed
    );
    assert!(matches!(
        conflict(put("", MIME, &DOC.replace("<join-type>join</join-type>", "")).run(None)),
        Conflict::SchemaValidation(_)
    ));
    assert!(matches!(
        conflict(put("", MIME, &DOC.replace("sip:team@", "sip:other@")).run(None)),
        Conflict::Constraint(_)
    ));
}

#[test]
fn get_document_element_and_attribute() {
    let cur = current();
    match r(Method::Get, "").run(Some(&cur)).unwrap() {
        Outcome::Read { body, etag, .. } => assert_eq!((body.as_str(), etag.as_str()), (DOC, "e1")),
        o => panic!("{o:?}"),
    }
    match r(Method::Get, &format!("{LIST}/entry[2]"))
        .run(Some(&cur))
        .unwrap()
    {
        Outcome::Read {
            content_type, body, ..
        } => {
            assert_eq!(content_type, MIME_ELEMENT);
            assert_eq!(
                body,
                r#"<entry xmlns="urn:oma:xml:poc:list-service" uri="sip:bob@lab.example"/>"#
            );
        }
        o => panic!("{o:?}"),
    }
    match r(Method::Get, "group/list-service/@uri")
        .run(Some(&cur))
        .unwrap()
    {
        Outcome::Read {
            content_type, body, ..
        } => assert_eq!(
            (content_type, body.as_str()),
            (MIME_ATTRIBUTE, "sip:team@lab.example")
        ),
        o => panic!("{o:?}"),
    }
    for missing in [
        format!("{LIST}/entry[3]"),
        format!("{LIST}/entry"), // two match: not one element
        "group/list-service/@nope".to_string(),
    ] {
        assert!(
            matches!(
                r(Method::Get, &missing).run(Some(&cur)),
                Err(XcapError::NotFound(_))
            ),
            "{missing}"
        );
    }
    assert!(matches!(
        r(Method::Get, "").run(None),
        Err(XcapError::NotFound(_))
    ));
}

#[test]
fn put_member_by_uri_appends_and_replaces() {
    let cur = current();
    let sel = format!(r#"{LIST}/entry[@uri="sip:carol@lab.example"]"#);
    let (status, g, _) = stored(
        put(
            &sel,
            MIME_ELEMENT,
            r#"<entry uri="sip:carol@lab.example"/>"#,
        )
        .run(Some(&cur)),
    );
    assert_eq!(status, 201);
    assert_eq!(g.members.last().unwrap(), "sip:carol@lab.example");
    let sel = format!(r#"{LIST}/entry[@uri="sip:bob@lab.example"]"#);
    let (status, _, root) = stored(
        put(
            &sel,
            MIME_ELEMENT,
            r#"<entry uri="sip:bob@lab.example"><display-name>Bob</display-name></entry>"#,
        )
        .run(Some(&cur)),
    );
    assert_eq!(status, 200);
    assert!(
        root.to_document()
            .contains("<display-name>Bob</display-name>")
    );
}

#[test]
fn put_by_position_inserts_at_that_position() {
    let cur = current();
    let (_, g, _) = stored(
        put(
            &format!("{LIST}/entry[1]"),
            MIME_ELEMENT,
            r#"<entry uri="sip:zed@lab.example"/>"#,
        )
        .run(Some(&cur)),
    );
    // [1] exists: replaced.
    assert_eq!(g.members, ["sip:zed@lab.example", "sip:bob@lab.example"]);
    let (status, g, _) = stored(
        put(
            &format!("{LIST}/entry[3]"),
            MIME_ELEMENT,
            r#"<entry uri="sip:zed@lab.example"/>"#,
        )
        .run(Some(&cur)),
    );
    assert_eq!(status, 201);
    assert_eq!(g.members[2], "sip:zed@lab.example");
    assert_eq!(
        conflict(
            put(
                &format!("{LIST}/entry[5]"),
                MIME_ELEMENT,
                r#"<entry uri="sip:z@lab.example"/>"#
            )
            .run(Some(&cur))
        ),
        Conflict::CannotInsert
    );
}

#[test]
fn a_new_element_goes_after_the_last_sibling_of_its_name() {
    // <list> holding entry, entry, other (RFC 4825 §8.2.3; OpenXCAP's test_element_put does
    // the same).
    let mut list = selector::element_at(&current().root, &[0, 2])
        .unwrap()
        .clone();
    list.children
        .push(Node::Element(Element::new(NAMESPACE, "other")));
    let step = |s: &str| {
        NodeSelector::parse(&format!("list/{s}"), NAMESPACE, &[])
            .unwrap()
            .steps
            .remove(1)
    };
    let entry =
        Element::parse_fragment(br#"<entry uri="sip:carol@lab.example"/>"#, NAMESPACE).unwrap();
    // By name or attribute: after the last <entry>, before <other>.
    assert_eq!(
        insertion_index(&list, &step(r#"entry[@uri="x"]"#), &entry),
        Ok(2)
    );
    assert_eq!(
        insertion_index(&list, &step(r#"*[@uri="x"]"#), &entry),
        Ok(2)
    );
    // A name with no sibling yet: at the end.
    let third = Element::new(NAMESPACE, "third");
    assert_eq!(insertion_index(&list, &step("third"), &third), Ok(3));
    // By position: where it becomes the n-th of the step's name test.
    assert_eq!(insertion_index(&list, &step("entry[1]"), &entry), Ok(0));
    assert_eq!(insertion_index(&list, &step("entry[3]"), &entry), Ok(2));
    assert_eq!(insertion_index(&list, &step("*[2]"), &entry), Ok(1));
    assert_eq!(insertion_index(&list, &step("*[4]"), &entry), Ok(3));
    assert_eq!(
        insertion_index(&list, &step("entry[4]"), &entry),
        Err(XcapError::Conflict(Conflict::CannotInsert))
    );
}

#[test]
fn put_element_that_the_uri_would_not_select_is_cannot_insert() {
    let sel = format!(r#"{LIST}/entry[@uri="sip:carol@lab.example"]"#);
    assert_eq!(
        conflict(
            put(&sel, MIME_ELEMENT, r#"<entry uri="sip:dave@lab.example"/>"#).run(Some(&current()))
        ),
        Conflict::CannotInsert
    );
}

#[test]
fn put_element_without_parent_names_the_closest_ancestor() {
    let c = conflict(
        put(
            "group/list-service/nothing/entry",
            MIME_ELEMENT,
            r#"<entry uri="sip:x@y"/>"#,
        )
        .run(Some(&current())),
    );
    assert_eq!(
        c,
        Conflict::NoParent {
            ancestor: "http://h/doc/~~/group/list-service".into()
        }
    );
    let c = conflict(put(&format!("{LIST}/entry[1]"), MIME_ELEMENT, "<entry/>").run(None));
    assert_eq!(
        c,
        Conflict::NoParent {
            ancestor: "http://h/doc".into()
        }
    );
}

#[test]
fn element_edits_that_break_the_schema_are_refused() {
    let cur = current();
    // A member twice.
    let sel = format!(r#"{LIST}/entry[@uri="sip:carol@lab.example"]"#);
    let body = r#"<entry uri="sip:carol@lab.example"/>"#;
    let (_, _, root) = stored(put(&sel, MIME_ELEMENT, body).run(Some(&cur)));
    let text = root.to_document();
    let cur2 = Current {
        root,
        text,
        etag: "e2".into(),
    };
    let dup = format!(r#"{LIST}/entry[3]"#);
    assert!(matches!(
        conflict(put(&dup, MIME_ELEMENT, r#"<entry uri="sip:bob@lab.example"/>"#).run(Some(&cur2))),
        Conflict::Uniqueness { .. }
    ));
    // An unknown element, a bad join-type, a required element deleted.
    assert!(matches!(
        conflict(
            put(
                "group/list-service/colour",
                MIME_ELEMENT,
                "<colour>red</colour>"
            )
            .run(Some(&cur))
        ),
        Conflict::SchemaValidation(_)
    ));
    assert!(matches!(
        conflict(
            put(
                "group/list-service/join-type",
                MIME_ELEMENT,
                "<join-type>maybe</join-type>"
            )
            .run(Some(&cur))
        ),
        Conflict::SchemaValidation(_)
    ));
    assert!(matches!(
        conflict(r(Method::Delete, "group/list-service/owner").run(Some(&cur))),
        Conflict::SchemaValidation(_)
    ));
    // Bodies that are not one element.
    for body in ["<entry uri='sip:a@b'/><entry/>", "text", "<entry"] {
        assert_eq!(
            conflict(put(&format!("{LIST}/entry[3]"), MIME_ELEMENT, body).run(Some(&cur))),
            Conflict::NotXmlFrag,
            "{body}"
        );
    }
    assert_eq!(
        put(&format!("{LIST}/entry[3]"), MIME, "<entry/>").run(Some(&cur)),
        Err(XcapError::UnsupportedMediaType {
            expected: MIME_ELEMENT
        })
    );
}

#[test]
fn attribute_put_and_delete() {
    let cur = current();
    let sel = format!("{LIST}/entry[2]/@uri");
    let (status, g, _) = stored(put(&sel, MIME_ATTRIBUTE, "sip:bobby@lab.example").run(Some(&cur)));
    assert_eq!(
        (status, g.members[1].as_str()),
        (200, "sip:bobby@lab.example")
    );
    // Through a selector that tests the same attribute, the URI would no longer select it.
    let by_uri = format!(r#"{LIST}/entry[@uri="sip:bob@lab.example"]/@uri"#);
    assert_eq!(
        conflict(put(&by_uri, MIME_ATTRIBUTE, "sip:bobby@lab.example").run(Some(&cur))),
        Conflict::CannotInsert
    );
    assert!(matches!(
        conflict(put(&sel, MIME_ATTRIBUTE, "mailto:bob").run(Some(&cur))),
        Conflict::SchemaValidation(_)
    ));
    assert_eq!(
        conflict(put(&sel, MIME_ATTRIBUTE, "a<b").run(Some(&cur))),
        Conflict::NotXmlAttValue
    );
    assert!(matches!(
        conflict(put("group/list-service/@colour", MIME_ATTRIBUTE, "red").run(Some(&cur))),
        Conflict::SchemaValidation(_)
    ));
    // Deleting a required attribute breaks the schema; deleting a missing one is 404.
    assert!(matches!(
        conflict(r(Method::Delete, &sel).run(Some(&cur))),
        Conflict::SchemaValidation(_)
    ));
    assert!(matches!(
        r(Method::Delete, &format!("{LIST}/entry[2]/@nope")).run(Some(&cur)),
        Err(XcapError::NotFound(_))
    ));
    assert!(matches!(
        conflict(put(&format!("{LIST}/entry[9]/@uri"), MIME_ATTRIBUTE, "sip:x@y").run(Some(&cur))),
        Conflict::NoParent { .. }
    ));
}

#[test]
fn delete_member_and_positional_delete_that_would_select_the_next() {
    let cur = current();
    let (_, g, _) = stored(
        r(
            Method::Delete,
            &format!(r#"{LIST}/entry[@uri="sip:alice@lab.example"]"#),
        )
        .run(Some(&cur)),
    );
    assert_eq!(g.members, ["sip:bob@lab.example"]);
    // Deleting entry[1] would make entry[1] select bob: §8.3.3 cannot-delete.
    assert_eq!(
        conflict(r(Method::Delete, &format!("{LIST}/entry[1]")).run(Some(&cur))),
        Conflict::CannotDelete
    );
    let (_, g, _) = stored(r(Method::Delete, &format!("{LIST}/entry[2]")).run(Some(&cur)));
    assert_eq!(g.members, ["sip:alice@lab.example"]);
    assert_eq!(
        conflict(r(Method::Delete, "group").run(Some(&cur))),
        Conflict::CannotDelete
    );
    assert_eq!(
        r(Method::Delete, "").run(Some(&cur)),
        Ok(Outcome::DeleteDocument)
    );
    assert!(matches!(
        r(Method::Delete, "").run(None),
        Err(XcapError::NotFound(_))
    ));
}

#[test]
fn conditional_requests() {
    let cur = current();
    let get = |if_match, if_none_match| {
        R {
            if_match,
            if_none_match,
            ..r(Method::Get, "")
        }
        .run(Some(&cur))
    };
    assert!(matches!(
        get(Some("\"e1\""), None),
        Ok(Outcome::Read { status: 200, .. })
    ));
    assert!(matches!(
        get(Some("\"x\", \"e1\""), None),
        Ok(Outcome::Read { status: 200, .. })
    ));
    assert_eq!(
        get(Some("\"e2\""), None),
        Err(XcapError::PreconditionFailed)
    );
    assert_eq!(
        get(Some("W/\"e1\""), None),
        Err(XcapError::PreconditionFailed)
    );
    assert!(matches!(
        get(None, Some("\"e1\"")),
        Ok(Outcome::Read { status: 304, .. })
    ));
    assert!(matches!(
        get(None, Some("*")),
        Ok(Outcome::Read { status: 304, .. })
    ));
    assert!(matches!(
        get(None, Some("\"e2\"")),
        Ok(Outcome::Read { status: 200, .. })
    ));
    assert!(matches!(
        get(Some("e1"), None),
        Err(XcapError::BadRequest(_))
    ));
    // PUT If-None-Match: * creates only; If-Match on a missing document fails.
    let create = |cur: Option<&Current>| {
        R {
            if_none_match: Some("*"),
            ..put("", MIME, DOC)
        }
        .run(cur)
    };
    assert!(matches!(
        create(None),
        Ok(Outcome::Store { status: 201, .. })
    ));
    assert_eq!(create(Some(&cur)), Err(XcapError::PreconditionFailed));
    let replace = R {
        if_match: Some("\"e1\""),
        ..put("", MIME, DOC)
    };
    assert_eq!(replace.run(None), Err(XcapError::PreconditionFailed));
    assert!(matches!(
        replace.run(Some(&cur)),
        Ok(Outcome::Store { status: 200, .. })
    ));
    let delete = R {
        if_match: Some("\"old\""),
        ..r(Method::Delete, "")
    };
    assert_eq!(delete.run(Some(&cur)), Err(XcapError::PreconditionFailed));
}
