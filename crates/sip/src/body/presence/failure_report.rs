//! The subscription-failure report: the body of the MESSAGE (RFC 3428) a server sends when a
//! NOTIFY failed and it deleted the subscription (seed CN102546554A, spec step 5).
//!
//! Content type `application/vnd.corelab.subscription-failure+json`, a JSON object:
//!
//! | field | meaning |
//! | --- | --- |
//! | `version` | format version, `1` |
//! | `action` | what the client should do: `"resubscribe"` |
//! | `event` | event package of the failed subscription (`presence`, `reg`, `presence.winfo`) |
//! | `event_id` | the Event header's `id` parameter, or `null` |
//! | `resource` | the URI the client had subscribed to (the new SUBSCRIBE's Request-URI) |
//! | `call_id` | Call-ID of the deleted subscription's dialog |
//! | `reason` | `"timeout"` (no final response before Timer F) or `"rejected"` (a non-2xx answer) |
//! | `status` | the answer's status code when `reason` is `"rejected"`, else `null` |
//! | `count` | how many such MESSAGEs this user got during this registration, this one included |
//! | `threshold` | after this many, the server gives up (signs the user out, per its policy) |

use serde::{Deserialize, Serialize};

pub const CONTENT_TYPE: &str = "application/vnd.corelab.subscription-failure+json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureReport {
    pub version: u32,
    pub action: String,
    pub event: String,
    pub event_id: Option<String>,
    pub resource: String,
    pub call_id: String,
    pub reason: String,
    pub status: Option<u16>,
    pub count: u32,
    pub threshold: u32,
}

impl FailureReport {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
    pub fn parse(body: &[u8]) -> Result<FailureReport, String> {
        serde_json::from_slice(body).map_err(|e| format!("bad subscription-failure report: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_field_names() {
        let r = FailureReport {
            version: 1,
            action: "resubscribe".into(),
            event: "presence".into(),
            event_id: None,
            resource: "sip:bob@lab".into(),
            call_id: "abc@lab".into(),
            reason: "rejected".into(),
            status: Some(500),
            count: 1,
            threshold: 3,
        };
        let json = r.to_json();
        assert!(
            json.contains("\"reason\":\"rejected\"") && json.contains("\"status\":500"),
            "{json}"
        );
        assert_eq!(FailureReport::parse(json.as_bytes()).unwrap(), r);
        assert!(FailureReport::parse(b"{}").is_err());
    }
}
