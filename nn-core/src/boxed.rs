//! Heap construction without a trip through the stack.

use crate::layer::Zeroable;
use alloc::alloc::{Layout, alloc_zeroed, handle_alloc_error};
use alloc::boxed::Box;

/// A `Box<M>` whose bytes are all zero, allocated directly on the heap.
pub(crate) fn zeroed_box<M: Zeroable>() -> Box<M> {
    let layout = Layout::new::<M>();
    if layout.size() == 0 {
        // SAFETY: a dangling, aligned pointer is a valid `Box` of a zero-sized type.
        return unsafe { Box::from_raw(core::ptr::NonNull::<M>::dangling().as_ptr()) };
    }
    // SAFETY: the layout has a non-zero size; `M: Zeroable` makes the zeroed bytes a valid `M`.
    unsafe {
        let ptr = alloc_zeroed(layout).cast::<M>();
        if ptr.is_null() {
            handle_alloc_error(layout);
        }
        Box::from_raw(ptr)
    }
}
