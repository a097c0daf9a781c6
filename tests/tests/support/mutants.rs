//! Mutants of valid SIP requests, as a broken or hostile peer would send them (issue 13
//! "Proof"): byte flips, truncations, duplicated and removed headers, huge values, CR/LF
//! injected into values, URI-breaking characters, and a few of these at once. Deterministic for
//! a seed, so a failing run can be replayed (`CORELAB_MUTATION_SEED`).

#![allow(dead_code)]

/// xorshift64*: small, deterministic, good enough to pick mutations.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The kinds of mutation, named for the report (docs/robustness.md).
pub const KINDS: &[&str] = &[
    "byte flip",
    "truncation",
    "duplicated header",
    "removed header",
    "huge value",
    "CR/LF injection",
    "URI-breaking characters",
    "several at once",
];

/// Characters that break URIs, parameters and header syntax.
const BREAKERS: &[&[u8]] = &[
    b"<",
    b">",
    b";",
    b"%",
    b"[",
    b"]",
    b":",
    b"@",
    b"\"",
    b"\0",
    b",",
    b"=",
    b"\\",
    b"\t",
    b" ",
    b"\xff",
    b"\xc3",
    b";tag=",
    b":65536",
    b"[fe80::1%eth0]",
    b"<sip:>",
    b"SIP/7.0",
];

/// Index of "huge value" in [`KINDS`].
const HUGE: usize = 4;

/// One mutant of `valid`: the kind applied and the bytes.
pub fn mutate(rng: &mut Rng, valid: &[u8]) -> (&'static str, Vec<u8>) {
    mutate_with(rng, valid, true)
}

/// One mutant of `valid` no larger than a few bytes more than it (no huge values): the
/// hardest case for "log no more than a small multiple of the input".
pub fn mutate_small(rng: &mut Rng, valid: &[u8]) -> (&'static str, Vec<u8>) {
    mutate_with(rng, valid, false)
}

fn mutate_with(rng: &mut Rng, valid: &[u8], huge: bool) -> (&'static str, Vec<u8>) {
    let pick = |rng: &mut Rng, n: usize| loop {
        let k = rng.below(n);
        if huge || k != HUGE {
            return k;
        }
    };
    let kind = pick(rng, KINDS.len());
    let mut msg = valid.to_vec();
    if kind == KINDS.len() - 1 {
        for _ in 0..2 + rng.below(3) {
            let k = pick(rng, KINDS.len() - 1);
            msg = apply(rng, k, &msg);
        }
    } else {
        msg = apply(rng, kind, &msg);
    }
    (KINDS[kind], msg)
}

fn apply(rng: &mut Rng, kind: usize, msg: &[u8]) -> Vec<u8> {
    let mut out = msg.to_vec();
    if out.is_empty() {
        return out;
    }
    match kind {
        0 => {
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(out.len());
                out[at] ^= 1 << rng.below(8);
            }
        }
        1 => out.truncate(rng.below(out.len())),
        2 | 3 => {
            let lines = header_lines(&out);
            if let Some(&(start, end)) = (!lines.is_empty()).then(|| rng.pick(&lines)) {
                let line = out[start..end].to_vec();
                if kind == 2 {
                    let copies = if rng.below(4) == 0 { 50 } else { 1 };
                    for _ in 0..copies {
                        out.splice(end..end, line.iter().copied());
                    }
                } else {
                    out.drain(start..end);
                }
            }
        }
        4 => {
            let lines = header_lines(&out);
            if let Some(&(_, end)) = (!lines.is_empty()).then(|| rng.pick(&lines)) {
                let size = *rng.pick(&[300usize, 5_000, 30_000, 60_000]);
                let filler = *rng.pick(&[&b"a"[..], b"x@y;", b"<sip:a@b>,", b" "]);
                let huge: Vec<u8> = filler.iter().copied().cycle().take(size).collect();
                // Inside the value, before its CRLF.
                out.splice(end - 2..end - 2, huge);
            }
        }
        5 => {
            let at = value_position(rng, &out);
            let what = *rng.pick(&[
                &b"\r"[..],
                b"\n",
                b"\r\n",
                b"\r\nX-Injected: yes",
                b"\r\n\r\n",
                b"\n\r\n",
            ]);
            out.splice(at..at, what.iter().copied());
        }
        6 => {
            let at = value_position(rng, &out);
            let what = *rng.pick(BREAKERS);
            out.splice(at..at, what.iter().copied());
        }
        _ => {}
    }
    out
}

/// `(start, end)` of each header line (CRLF included), start line and body excluded.
fn header_lines(msg: &[u8]) -> Vec<(usize, usize)> {
    let head_end = msg
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 2)
        .unwrap_or(msg.len());
    let mut lines = Vec::new();
    let mut start = match msg.windows(2).position(|w| w == b"\r\n") {
        Some(p) => p + 2,
        None => return lines,
    };
    while start < head_end {
        let Some(len) = msg[start..head_end].windows(2).position(|w| w == b"\r\n") else {
            break;
        };
        lines.push((start, start + len + 2));
        start += len + 2;
    }
    lines
}

/// A position inside some header value (or anywhere when there is no header).
fn value_position(rng: &mut Rng, msg: &[u8]) -> usize {
    let lines = header_lines(msg);
    if lines.is_empty() {
        return rng.below(msg.len() + 1);
    }
    let &(start, end) = rng.pick(&lines);
    let colon = msg[start..end]
        .iter()
        .position(|&b| b == b':')
        .map_or(start, |c| start + c + 1);
    colon + rng.below(end - 2 - colon + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_skip_start_line_and_body() {
        let msg = b"OPTIONS sip:x SIP/2.0\r\nA: 1\r\nB: 2\r\n\r\nbody";
        let lines = header_lines(msg);
        assert_eq!(lines.len(), 2);
        assert_eq!(&msg[lines[0].0..lines[0].1], b"A: 1\r\n");
    }
}
