//! Record boxes kept for the async spans each thread starts: no allocation in the steady state
//! (see `guard::Inline`).

use std::cell::RefCell;
use std::mem::MaybeUninit;

use crate::record::Record;

/// Boxes a thread keeps at most (68 KiB); a span ending on a thread whose pool is full frees
/// its box.
const KEPT: usize = 256;

thread_local! {
    // Boxes, not records: each one is handed to a span whole and comes back whole.
    #[allow(clippy::vec_box)]
    static POOL: RefCell<Vec<Box<MaybeUninit<Record>>>> = const { RefCell::new(Vec::new()) };
}

/// A box from this thread's pool, or a new one.
#[inline(never)]
pub(crate) fn take() -> Box<MaybeUninit<Record>> {
    POOL.try_with(|pool| pool.try_borrow_mut().ok()?.pop()).ok().flatten().unwrap_or_else(Box::new_uninit)
}

/// Gives `record` (holding nothing) back to this thread's pool, or frees it.
#[inline(never)]
pub(crate) fn put(record: Box<MaybeUninit<Record>>) {
    let mut record = Some(record);
    let _ = POOL.try_with(|pool| {
        if let Ok(mut pool) = pool.try_borrow_mut()
            && pool.len() < KEPT
        {
            pool.extend(record.take());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_given_back_is_taken_again_and_the_pool_stays_bounded() {
        let first = take();
        let address = std::ptr::from_ref(&*first).addr();
        put(first);
        let again = take();
        assert_eq!(std::ptr::from_ref(&*again).addr(), address, "the box given back is reused");
        let many: Vec<_> = std::iter::once(again).chain((0..KEPT + 10).map(|_| take())).collect();
        for record in many {
            put(record);
        }
        assert_eq!(POOL.with(|pool| pool.borrow().len()), KEPT, "the pool keeps at most KEPT boxes");
    }
}
