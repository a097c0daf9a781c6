//! Users from a TOML file (`[[user]]` tables: `uri`, `contact`, `barred`) or from the config's
//! `participating.users`, into the store.

use std::path::Path;

use serde::Deserialize;

use crate::config::{UserEntry, check_user};
use crate::participating::{User, aor_of};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    user: Vec<UserEntry>,
}

/// The users of a provisioning file; errors name the file and the entry.
pub fn load(path: &Path) -> Result<Vec<User>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: File = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    file.user
        .iter()
        .enumerate()
        .map(|(i, u)| {
            check_user(u).map_err(|m| format!("{}: user[{i}].{m}", path.display()))?;
            Ok(user(u))
        })
        .collect()
}

/// A configured entry as stored: the URI as an address-of-record.
pub fn user(u: &UserEntry) -> User {
    User {
        uri: aor_of(&u.uri),
        contact: u.contact.clone(),
        barred: u.barred,
    }
}
