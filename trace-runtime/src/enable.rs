//! The global gate: recording is on while a pipeline is installed or a capture is open.

use std::sync::Mutex;
use std::sync::atomic::Ordering;

use crate::active::ENABLED;

static USERS: Mutex<usize> = Mutex::new(0);

/// One more user of recording (an `init` guard or a capture).
pub(crate) fn acquire() {
    crate::pipeline::shared();
    let mut users = USERS.lock().unwrap_or_else(|p| p.into_inner());
    *users += 1;
    ENABLED.store(true, Ordering::Relaxed);
}

/// One user fewer; recording stops when none is left.
pub(crate) fn release() {
    let mut users = USERS.lock().unwrap_or_else(|p| p.into_inner());
    *users = users.saturating_sub(1);
    ENABLED.store(*users > 0, Ordering::Relaxed);
}
