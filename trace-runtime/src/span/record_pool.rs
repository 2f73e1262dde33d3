//! Boxes each thread keeps for its async spans, records (see `guard::Inline`) and async fns'
//! spans (see `guard::future`): no allocation in the steady state.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::thread::LocalKey;

use crate::record::Record;

/// Boxes a thread keeps at most in each pool (68 KiB of records); a box given back to a full
/// pool is freed.
const KEPT: usize = 256;

/// A thread's boxes of one type, handed out whole and given back whole: no allocation in the
/// steady state. Also the pool of async fns' spans (`guard::future`), which keep their record
/// box while pooled.
pub(crate) struct BoxPool<T>(RefCell<Vec<Box<T>>>);

impl<T> BoxPool<T> {
    pub(crate) const fn new() -> Self {
        BoxPool(RefCell::new(Vec::new()))
    }

    /// A box from this thread's pool `key`, if it has one (none while the thread exits).
    pub(crate) fn pop(key: &'static LocalKey<Self>) -> Option<Box<T>> {
        key.try_with(|pool| pool.0.try_borrow_mut().ok()?.pop()).ok().flatten()
    }

    /// Gives `item` back to this thread's pool `key`, or frees it.
    pub(crate) fn push(key: &'static LocalKey<Self>, item: Box<T>) {
        let mut item = Some(item);
        let _ = key.try_with(|pool| {
            if let Ok(mut pool) = pool.0.try_borrow_mut()
                && pool.len() < KEPT
            {
                pool.extend(item.take());
            }
        });
    }
}

thread_local! {
    static POOL: BoxPool<MaybeUninit<Record>> = const { BoxPool::new() };
}

/// A box from this thread's pool, or a new one.
#[inline(never)]
pub(crate) fn take() -> Box<MaybeUninit<Record>> {
    BoxPool::pop(&POOL).unwrap_or_else(Box::new_uninit)
}

/// Gives `record` (holding nothing) back to this thread's pool, or frees it.
#[inline(never)]
pub(crate) fn put(record: Box<MaybeUninit<Record>>) {
    BoxPool::push(&POOL, record);
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
        assert_eq!(POOL.with(|pool| pool.0.borrow().len()), KEPT, "the pool keeps at most KEPT boxes");
    }
}
