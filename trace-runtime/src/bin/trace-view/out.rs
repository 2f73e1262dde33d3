//! Where the commands write: standard output, where a closed pipe (`| head`) ends the command
//! quietly, and private files (0600, like the store's own).

use std::io::Write;
use std::path::Path;

use super::Failure;

/// Writes `text` to standard output. A reader that went away is [`Failure::Closed`] (exit 0,
/// nothing said); a full disk or another write error is a failure naming it.
pub(crate) fn emit(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure::Closed),
        Err(e) => Err(Failure::Failed(format!("cannot write to standard output: {e}"))),
    }
}

/// `text` and a newline, as [`emit`].
pub(crate) fn line(text: &str) -> Result<(), Failure> {
    emit(&format!("{text}\n"))
}

/// `value` as pretty JSON and a newline, as [`emit`].
pub(crate) fn json(value: &serde_json::Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::Failed(e.to_string()))?;
    line(&text)
}

/// Writes `bytes` to `path`, readable by this user only (0600 on Unix): a trace holds what the
/// store holds, and the store's files are 0600.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(path).and_then(|mut file| {
        // An existing file keeps its mode on open: narrow it too.
        #[cfg(unix)]
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        file.write_all(bytes)
    });
    written.map_err(|e| Failure::Failed(format!("cannot write `{}`: {e}", path.display())))
}
