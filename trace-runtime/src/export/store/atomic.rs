//! Writing a file so that no reader, and no killed process, ever leaves a partial one; and the
//! owner-only directory it goes in.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::StoreError;

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// How much a write must survive.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// Whole after the process is killed: atomic rename, no fsync.
    ProcessCrash,
    /// Also after the machine stops: the data is fsynced before the rename.
    PowerLoss,
}

/// Writes `bytes` under the first free name of `names` in `dir` (the last one is replaced if
/// all are taken, or when `replace`), atomically: a temporary file in the same directory, owner
/// read/write only, synced for [`Durability::PowerLoss`], then linked or renamed into place. A
/// reader sees the whole file or none of it.
pub(crate) fn write_atomic(
    dir: &Path,
    names: &[String],
    bytes: &[u8],
    replace: bool,
    durability: Durability,
) -> std::io::Result<PathBuf> {
    let seq = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!(
        ".{}.{}.{seq}.tmp",
        names.first().map_or("trace", String::as_str),
        std::process::id()
    ));
    let result = write_then_publish(&temp, dir, names, bytes, replace, durability);
    if result.is_err() || !replace {
        let _ = std::fs::remove_file(&temp);
    }
    if result.is_ok() {
        sync_dir(dir, durability);
    }
    result
}

fn write_then_publish(
    temp: &Path,
    dir: &Path,
    names: &[String],
    bytes: &[u8],
    replace: bool,
    durability: Durability,
) -> std::io::Result<PathBuf> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(temp)?;
    file.write_all(bytes)?;
    if durability == Durability::PowerLoss {
        file.sync_all()?;
    }
    drop(file);
    let last = names.last().map_or_else(|| dir.join("trace.json"), |n| dir.join(n));
    if !replace {
        for name in names {
            let target = dir.join(name);
            // A hard link fails when the name is taken, where a rename would replace the file.
            match std::fs::hard_link(temp, &target) {
                Ok(()) => return Ok(target),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                // No hard links on this file system: a rename, if the name looks free.
                Err(_) if !target.exists() => {
                    std::fs::rename(temp, &target)?;
                    return Ok(target);
                }
                Err(_) => continue,
            }
        }
    }
    std::fs::rename(temp, &last)?;
    Ok(last)
}

/// After a link or rename: the new directory entry itself must reach the disk, or a power loss
/// can leave the directory without the file whose data was synced. (Unix only: a directory
/// cannot be opened as a file on Windows, where the rename is journaled by NTFS.)
fn sync_dir(dir: &Path, durability: Durability) {
    #[cfg(unix)]
    if durability == Durability::PowerLoss
        && let Ok(handle) = std::fs::File::open(dir)
    {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = (dir, durability);
}

/// Creates `dir` (owner-only on unix) and checks that a file can be written there.
pub(crate) fn prepare_dir(dir: &Path) -> Result<PathBuf, StoreError> {
    let fail = |source| StoreError::Directory { path: dir.to_path_buf(), source };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(fail)?;
    let probe =
        dir.join(format!(".probe.{}.{}.tmp", std::process::id(), TEMP_SEQ.fetch_add(1, Ordering::Relaxed)));
    std::fs::OpenOptions::new().write(true).create_new(true).open(&probe).map_err(fail)?;
    let _ = std::fs::remove_file(&probe);
    let absolute = std::fs::canonicalize(dir).map_err(fail)?;
    Ok(absolute)
}

/// Removes the temporary files writers killed mid-write left in `dir`: those of a process that no
/// longer runs (where that cannot be told, those older than an hour), never this process's own.
/// Returns how many went; a file that cannot be removed is left for the next start.
pub(crate) fn remove_stale_temps(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_writer) else { continue };
        if pid != std::process::id()
            && !still_writing(pid, &entry)
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// The process id in a temporary file's name, `.{name}.{pid}.{seq}.tmp`.
fn temp_writer(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (rest, seq) = rest.rsplit_once('.')?;
    let (_, pid) = rest.rsplit_once('.')?;
    seq.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Whether process `pid` may still be writing `entry`.
fn still_writing(pid: u32, entry: &std::fs::DirEntry) -> bool {
    if cfg!(target_os = "linux") {
        return Path::new("/proc").join(pid.to_string()).exists();
    }
    let hour_ago = std::time::SystemTime::now().checked_sub(std::time::Duration::from_secs(3600));
    match (entry.metadata().and_then(|m| m.modified()), hour_ago) {
        (Ok(modified), Some(hour_ago)) => modified > hour_ago,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_writers_temporary_files_go_and_live_ones_stay() {
        let dir = std::env::temp_dir().join(format!("store-stale-{}", std::process::id()));
        let dir = prepare_dir(&dir).unwrap();
        // No process has this id (above Linux's largest pid_max).
        let dead = dir.join(".trace_20250101_000000_abcd.json.4194999.7.tmp");
        let own = dir.join(format!(".trace_x.json.{}.1.tmp", std::process::id()));
        let live = dir.join(".trace_y.json.1.3.tmp"); // init: always running
        let other = dir.join("notes.4194999.7.tmp");
        for path in [&dead, &own, &live, &other] {
            std::fs::write(path, b"{").unwrap();
        }
        assert_eq!(remove_stale_temps(&dir), 1);
        assert!(!dead.exists());
        assert!(own.exists() && live.exists() && other.exists());
        assert_eq!(temp_writer(".a.b.json.12.0.tmp"), Some(12));
        assert_eq!(temp_writer(".a.json.tmp"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn atomic_writes_never_replace_unless_asked() {
        let dir = std::env::temp_dir().join(format!("store-atomic-{}", std::process::id()));
        let dir = prepare_dir(&dir).unwrap();
        let names = ["a.json".to_string(), "b.json".to_string()];
        assert_eq!(
            write_atomic(&dir, &names, b"1", false, Durability::PowerLoss).unwrap(),
            dir.join("a.json")
        );
        assert_eq!(
            write_atomic(&dir, &names, b"2", false, Durability::ProcessCrash).unwrap(),
            dir.join("b.json")
        );
        assert_eq!(
            write_atomic(&dir, &names[..1], b"3", true, Durability::PowerLoss).unwrap(),
            dir.join("a.json")
        );
        assert_eq!(std::fs::read(dir.join("a.json")).unwrap(), b"3");
        assert_eq!(std::fs::read(dir.join("b.json")).unwrap(), b"2");
        let leftovers = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".tmp"));
        assert_eq!(leftovers.count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
