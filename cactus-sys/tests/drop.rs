//! Dropping a `CactusModel` destroys its handle. This is the only test in
//! this binary (its own process), so no other test changes the process-wide
//! live-handle count while it runs.

use cactus_sys::{CactusModel, MOCK_DEFAULT_MODEL};

#[test]
fn handles_are_freed_on_drop() {
    let Some(before) = cactus_sys::live_handles() else {
        assert!(!cactus_sys::is_mock());
        return;
    };
    assert!(cactus_sys::is_mock());

    let models: Vec<CactusModel> = (0..3)
        .map(|_| CactusModel::open(MOCK_DEFAULT_MODEL).unwrap())
        .collect();
    assert_eq!(cactus_sys::live_handles(), Some(before + 3));

    // A failed open creates no handle.
    assert!(CactusModel::open("mock:0").is_err());
    assert_eq!(cactus_sys::live_handles(), Some(before + 3));

    // Dropping on another thread works too (the model is Send).
    let mut models = models;
    let moved = models.pop().unwrap();
    std::thread::spawn(move || drop(moved)).join().unwrap();
    assert_eq!(cactus_sys::live_handles(), Some(before + 2));

    drop(models);
    assert_eq!(cactus_sys::live_handles(), Some(before));
}
