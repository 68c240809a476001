//! Files written where others may write (output directories, temp dirs):
//! created with `O_CREAT|O_EXCL|O_NOFOLLOW` under a random name, so a link
//! planted at a predictable name is never followed and a file planted at
//! one never reused; written, fsynced, then renamed over the target, so a
//! reader sees the old file or the whole new one. Also the spool that
//! holds a host's output past a small size on disk instead of in memory.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::ssh::session::plain_error;

/// A random name part: 12 characters from [a-z0-9].
fn random_name() -> String {
    let mut bytes = [0u8; 12];
    // getrandom fails only without any entropy source; fall back to the
    // clock and pid, which O_EXCL still makes safe (just guessable).
    if getrandom::getrandom(&mut bytes).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64
            ^ ((std::process::id() as u64) << 32);
        bytes[..8].copy_from_slice(&t.to_le_bytes());
    }
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    bytes
        .iter()
        .map(|b| CHARS[*b as usize % CHARS.len()] as char)
        .collect()
}

/// Creates a new file in `dir` that nobody else could have prepared.
fn create_exclusive(dir: &Path, prefix: &str, mode: u32) -> io::Result<(File, PathBuf)> {
    // Keep the temporary name within NAME_MAX (255) whatever the target's.
    let mut cut = prefix.len().min(100);
    while !prefix.is_char_boundary(cut) {
        cut -= 1;
    }
    let prefix = &prefix[..cut];
    for _ in 0..16 {
        let path = dir.join(format!(".{prefix}.{}.tmp", random_name()));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
        {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temporary name",
    ))
}

/// Whether `name` can be a file name in a directory we write to: not
/// empty, not `.` or `..`, no `/` or NUL. (Any other bytes are fine: a
/// file name need not be UTF-8.)
pub fn safe_name(name: impl AsRef<std::ffi::OsStr>) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let name = name.as_ref().as_bytes();
    !name.is_empty() && name != b"." && name != b".." && !name.contains(&b'/') && !name.contains(&0)
}

/// A file being written to a temporary name beside its target; `commit`
/// puts it in place, dropping it without commit removes it.
pub struct AtomicFile {
    file: Option<File>,
    tmp: PathBuf,
    target: PathBuf,
}

impl AtomicFile {
    /// Starts writing `dir/name` (mode 0644, as the user's umask allows).
    pub fn create(dir: &Path, name: impl AsRef<std::ffi::OsStr>) -> io::Result<AtomicFile> {
        let name = name.as_ref();
        if !safe_name(name) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("'{}' is not a safe file name", name.to_string_lossy()),
            ));
        }
        // The temporary's name only needs to say whose it is.
        let (file, tmp) = create_exclusive(dir, &name.to_string_lossy(), 0o644)?;
        Ok(AtomicFile {
            file: Some(file),
            tmp,
            target: dir.join(name),
        })
    }

    /// Starts writing `path` (its directory must exist).
    pub fn create_path(path: &Path) -> io::Result<AtomicFile> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
        let (file, tmp) = create_exclusive(dir, name, 0o644)?;
        Ok(AtomicFile {
            file: Some(file),
            tmp,
            target: path.to_path_buf(),
        })
    }

    /// Gives the new file `mode`'s permission bits, and (as root, where
    /// they differ) the owner and group, of the file it will replace.
    pub fn keep_attributes(&self, mode: u32, uid: u32, gid: u32) -> io::Result<()> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let Some(file) = &self.file else {
            return Ok(());
        };
        let now = file.metadata()?;
        if (now.uid(), now.gid()) != (uid, gid) {
            // Only root may give a file away; others keep their own.
            let _ = std::os::unix::fs::fchown(file, Some(uid), Some(gid));
        }
        file.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes to disk and renames to `name` beside the target instead
    /// (`HOST.partial` for output that was cut off).
    pub fn commit_as(mut self, name: &str) -> io::Result<PathBuf> {
        if let Some(dir) = self.target.parent() {
            self.target = dir.join(name);
        }
        self.commit()
    }

    /// Flushes to disk and renames over the target.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        if let Some(file) = self.file.take() {
            file.sync_all()?;
        }
        std::fs::rename(&self.tmp, &self.target)?;
        self.tmp = PathBuf::new();
        Ok(self.target.clone())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes a whole small file atomically.
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create_path(path)?;
    f.write_all(bytes)?;
    f.commit().map(|_| ())
}

/// Checks, before anything runs, that files can be written in `dir`
/// (creating it): a problem found after the hosts ran would lose output.
pub fn check_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| {
        format!(
            "{}: cannot create directory: {}",
            dir.display(),
            plain_error(&e)
        )
    })?;
    let (_, tmp) = create_exclusive(dir, "check", 0o600).map_err(|e| {
        format!(
            "{}: cannot write files there: {}",
            dir.display(),
            plain_error(&e)
        )
    })?;
    let _ = std::fs::remove_file(tmp);
    Ok(())
}

/// Checks that `path` can be replaced (its directory is writable, and it
/// is not a directory).
pub fn check_file(path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!("{}: is a directory", path.display()));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let (_, tmp) = create_exclusive(dir, "check", 0o600).map_err(|e| {
        format!(
            "{}: cannot write there: {}",
            path.display(),
            plain_error(&e)
        )
    })?;
    let _ = std::fs::remove_file(tmp);
    Ok(())
}

/// Bytes kept in memory up to a size, then in an unlinked temporary file:
/// a host's output for `--inline` and `--gather` costs memory only up to
/// [`Spool::MEMORY`], whatever its size.
#[derive(Debug, Default)]
pub struct Spool {
    memory: Vec<u8>,
    file: Option<File>,
    len: u64,
    /// Why the spool could not go to disk (then the rest is dropped).
    pub error: Option<String>,
}

impl Spool {
    /// What a spool holds in memory before it moves to disk.
    pub const MEMORY: usize = 64 * 1024;

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if self.file.is_none() && self.memory.len() + bytes.len() <= Spool::MEMORY {
            self.memory.extend_from_slice(bytes);
            self.len += bytes.len() as u64;
            return;
        }
        if self.file.is_none() {
            match create_exclusive(&std::env::temp_dir(), "fleetkit-spool", 0o600) {
                Ok((mut f, path)) => {
                    let _ = std::fs::remove_file(&path);
                    if let Err(e) = f.write_all(&self.memory) {
                        self.error = Some(plain_error(&e));
                        return;
                    }
                    self.memory = Vec::new();
                    self.file = Some(f);
                }
                Err(e) => {
                    self.error = Some(format!(
                        "cannot spool output to {}: {}",
                        std::env::temp_dir().display(),
                        plain_error(&e)
                    ));
                    return;
                }
            }
        }
        if let Some(f) = &mut self.file {
            match f.write_all(bytes) {
                Ok(()) => self.len += bytes.len() as u64,
                Err(e) => self.error = Some(format!("spooling output: {}", plain_error(&e))),
            }
        }
    }

    /// Copies everything to `w`; returns whether it ended with a newline.
    pub fn copy_to(&mut self, w: &mut dyn Write) -> io::Result<bool> {
        let mut last = None;
        match &mut self.file {
            None => {
                w.write_all(&self.memory)?;
                last = self.memory.last().copied();
            }
            Some(f) => {
                f.rewind()?;
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = f.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    w.write_all(&buf[..n])?;
                    last = Some(buf[n - 1]);
                }
            }
        }
        Ok(last.is_none_or(|b| b == b'\n'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_link_is_not_followed_and_the_target_is_replaced() {
        let dir = std::env::temp_dir().join(format!("fleetkit-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("host")).unwrap();
        let mut f = AtomicFile::create(&dir, "host").unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(dir.join("host")).unwrap(), "new");
        assert!(
            !std::fs::symlink_metadata(dir.join("host"))
                .unwrap()
                .is_symlink()
        );
        assert!(AtomicFile::create(&dir, "..").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_spool_moves_to_disk_and_reads_back_whole() {
        let mut s = Spool::default();
        let chunk = vec![b'a'; 10_000];
        for _ in 0..100 {
            s.push(&chunk);
        }
        assert!(s.file.is_some() && s.memory.is_empty());
        let mut out = Vec::new();
        assert!(!s.copy_to(&mut out).unwrap());
        assert_eq!(out.len(), 1_000_000);
    }
}
