//! The panic message of a span that ends while unwinding.
//!
//! A guard dropping during a panic cannot see the payload, so a panic hook (installed once, when
//! recording is first enabled, chained to the hook that was there) keeps the message of the
//! thread's latest panic for the spans it unwinds through.
//!
//! The message is kept with the clock tick of its panic. Not every panic runs the hook
//! (`std::panic::resume_unwind` does not, nor does any panic once the application replaced the
//! hook), so the message kept may belong to an earlier panic, caught long ago. A panic that
//! unwinds through a span began while that span was running, so a message recorded before the
//! span started is never its panic's: the span then says "panic" without a message rather than
//! someone else's.

use std::cell::RefCell;
use std::sync::Once;

use crate::record::clock::{self, Tick};

thread_local! {
    static LAST: RefCell<Option<(Tick, String)>> = const { RefCell::new(None) };
}

pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "Box<dyn Any>".to_string());
            let message = match info.location() {
                Some(l) => format!("{message} at {}:{}", l.file(), l.line()),
                None => message,
            };
            let at = clock::now();
            let _ = LAST.try_with(|last| {
                if let Ok(mut last) = last.try_borrow_mut() {
                    *last = Some((at, message));
                }
            });
            previous(info);
        }));
    });
}

/// The message of this thread's latest panic if it happened at or after `since` (the start of the
/// span it unwinds through); it stays for the other spans the panic unwinds.
pub(crate) fn take_message(since: Tick) -> Option<String> {
    LAST.try_with(|last| {
        let last = last.try_borrow().ok()?;
        let (at, message) = last.as_ref()?;
        (*at >= since).then(|| message.clone())
    })
    .ok()
    .flatten()
}
