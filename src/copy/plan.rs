//! What an upload sends, worked out once for every host: the local
//! sources walked into entries (directories before what they hold),
//! symlinks inside trees kept as symlinks, special files left out with a
//! warning naming them.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    /// A symlink, with the target it names (as written).
    Symlink(PathBuf),
}

/// One thing to create on each host.
#[derive(Debug)]
pub struct Entry {
    /// Where it goes, relative to the destination (its first component is
    /// the source's own name).
    pub rel: PathBuf,
    /// The local file.
    pub src: PathBuf,
    pub kind: Kind,
    pub size: u64,
    pub mode: u32,
    pub mtime: i64,
    pub atime: i64,
    pub uid: u32,
    pub gid: u32,
    /// The content's SHA-256 in hex, computed once when first asked for.
    digest: OnceLock<Result<String, String>>,
}

impl Entry {
    /// The file's SHA-256, hex (read once, shared by every host).
    pub fn sha256(&self) -> Result<String, String> {
        self.digest.get_or_init(|| sha256_file(&self.src)).clone()
    }
}

/// Everything one upload sends.
#[derive(Debug, Default)]
pub struct Plan {
    pub entries: Vec<Entry>,
    /// How many sources were named (more than one: DEST must be a directory).
    pub sources: usize,
    /// Special files left out, said once.
    pub skipped: Vec<String>,
}

impl Plan {
    /// Walks `sources`; directories need `recursive`.
    pub fn walk(sources: &[PathBuf], recursive: bool) -> Result<Plan, String> {
        let mut plan = Plan {
            sources: sources.len(),
            ..Plan::default()
        };
        let mut names = std::collections::HashSet::new();
        for src in sources {
            // A source named on the command line is followed if it is a
            // link (as cp does); links inside trees are kept.
            let meta = std::fs::metadata(src).map_err(|e| {
                format!(
                    "{}: {}",
                    src.display(),
                    crate::ssh::session::plain_error(&e)
                )
            })?;
            let name = src
                .file_name()
                .map(PathBuf::from)
                .or_else(|| {
                    src.canonicalize()
                        .ok()
                        .and_then(|c| c.file_name().map(PathBuf::from))
                })
                .ok_or_else(|| format!("{}: has no file name to copy to", src.display()))?;
            if !names.insert(name.clone()) {
                return Err(format!(
                    "{}: another source has the name '{}' too: both would land at the same path",
                    src.display(),
                    name.display()
                ));
            }
            if meta.is_dir() {
                if !recursive {
                    return Err(format!(
                        "{}: is a directory (use -r to copy directories)",
                        src.display()
                    ));
                }
                plan.push(src, name.clone(), &meta)?;
                plan.tree(src, &name)?;
            } else if meta.is_file() {
                plan.push(src, name, &meta)?;
            } else {
                return Err(format!(
                    "{}: not a regular file or directory",
                    src.display()
                ));
            }
        }
        Ok(plan)
    }

    fn push(&mut self, src: &Path, rel: PathBuf, meta: &std::fs::Metadata) -> Result<(), String> {
        // An unreadable file is found now, before any host is touched.
        if meta.is_file() {
            std::fs::File::open(src).map_err(|e| {
                format!(
                    "{}: {}",
                    src.display(),
                    crate::ssh::session::plain_error(&e)
                )
            })?;
        }
        let kind = if meta.is_dir() {
            Kind::Dir
        } else if meta.file_type().is_symlink() {
            Kind::Symlink(std::fs::read_link(src).unwrap_or_default())
        } else {
            Kind::File
        };
        self.entries.push(Entry {
            rel,
            src: src.to_path_buf(),
            size: if kind == Kind::File { meta.len() } else { 0 },
            kind,
            mode: meta.mode() & 0o7777,
            mtime: meta.mtime(),
            atime: meta.atime(),
            uid: meta.uid(),
            gid: meta.gid(),
            digest: OnceLock::new(),
        });
        Ok(())
    }

    fn tree(&mut self, dir: &Path, rel: &Path) -> Result<(), String> {
        let read = std::fs::read_dir(dir).map_err(|e| {
            format!(
                "{}: {}",
                dir.display(),
                crate::ssh::session::plain_error(&e)
            )
        })?;
        let mut children: Vec<_> = read.filter_map(Result::ok).collect();
        children.sort_by_key(|e| e.file_name());
        for child in children {
            let path = child.path();
            let meta = std::fs::symlink_metadata(&path).map_err(|e| {
                format!(
                    "{}: {}",
                    path.display(),
                    crate::ssh::session::plain_error(&e)
                )
            })?;
            let child_rel = rel.join(child.file_name());
            let ft = meta.file_type();
            if ft.is_dir() {
                self.push(&path, child_rel.clone(), &meta)?;
                self.tree(&path, &child_rel)?;
            } else if ft.is_file() || ft.is_symlink() {
                self.push(&path, child_rel, &meta)?;
            } else {
                let what = if ft.is_fifo() {
                    "a named pipe"
                } else if ft.is_socket() {
                    "a socket"
                } else {
                    "a device"
                };
                self.skipped
                    .push(format!("{}: skipped, {what}", path.display()));
            }
        }
        Ok(())
    }

    /// Bytes of file content in all.
    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }
}

/// SHA-256 of a file's content, hex.
pub fn sha256_file(path: &Path) -> Result<String, String> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| {
        format!(
            "{}: {}",
            path.display(),
            crate::ssh::session::plain_error(&e)
        )
    })?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(|e| {
            format!(
                "{}: {}",
                path.display(),
                crate::ssh::session::plain_error(&e)
            )
        })?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
