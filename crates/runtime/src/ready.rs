//! The ready file: once a node has bound its sockets it writes their addresses as JSON, so a
//! script or test that started it on ephemeral ports (port 0) knows where to reach it.

use std::collections::BTreeMap;
use std::path::Path;

/// Write `addresses` (name → "ip:port") atomically to `path`.
pub fn write(path: &Path, addresses: &BTreeMap<String, String>) -> std::io::Result<()> {
    let json = serde_json::to_string_pretty(addresses).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, path)
}
