//! Every rayon use of kale goes through `run`, so that fork does not hang.
//!
//! A process forked after rayon's pools started (a PyTorch DataLoader worker,
//! multiprocessing's default start on Linux) inherits the pools but not their threads:
//! work handed to them waits forever. As tokenizers does, a `pthread_atfork` child hook
//! marks such a child, and there `run` warns once and does the work on one thread of a
//! pool made in that child, never on an inherited one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};

use kale_core::KaleError;
use pyo3::exceptions::PyRuntimeWarning;
use pyo3::prelude::*;

/// Set before the first parallel work: only then has a fork anything to fear.
static USED: AtomicBool = AtomicBool::new(false);
/// Set in a child forked after `USED`; inherited by its own children.
static FORKED: AtomicBool = AtomicBool::new(false);
static WARNED: AtomicBool = AtomicBool::new(false);

const WARNING: &std::ffi::CStr = c"kale: this process was forked after kale had used its threads; \
kale now works on one thread in this process to avoid a deadlock (to keep parallel work, \
fork before using kale or use the 'spawn' start method)";

/// The child side of fork: only an atomic store, as async-signal-safety asks.
extern "C" fn after_fork_in_child() {
    if USED.load(Ordering::SeqCst) {
        FORKED.store(true, Ordering::SeqCst);
    }
}

/// Registers the fork hook once per process (at module import).
pub fn install_fork_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        // SAFETY: the handler is a plain function that only touches atomics.
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_in_child));
        }
    });
}

/// Runs `f`, in which rayon's parallel iterators may be used, on `threads` threads
/// (None: rayon's global pool), or on one fresh thread in a child forked after use.
pub fn run<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> kale_core::Result<T> {
    if FORKED.load(Ordering::SeqCst) {
        warn_once();
        return Ok(child_pool()?.install(f));
    }
    USED.store(true, Ordering::SeqCst);
    match threads {
        Some(n) => Ok(pool(n.max(1))?.install(f)),
        None => Ok(f()),
    }
}

fn warn_once() {
    if !WARNED.swap(true, Ordering::SeqCst) {
        Python::attach(|py| {
            // A filter that turns the warning into an error must not fail the work.
            if let Err(e) = PyErr::warn(py, &py.get_type::<PyRuntimeWarning>(), WARNING, 1) {
                e.write_unraisable(py, None);
            }
        });
    }
}

fn build(threads: usize) -> kale_core::Result<Arc<rayon::ThreadPool>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map(Arc::new)
        .map_err(|e| KaleError::invalid(e.to_string()))
}

/// One pool per thread count, kept: a batch call does not start threads each time, and
/// the pool's threads keep their search scratch (kale_core's per-thread marks).
fn pool(threads: usize) -> kale_core::Result<Arc<rayon::ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| KaleError::invalid("a thread pool panicked"))?;
    if let Some(p) = pools.get(&threads) {
        return Ok(p.clone());
    }
    let p = build(threads)?;
    pools.insert(threads, p.clone());
    Ok(p)
}

/// A one-thread pool made in this very process, kept by process id: a grandchild
/// forked from a child makes its own. The lock is only tried, since a fork may copy
/// it held; then a pool is made for this call alone.
fn child_pool() -> kale_core::Result<Arc<rayon::ThreadPool>> {
    static CHILD: Mutex<Option<(u32, Arc<rayon::ThreadPool>)>> = Mutex::new(None);
    let pid = std::process::id();
    let Ok(mut slot) = CHILD.try_lock() else {
        return build(1);
    };
    match &*slot {
        Some((owner, p)) if *owner == pid => Ok(p.clone()),
        _ => {
            let p = build(1)?;
            // A parent's pool is not dropped: its threads are not here to be told to stop.
            if let Some(stale) = slot.replace((pid, p.clone())) {
                std::mem::forget(stale);
            }
            Ok(p)
        }
    }
}
