//! `group-server provision FILE`: load groups into the store, creating or replacing each
//! group's document. FILE is either TOML (`[[group]]` tables, below) or one group document in
//! XML (`*.xml`, as an XCAP PUT would carry it). Every document is checked by the same rules as
//! an XCAP write; one bad group stops the load before anything is stored.
//!
//! ```toml
//! [[group]]
//! uri = "sip:team@lab.example"
//! owner = "sip:alice@lab.example"
//! display_name = "Team"              # optional
//! join_type = "join"                 # or "prearranged"
//! max_participants = 8               # optional
//! members = ["sip:alice@lab.example", "sip:bob@lab.example"]
//! conversation_id = "…"              # optional, with contribution_id: pre-provisioned ids
//! contribution_id = "…"
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::document::{Group, JoinType};
use crate::tree::Element;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    group: Vec<GroupEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupEntry {
    uri: String,
    owner: String,
    display_name: Option<String>,
    join_type: JoinType,
    max_participants: Option<u32>,
    #[serde(default)]
    members: Vec<String>,
    conversation_id: Option<String>,
    contribution_id: Option<String>,
}

/// Read `path` into checked documents: (group, document text).
pub fn load(path: &Path) -> Result<Vec<(Group, String)>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let is_xml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xml"));
    if is_xml {
        let root =
            Element::parse_document(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let xui = root
            .elements()
            .next()
            .and_then(|s| s.attr("uri"))
            .unwrap_or("")
            .to_string();
        let group =
            Group::validate(&root, &xui).map_err(|e| format!("{}: {e:?}", path.display()))?;
        return Ok(vec![(group, root.to_document())]);
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
    let file: File = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, g) in file.group.into_iter().enumerate() {
        let group = Group {
            uri: g.uri,
            owner: g.owner,
            display_name: g.display_name,
            join_type: g.join_type,
            max_participants: g.max_participants,
            members: g.members,
            conversation_id: g.conversation_id,
            contribution_id: g.contribution_id,
        };
        let root = group.to_element();
        let checked = Group::validate(&root, &group.uri)
            .map_err(|e| format!("{}: group {} ({}): {e:?}", path.display(), i + 1, group.uri))?;
        out.push((checked, root.to_document()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_groups_become_checked_documents() {
        let dir = std::env::temp_dir().join(format!("gs-prov-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("groups.toml");
        std::fs::write(
            &path,
            r#"
[[group]]
uri = "sip:team@lab.example"
owner = "sip:alice@lab.example"
join_type = "join"
max_participants = 4
members = ["sip:alice@lab.example", "sip:bob@lab.example"]
conversation_id = "c1"
contribution_id = "k1"
"#,
        )
        .unwrap();
        let groups = load(&path).unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].0.conversation_id.as_deref(), Some("c1"));
        assert!(
            groups[0]
                .1
                .contains("<conversation-id>c1</conversation-id>")
        );

        std::fs::write(
            &path,
            "[[group]]\nuri = \"sip:t@l\"\nowner = \"sip:a@l\"\njoin_type = \"join\"\nmembers = [\"sip:a@l\", \"sip:a@l\"]\n",
        )
        .unwrap();
        assert!(load(&path).unwrap_err().contains("NotUnique"));
        std::fs::write(&path, "[[group]]\nuri = \"sip:t@l\"\n").unwrap();
        assert!(load(&path).unwrap_err().contains("groups.toml"));

        // One XML document, as an XCAP PUT carries it.
        let xml = dir.join("team.xml");
        let doc = Group {
            uri: "sip:team@lab.example".into(),
            owner: "sip:alice@lab.example".into(),
            display_name: None,
            join_type: JoinType::Prearranged,
            max_participants: None,
            members: vec!["sip:bob@lab.example".into()],
            conversation_id: None,
            contribution_id: None,
        };
        std::fs::write(&xml, doc.to_element().to_document()).unwrap();
        assert_eq!(load(&xml).unwrap()[0].0, doc);
        std::fs::write(&xml, "<group xmlns=\"urn:oma:xml:poc:list-service\"/>").unwrap();
        assert!(load(&xml).unwrap_err().contains("team.xml"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
