//! A message ladder on stdout (UE | gNB/N1 | session-manager), each step ending with its
//! verdict, for `labctl demo mbs`.

/// A column of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Ue,
    Gnb,
    SessionManager,
}

const WIDTH: usize = 36;

impl Lane {
    fn column(self) -> usize {
        match self {
            Lane::Ue => 0,
            Lane::Gnb => WIDTH,
            Lane::SessionManager => 2 * WIDTH,
        }
    }
}

/// The ladder being printed, with the count of steps that passed and failed.
#[derive(Debug, Default)]
pub struct Ladder {
    pub passed: usize,
    pub failed: usize,
}

impl Ladder {
    /// The lanes' heads.
    pub fn head(&self, title: &str) {
        println!("\n=== {title}\n");
        println!("{:<w$}{:<w$}session-manager", "UE", "gNB / N1", w = WIDTH);
        println!("{}", Self::lanes(""));
    }

    fn lanes(fill: &str) -> String {
        let mut line = vec![' '; 2 * WIDTH + 1];
        for lane in [Lane::Ue, Lane::Gnb, Lane::SessionManager] {
            line[lane.column()] = '|';
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
        println!("{}", Self::lanes(""));
        println!("[{number}] {title}");
    }

    /// A message from `from` to `to`, its label on the arrow (or after it when too long).
    pub fn message(&self, from: Lane, to: Lane, label: &str) {
        println!("{}", arrow(from, to, label));
    }

    /// Something a node does without a message, written beside the lanes at `lane`.
    pub fn note(&self, lane: Lane, text: &str) {
        let who = match lane {
            Lane::Ue => "UE",
            Lane::Gnb => "gNB",
            Lane::SessionManager => "SM",
        };
        println!("{}", Self::lanes(&format!("({who}: {text})")));
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

/// One ladder line: `|--- label --->|` between the two lanes' columns.
pub fn arrow(from: Lane, to: Lane, label: &str) -> String {
    let (a, b) = if from.column() < to.column() {
        (from.column(), to.column())
    } else {
        (to.column(), from.column())
    };
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
    let body = if from.column() < to.column() {
        format!("{body}>")
    } else {
        format!("<{body}")
    };
    let mut line: Vec<char> = Ladder::lanes("").chars().collect();
    for (i, c) in body.chars().enumerate() {
        line[a + 1 + i] = c;
    }
    let mut s: String = line.into_iter().collect();
    if text.chars().count() + 4 > inner {
        s.push_str(&format!("  {label}"));
    }
    s
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
