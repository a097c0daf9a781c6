//! A message ladder on stdout, one lane per node, each step ending with its verdict: `labctl demo
//! mbs` (UE | gNB/N1 | session-manager), `labctl demo dra` (client | vDRA | vPCRF | hDRA |
//! hPCRF) and `labctl demo poc` (A | PF-A | CF | group server | PF-B | B). A demo may name its
//! lanes with its own type that converts into [`Lane`].

/// A column of the ladder: the index of its lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lane(pub usize);

impl Lane {
    /// The MBS demo's lanes.
    pub const UE: Lane = Lane(0);
    pub const GNB: Lane = Lane(1);
    pub const SESSION_MANAGER: Lane = Lane(2);
}

/// The ladder being printed, with the count of steps that passed and failed.
#[derive(Debug)]
pub struct Ladder {
    /// Each lane's head and the short name its notes carry.
    lanes: Vec<(String, String)>,
    /// Characters between two lanes.
    width: usize,
    pub passed: usize,
    pub failed: usize,
}

impl Default for Ladder {
    /// The MBS demo's ladder.
    fn default() -> Ladder {
        Ladder::new(
            &[("UE", "UE"), ("gNB / N1", "gNB"), ("session-manager", "SM")],
            36,
        )
    }
}

impl Ladder {
    /// Lanes given as (head, short name for notes), `width` characters apart.
    pub fn new(lanes: &[(&str, &str)], width: usize) -> Ladder {
        Ladder {
            lanes: lanes
                .iter()
                .map(|(head, short)| (head.to_string(), short.to_string()))
                .collect(),
            width,
            passed: 0,
            failed: 0,
        }
    }

    fn column(&self, lane: Lane) -> usize {
        lane.0 * self.width
    }

    /// The lanes' heads.
    pub fn head(&self, title: &str) {
        println!("\n=== {title}\n");
        let mut heads = String::new();
        for (i, (head, _)) in self.lanes.iter().enumerate() {
            if i + 1 == self.lanes.len() {
                heads.push_str(head);
            } else {
                heads.push_str(&format!("{head:<w$}", w = self.width));
            }
        }
        println!("{heads}");
        println!("{}", self.lanes(""));
    }

    fn lanes(&self, fill: &str) -> String {
        let last = self.lanes.len().saturating_sub(1);
        let mut line = vec![' '; last * self.width + 1];
        for i in 0..self.lanes.len() {
            line[self.column(Lane(i))] = '|';
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
    pub fn message(&self, from: impl Into<Lane>, to: impl Into<Lane>, label: &str) {
        println!("{}", self.arrow(from.into(), to.into(), label));
    }

    /// Something a node does without a message, written beside the lanes at `lane`.
    pub fn note(&self, lane: impl Into<Lane>, text: &str) {
        let lane = lane.into();
        let who = self.lanes.get(lane.0).map(|l| l.1.as_str()).unwrap_or("?");
        println!("{}", self.lanes(&format!("({who}: {text})")));
    }

    /// A line of text under the lanes (a table, a list).
    pub fn text(&self, text: &str) {
        println!("    {text}");
    }

    /// The step's verdict from the nodes' state.
    pub fn verdict(&mut self, ok: bool, detail: &str) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        println!("    {} {detail}", if ok { "PASS" } else { "FAIL" });
    }

    /// One ladder line: `|--- label --->|` between the two lanes' columns.
    pub fn arrow(&self, from: Lane, to: Lane, label: &str) -> String {
        let (f, t) = (self.column(from), self.column(to));
        let (a, b) = if f < t { (f, t) } else { (t, f) };
        let inner = (b - a).saturating_sub(1).max(2);
        let text = format!(" {label} ");
        let fits = text.chars().count() + 4 <= inner;
        let body: String = if fits {
            let dashes = inner - text.chars().count() - 1;
            let left = 2.min(dashes);
            let mut s = "-".repeat(left);
            s.push_str(&text);
            s.push_str(&"-".repeat(dashes - left));
            s
        } else {
            "-".repeat(inner - 1)
        };
        let body = if f < t {
            format!("{body}>")
        } else {
            format!("<{body}")
        };
        let mut line: Vec<char> = self.lanes("").chars().collect();
        for (i, c) in body.chars().enumerate() {
            if let Some(slot) = line.get_mut(a + 1 + i) {
                *slot = c;
            }
        }
        let mut s: String = line.into_iter().collect();
        if !fits {
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
        let ladder = Ladder::default();
        let right = ladder.arrow(Lane::UE, Lane::SESSION_MANAGER, "REGISTRATION REQUEST");
        assert!(right.starts_with("|-- REGISTRATION REQUEST -"));
        assert!(right.ends_with(">|"));
        let left = ladder.arrow(Lane::SESSION_MANAGER, Lane::GNB, "Paging");
        assert!(left.contains("|<"), "{left}");
        assert!(left.trim_end().ends_with('|'));
    }

    #[test]
    fn a_long_label_follows_the_arrow() {
        let label = "x".repeat(200);
        let line = Ladder::default().arrow(Lane::UE, Lane::GNB, &label);
        assert!(line.ends_with(&label));
    }

    #[test]
    fn five_lanes_and_an_arrow_over_two_gaps() {
        let ladder = Ladder::new(
            &[("a", "a"), ("b", "b"), ("c", "c"), ("d", "d"), ("e", "e")],
            10,
        );
        let line = ladder.arrow(Lane(0), Lane(2), "CCR-I");
        assert!(line.starts_with("|-- CCR-I --------->|"), "{line}");
        assert_eq!(line.len(), 41, "{line}");
        let back = ladder.arrow(Lane(4), Lane(3), "CCA 2001");
        assert!(back.ends_with("|<--------|  CCA 2001"), "{back}");
    }
}
