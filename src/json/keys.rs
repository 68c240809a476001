//! `--sort-keys`: objects are formatted member by member into the output
//! buffer in input order, and only an index is kept of where each member
//! starts and what its key is. When an object closes its members are
//! sorted by key (within that object: O(k log k) for k members, whatever
//! the depth), and nothing is moved. When the outermost sorted object
//! closes, it is written out once, walking the index: each member in key
//! order, each nested object's members in theirs.
//!
//! Memory: one copy of the outermost object being sorted (the formatted
//! text), its members' decoded keys while their object is open, and about
//! 40 bytes of index per member and per nested object.

use std::io;
use std::ops::Range;

/// Open sorted objects and the index of the closed ones inside them.
#[derive(Default)]
pub struct Sorter {
    /// Open sorted objects, innermost last.
    frames: Vec<Frame>,
    /// Members of the open objects, in input order, frame after frame.
    members: Vec<Member>,
    /// Decoded keys of the open objects' members, end to end.
    keys: Vec<u8>,
    /// Closed objects directly inside the open ones, frame after frame.
    frame_kids: Vec<u32>,
    /// Closed objects, awaiting the outermost one's close.
    nodes: Vec<Node>,
    /// Their members, each node's in its final order.
    spans: Vec<Span>,
    /// The closed objects directly inside each span, in position order.
    kids: Vec<u32>,
}

struct Frame {
    first_member: usize,
    keys_start: usize,
    first_kid: usize,
}

struct Member {
    /// Where the member starts in the output (newline and indent included;
    /// the comma before it is not written until its place is known).
    start: usize,
    key: Range<usize>,
}

/// A closed object: its members' text lies in `start..end` of the output.
struct Node {
    start: usize,
    end: usize,
    spans: Range<u32>,
}

/// One member of a closed object.
struct Span {
    start: usize,
    end: usize,
    kids: Range<u32>,
}

/// A closed object, to be written with [`Sorter::write`].
pub struct Closed {
    node: u32,
    /// Where its text starts in the output (all before it is final).
    pub start: usize,
}

impl Sorter {
    /// Whether any sorted object is open: then output from the start of
    /// the outermost one must stay in the buffer.
    pub fn is_open(&self) -> bool {
        !self.frames.is_empty()
    }

    /// An object opens; its first member starts at `at`.
    pub fn open(&mut self, at: usize) {
        self.frames.push(Frame {
            first_member: self.members.len(),
            keys_start: self.keys.len(),
            first_kid: self.frame_kids.len(),
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

    /// Closes the innermost object, whose last member ends at `end`: its
    /// members are put in key order (stable, so duplicate keys keep their
    /// order), or left in input order when `sort` is false (a document
    /// cut short by an error). Returns the object when it was the
    /// outermost, ready to be written.
    pub fn close(&mut self, end: usize, sort: bool) -> Option<Closed> {
        let frame = self.frames.pop().expect("close matches an open");
        let members = &self.members[frame.first_member..];
        let mut order: Vec<u32> = (0..members.len() as u32).collect();
        if sort {
            let keys = &self.keys;
            order.sort_by(|&a, &b| {
                keys[members[a as usize].key.clone()].cmp(&keys[members[b as usize].key.clone()])
            });
        }
        // Each member's direct children: the closed objects that start
        // within it (both lists are in position order).
        let children = &self.frame_kids[frame.first_kid..];
        let mut bounds = Vec::with_capacity(members.len() + 1);
        let mut c = 0;
        for (i, m) in members.iter().enumerate() {
            let stop = members.get(i + 1).map_or(end, |n| n.start);
            let first = c;
            while c < children.len() && self.nodes[children[c] as usize].start < stop {
                c += 1;
            }
            bounds.push((m.start, stop, first..c));
        }
        let first_span = self.spans.len() as u32;
        for i in order {
            let (start, stop, ref kids) = bounds[i as usize];
            let from = self.kids.len() as u32;
            self.kids.extend_from_slice(&children[kids.clone()]);
            self.spans.push(Span {
                start,
                end: stop,
                kids: from..self.kids.len() as u32,
            });
        }
        let node = self.nodes.len() as u32;
        self.nodes.push(Node {
            start: members[0].start,
            end,
            spans: first_span..self.spans.len() as u32,
        });
        self.members.truncate(frame.first_member);
        self.keys.truncate(frame.keys_start);
        self.frame_kids.truncate(frame.first_kid);
        if self.frames.is_empty() {
            Some(Closed {
                node,
                start: self.nodes[node as usize].start,
            })
        } else {
            self.frame_kids.push(node);
            None
        }
    }

    /// Closes every open object, members in input order (the document
    /// was cut short): the outermost, ready to be written, if any.
    pub fn close_all(&mut self, end: usize) -> Option<Closed> {
        let mut outermost = None;
        while self.is_open() {
            outermost = self.close(end, false);
        }
        outermost
    }

    /// Writes `closed`'s members from `text` (the output buffer) through
    /// `write`, `comma` between members, each nested object's members in
    /// their order; then forgets the index. An explicit stack, so depth
    /// costs memory, not the call stack.
    pub fn write(
        &mut self,
        closed: Closed,
        text: &[u8],
        comma: &[u8],
        mut write: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        enum Task {
            /// The `i`th member of a node, and those after it.
            Node { node: u32, i: u32 },
            /// A span's text from `at`, its kids from the `k`th.
            Span { span: u32, at: usize, k: u32 },
        }
        let mut tasks = vec![Task::Node {
            node: closed.node,
            i: 0,
        }];
        let result = (|| {
            while let Some(task) = tasks.pop() {
                match task {
                    Task::Node { node, i } => {
                        let n = &self.nodes[node as usize];
                        let span = n.spans.start + i;
                        if span < n.spans.end {
                            if i > 0 {
                                write(comma)?;
                            }
                            tasks.push(Task::Node { node, i: i + 1 });
                            let s = &self.spans[span as usize];
                            tasks.push(Task::Span {
                                span,
                                at: s.start,
                                k: s.kids.start,
                            });
                        }
                    }
                    Task::Span { span, at, k } => {
                        let s = &self.spans[span as usize];
                        if k < s.kids.end {
                            let kid = self.kids[k as usize];
                            let child = &self.nodes[kid as usize];
                            write(&text[at..child.start])?;
                            tasks.push(Task::Span {
                                span,
                                at: child.end,
                                k: k + 1,
                            });
                            tasks.push(Task::Node { node: kid, i: 0 });
                        } else {
                            write(&text[at..s.end])?;
                        }
                    }
                }
            }
            Ok(())
        })();
        self.nodes.clear();
        self.spans.clear();
        self.kids.clear();
        result
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
