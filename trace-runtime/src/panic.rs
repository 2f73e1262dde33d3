//! The panic message of a span that ends while unwinding.
//!
//! A guard dropping during a panic cannot see the payload, so a panic hook (installed once, when
//! recording is first enabled, chained to the hook that was there) keeps the message of the
//! thread's latest panic for the spans it unwinds through.

use std::cell::RefCell;
use std::sync::Once;

thread_local! {
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
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
            let _ = LAST.try_with(|last| {
                if let Ok(mut last) = last.try_borrow_mut() {
                    *last = Some(message);
                }
            });
            previous(info);
        }));
    });
}

/// The message of this thread's latest panic; it stays for the other spans the panic unwinds.
pub(crate) fn take_message() -> Option<String> {
    LAST.try_with(|last| last.try_borrow().ok().and_then(|m| m.clone())).ok().flatten()
}
