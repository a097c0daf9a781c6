//! A message ladder on stdout, one column per node, each step ending with its verdict: the MBS
//! lanes (UE | gNB/N1 | session-manager) for `labctl demo mbs`, any [`Lanes`] for another demo
//! (`labctl demo poc`).

/// A column of a ladder: its index in the ladder's [`Lanes`].
pub trait Column: Copy {
    fn index(self) -> usize;
}

/// A column of the MBS ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Ue,
    Gnb,
    SessionManager,
}

impl Column for Lane {
    fn index(self) -> usize {
        self as usize
    }
}

/// A ladder's columns: their heads, the short names of notes, the width of one column.
#[derive(Debug, Clone, Copy)]
pub struct Lanes {
    pub heads: &'static [&'static str],
    pub short: &'static [&'static str],
    pub width: usize,
}

/// The MBS demo's lanes.
pub const MBS_LANES: Lanes = Lanes {
    heads: &["UE", "gNB / N1", "session-manager"],
    short: &["UE", "gNB", "SM"],
    width: 36,
};

/// The ladder being printed, with the count of steps that passed and failed.
#[derive(Debug)]
pub struct Ladder {
    pub passed: usize,
    pub failed: usize,
    lanes: Lanes,
}

impl Default for Ladder {
    fn default() -> Ladder {
        Ladder::with_lanes(MBS_LANES)
    }
}

impl Ladder {
    /// A ladder with these columns.
    pub fn with_lanes(lanes: Lanes) -> Ladder {
        Ladder {
            passed: 0,
            failed: 0,
            lanes,
        }
    }

    fn column(&self, lane: impl Column) -> usize {
        lane.index() * self.lanes.width
    }

    /// The lanes' heads.
    pub fn head(&self, title: &str) {
        println!("\n=== {title}\n");
        let w = self.lanes.width;
        let heads: String = (self.lanes.heads.iter())
            .map(|h| format!("{h:<w$}"))
            .collect();
        println!("{}", heads.trim_end());
        println!("{}", self.lanes(""));
    }

    fn lanes(&self, fill: &str) -> String {
        let count = self.lanes.heads.len();
        let mut line = vec![' '; (count - 1) * self.lanes.width + 1];
        for i in 0..count {
            line[i * self.lanes.width] = '|';
        }
        let mut s: String = line.into_iter().collect();
        if !fill.is_empty() {
            s.push_str("  ");
            s.push_str(fill);
        }
        s
    }

    /// A step's title.
    pub fn step(&self, number: &str, title: &str) {
        println!("{}", self.lanes(""));
        println!("[{number}] {title}");
    }

    /// A message from `from` to `to`, its label on the arrow (or after it when too long).
    pub fn message(&self, from: impl Column, to: impl Column, label: &str) {
        println!("{}", self.arrow(from, to, label));
    }

    /// Something a node does without a message, written beside the lanes at `lane`.
    pub fn note(&self, lane: impl Column, text: &str) {
        let who = self.lanes.short.get(lane.index()).copied().unwrap_or("?");
        println!("{}", self.lanes(&format!("({who}: {text})")));
    }

    /// The step's verdict from the nodes' state over gRPC.
    pub fn verdict(&mut self, ok: bool, detail: &str) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        println!("    {} {detail}", if ok { "PASS" } else { "FAIL" });
    }
}

/// One line of the MBS ladder (see [`Ladder::arrow`]).
pub fn arrow(from: Lane, to: Lane, label: &str) -> String {
    Ladder::default().arrow(from, to, label)
}

impl Ladder {
    /// One ladder line: `|--- label --->|` between the two lanes' columns.
    pub fn arrow(&self, from: impl Column, to: impl Column, label: &str) -> String {
        let (from, to) = (self.column(from), self.column(to));
        let (a, b) = if from < to { (from, to) } else { (to, from) };
        let inner = b - a - 1;
        let text = format!(" {label} ");
        let body: String = if text.chars().count() + 4 <= inner {
            let dashes = inner - text.chars().count() - 1;
            let left = 2.min(dashes);
            let mut s = "-".repeat(left);
            s.push_str(&text);
            s.push_str(&"-".repeat(dashes - left));
            s
        } else {
            "-".repeat(inner - 1)
        };
        let body = if from < to {
            format!("{body}>")
        } else {
            format!("<{body}")
        };
        let mut line: Vec<char> = self.lanes("").chars().collect();
        for (i, c) in body.chars().enumerate() {
            line[a + 1 + i] = c;
        }
        let mut s: String = line.into_iter().collect();
        if text.chars().count() + 4 > inner {
            s.push_str(&format!("  {label}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrows_point_from_sender_to_receiver() {
        let right = arrow(Lane::Ue, Lane::SessionManager, "REGISTRATION REQUEST");
        assert!(right.starts_with("|-- REGISTRATION REQUEST -"));
        assert!(right.ends_with(">|"));
        let left = arrow(Lane::SessionManager, Lane::Gnb, "Paging");
        assert!(left.contains("|<"), "{left}");
        assert!(left.trim_end().ends_with('|'));
    }

    #[test]
    fn a_long_label_follows_the_arrow() {
        let label = "x".repeat(200);
        let line = arrow(Lane::Ue, Lane::Gnb, &label);
        assert!(line.ends_with(&label));
    }
}
