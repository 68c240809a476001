//! `--sort-keys`: objects are formatted member by member into the output
//! buffer, then their members are reordered by key when the object closes.
//! Only the object being sorted (with what it contains) is held in memory.

use std::ops::Range;

use super::out::Out;

/// Open sorted objects, innermost last.
#[derive(Default)]
pub struct Sorter {
    frames: Vec<Frame>,
    members: Vec<Member>,
    /// Decoded keys of the open objects' members, end to end.
    keys: Vec<u8>,
    scratch: Vec<u8>,
}

struct Frame {
    first_member: usize,
    keys_start: usize,
}

struct Member {
    /// Where the member (its newline and indent included) starts in the output.
    start: usize,
    key: Range<usize>,
}

impl Sorter {
    /// Whether any sorted object is open: then the output buffer must not
    /// be flushed, as its offsets are recorded here.
    pub fn is_open(&self) -> bool {
        !self.frames.is_empty()
    }

    /// An object opens; its first member starts at `at`.
    pub fn open(&mut self, at: usize) {
        self.frames.push(Frame {
            first_member: self.members.len(),
            keys_start: self.keys.len(),
        });
        self.member(at);
    }

    /// The next member of the innermost object starts at `at`.
    pub fn member(&mut self, at: usize) {
        let k = self.keys.len();
        self.members.push(Member {
            start: at,
            key: k..k,
        });
    }

    /// Records the key of the latest member, given as the raw text between
    /// its quotes (escapes are decoded so `"\u00e9"` and `"é"` sort alike).
    pub fn key(&mut self, raw: &[u8]) {
        let start = self.keys.len();
        unescape(raw, &mut self.keys);
        let end = self.keys.len();
        if let Some(m) = self.members.last_mut() {
            m.key = start..end;
        }
    }

    /// Closes the innermost object: rewrites its members in `out` in key
    /// order (stable, so duplicate keys keep their order), joined by `comma`.
    pub fn close(&mut self, out: &mut Out, comma: &[u8]) {
        let frame = self.frames.pop().expect("close matches an open");
        let base = self.members[frame.first_member].start;
        self.scratch.clear();
        self.scratch.extend_from_slice(&out.as_slice()[base..]);
        let end = out.len();
        out.truncate(base);
        let members = &mut self.members[frame.first_member..];
        // Each member runs to the next one's start, in input order.
        let mut spans: Vec<(Range<usize>, Range<usize>)> = members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let stop = members.get(i + 1).map_or(end, |n| n.start);
                (m.key.clone(), m.start - base..stop - base)
            })
            .collect();
        let keys = &self.keys;
        spans.sort_by(|a, b| keys[a.0.clone()].cmp(&keys[b.0.clone()]));
        for (i, (_, span)) in spans.into_iter().enumerate() {
            if i > 0 {
                out.extend(comma);
            }
            out.extend(&self.scratch[span]);
        }
        self.members.truncate(frame.first_member);
        self.keys.truncate(frame.keys_start);
    }
}

/// Decodes the escapes of validated JSON string text. Lone surrogates are
/// kept in the generalised UTF-8 form so they still sort by code point.
fn unescape(raw: &[u8], dst: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'\\' {
            let run = memchr::memchr(b'\\', &raw[i..]).unwrap_or(raw.len() - i);
            dst.extend_from_slice(&raw[i..i + run]);
            i += run;
            continue;
        }
        let decoded = match raw[i + 1] {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let mut cp = hex4(&raw[i + 2..i + 6]);
                i += 6;
                if (0xD800..0xDC00).contains(&cp) && raw[i..].starts_with(b"\\u") {
                    let low = hex4(&raw[i + 2..i + 6]);
                    if (0xDC00..0xE000).contains(&low) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                        i += 6;
                    }
                }
                push_code_point(cp, dst);
                continue;
            }
            other => other, // \" \\ \/
        };
        dst.push(decoded);
        i += 2;
    }
}

fn hex4(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |acc, &d| {
        acc * 16 + (d as char).to_digit(16).unwrap_or(0)
    })
}

fn push_code_point(cp: u32, dst: &mut Vec<u8>) {
    match char::from_u32(cp) {
        Some(c) => dst.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        None => dst.extend_from_slice(&[
            0xE0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn unescapes() {
        let mut out = Vec::new();
        unescape(br#"a\n\u00e9\ud83d\ude00\/"#, &mut out);
        assert_eq!(out, "a\né😀/".as_bytes());
    }
}
