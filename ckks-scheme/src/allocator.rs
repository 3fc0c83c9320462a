//! The global allocator CKKS programs should install (feature `mimalloc`).
//!
//! Every key switch at `N = 2^16` allocates and frees buffers of tens of MB (a top-level
//! ciphertext is 29 limbs x 2 x 512 KB). glibc returns blocks above its mmap threshold to the
//! OS on free, and mimalloc (v3, what the `mimalloc` crate builds) returns ("purges") pages that
//! stayed free for 1 s; either way a later operation page-faults every 4 KB back in and the
//! kernel zeroes it. Measured on one thread: a bootstrapping at `N = 2^15` had 164 k minor
//! faults with mimalloc's default and 4 k with purging off (21.7 -> 19.4 s); at `N = 2^16`
//! 491 k and 8 k (57.2 -> 47.6-52.0 s; docs/BENCHMARKS.md).
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: ckks_scheme::allocator::MiMalloc = ckks_scheme::allocator::MiMalloc;
//!
//! fn main() {
//!     ckks_scheme::allocator::keep_freed_memory();
//!     // ...
//! }
//! ```
//!
//! The cost: freed memory stays with the process (reused by later allocations) instead of
//! going back to the OS, so the resident size stays at its high-water mark.

pub use mimalloc::MiMalloc;

/// `mi_option_purge_delay` in `mimalloc.h` (the same index in mimalloc v2 and v3); the Rust
/// bindings do not name it. A test checks it reads mimalloc v3's default of 1000 ms.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tells mimalloc never to return freed pages to the OS (`purge_delay = -1`), so that the
/// buffers of one operation are reused by the next without page faults. Call it at the start
/// of `main`; it affects mimalloc only (with another global allocator it changes nothing).
pub fn keep_freed_memory() {
    // SAFETY: `mi_option_set` takes any option index and value; it only stores the value.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

/// mimalloc's current purge delay in milliseconds (`-1`: never purge).
pub fn purge_delay_ms() -> core::ffi::c_long {
    // SAFETY: reading an option has no precondition.
    unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option index is right if it reads mimalloc v3's default purge delay (1000 ms,
    /// `src/options.c`) before it is set, and -1 after.
    #[test]
    fn purge_delay_is_the_option_we_set() {
        assert_eq!(purge_delay_ms(), 1000, "index 15 is not mi_option_purge_delay in this mimalloc");
        keep_freed_memory();
        assert_eq!(purge_delay_ms(), -1);
    }
}
