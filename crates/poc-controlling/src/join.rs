//! The seed's rule (WO2010115322A1, fig. 3, steps 301-313; ../shared/specs/poc-join.md), as the
//! controlling function applies it to one join request. Read top to bottom, it is the spec:
//!
//! - 303: the group is one we serve, else 404;
//! - 303-304 / 310-311: the group's document from the group server over XCAP (the cached copy
//!   while validated less than `xcap.revalidate_ms` ago, else revalidated with its ETag);
//! - 305 / 312: **authorize first**: the join type, membership, room in the session;
//! - 305: only then, if the group session has no ids yet, the first joiner's Conversation-ID
//!   and Contribution-ID are stored, atomically (the store decides between simultaneous first
//!   joiners); ids pre-provisioned in the group document win over the joiner's;
//! - 306 / 313: the stored pair is what every 200 OK carries.
//!
//! A refusal returns before anything is stored.

use std::sync::Arc;

use corelab_group_server::document::{Group, JoinType};

use crate::config::Prearranged;
use crate::store::{Ids, SessionStore};
use crate::xcap_client::{FetchError, Fetched, XcapClient};

/// One join request, as the SIP shell read it.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The Request-URI: the group identity.
    pub group_uri: String,
    /// The joining user (P-Asserted-Identity, else From).
    pub user: String,
    /// The ids the terminal generated (step 301 / 308).
    pub ids: Ids,
}

/// Why a join is refused, each with its SIP status and reason phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 303: not a group we serve.
    NotServed,
    /// 304: the group server has no such group.
    NoSuchGroup,
    /// 305: a prearranged group and `groups.prearranged = "refuse"`.
    NotJoinGroup,
    /// 305: the user is not a member.
    NotMember,
    /// The session has its maximum of participants.
    Full,
    /// The group server or the store failed.
    Unavailable(String),
}

impl Refusal {
    pub fn status(&self) -> (u16, String) {
        match self {
            Refusal::NotServed => (404, "Group not served here".into()),
            Refusal::NoSuchGroup => (404, "No such group".into()),
            Refusal::NotJoinGroup => (403, "Not a join group".into()),
            Refusal::NotMember => (403, "Not a member of the group".into()),
            Refusal::Full => (486, "Group session full".into()),
            Refusal::Unavailable(why) => (503, format!("Group data unavailable ({why})")),
        }
    }
}

/// What the controlling function knows besides the request.
pub struct Rules<'a> {
    pub serves: &'a (dyn Fn(&str) -> bool + Sync),
    pub prearranged: Prearranged,
    /// Participants when the document sets no maximum.
    pub default_max: u32,
}

/// The outcome of an admitted join: the group, and the ids every 200 OK carries.
#[derive(Debug, Clone)]
pub struct Joined {
    pub group: Arc<Group>,
    pub ids: Ids,
    pub fetched: Fetched,
}

/// Apply the rule. `reserve(limit)` takes a place in the group session if fewer than `limit`
/// are taken (atomically, by the caller's session table), `release` gives it back when a later
/// step fails; nothing is stored unless every check passed.
pub async fn join(
    rules: &Rules<'_>,
    xcap: &XcapClient,
    store: &SessionStore,
    reserve: impl FnOnce(u32) -> bool,
    release: impl FnOnce(),
    req: &JoinRequest,
) -> Result<Joined, Refusal> {
    // 303: a group identity we serve?
    if !(rules.serves)(&req.group_uri) {
        return Err(Refusal::NotServed);
    }
    // 303-304 (and 310-311): the group's configuration from the group server.
    let (group, fetched) = xcap.group(&req.group_uri).await.map_err(|e| match e {
        FetchError::NotFound => Refusal::NoSuchGroup,
        e => Refusal::Unavailable(e.to_string()),
    })?;
    // 305 (and 312): authorize first.
    authorize(rules, &group, &req.user)?;
    let limit = group.max_participants.unwrap_or(rules.default_max);
    if !reserve(limit) {
        return Err(Refusal::Full);
    }
    // 305: only now, the group session's ids: those already stored, else the pre-provisioned
    // ones ("session pre-established"), else this first joiner's; one atomic step.
    let provisioned = match (&group.conversation_id, &group.contribution_id) {
        (Some(conversation_id), Some(contribution_id)) => Some(Ids {
            conversation_id: conversation_id.clone(),
            contribution_id: contribution_id.clone(),
        }),
        _ => None,
    };
    let candidate = provisioned.clone().unwrap_or_else(|| req.ids.clone());
    let stored = match store.claim(&req.group_uri, &candidate).await {
        Ok(ids) => ids,
        Err(e) => {
            release();
            return Err(Refusal::Unavailable(format!("store: {e}")));
        }
    };
    // 306 / 313: every joiner gets the pair; pre-provisioned ids win over anything stored.
    Ok(Joined {
        ids: provisioned.unwrap_or(stored),
        group,
        fetched,
    })
}

/// Step 305's checks on the group document, no IO: a join group (or a prearranged one handled
/// the ordinary way), and the user one of its members.
pub fn authorize(rules: &Rules<'_>, group: &Group, user: &str) -> Result<(), Refusal> {
    if group.join_type != JoinType::Join && rules.prearranged == Prearranged::Refuse {
        return Err(Refusal::NotJoinGroup);
    }
    let user = corelab_sip::headers::aor(user);
    if !group
        .members
        .iter()
        .any(|m| corelab_sip::headers::aor(m) == user)
    {
        return Err(Refusal::NotMember);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(join_type: JoinType) -> Group {
        Group {
            uri: "sip:team@lab.example".into(),
            owner: "sip:alice@lab.example".into(),
            display_name: None,
            join_type,
            max_participants: None,
            members: vec!["sip:alice@lab.example".into(), "sip:bob@lab.example".into()],
            conversation_id: None,
            contribution_id: None,
        }
    }

    fn rules(prearranged: Prearranged) -> Rules<'static> {
        Rules {
            serves: &|_| true,
            prearranged,
            default_max: 8,
        }
    }

    #[test]
    fn members_of_join_groups_only() {
        let r = rules(Prearranged::Refuse);
        assert_eq!(
            authorize(&r, &group(JoinType::Join), "sip:bob@lab.example"),
            Ok(())
        );
        assert_eq!(
            authorize(
                &r,
                &group(JoinType::Join),
                "sip:Bob@lab.example;transport=tcp"
            ),
            Err(Refusal::NotMember),
            "the user part is case-sensitive"
        );
        assert_eq!(
            authorize(&r, &group(JoinType::Join), "sip:eve@lab.example"),
            Err(Refusal::NotMember)
        );
        assert_eq!(
            authorize(&r, &group(JoinType::Prearranged), "sip:bob@lab.example"),
            Err(Refusal::NotJoinGroup)
        );
        let r = rules(Prearranged::Join);
        assert_eq!(
            authorize(&r, &group(JoinType::Prearranged), "sip:bob@lab.example"),
            Ok(())
        );
        assert_eq!(Refusal::Full.status().0, 486);
        assert_eq!(Refusal::NotServed.status().0, 404);
    }
}
