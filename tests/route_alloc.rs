//! `route_embedding` allocates nothing on the hot path: hard assignment,
//! soft assignment with ≤ 16 models, allowed subsets of ≤ 128 models (by
//! index or by name), confidence fallback.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use aurora_router::route::{RouteOptions, Router};
use common::route::*;

/// Counts allocations made by the current thread.
struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|a| a.set(a.get() + 1));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

#[test]
fn routing_does_not_allocate() {
    // The counter works.
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8; 3]))), 1);
    let router = Router::from_profile(random_profile(16, 384, 12, 1)).unwrap();
    let mut rng = Rng(2);
    let queries: Vec<Vec<f32>> = (0..64)
        .map(|_| (0..384).map(|_| rng.normal()).collect())
        .collect();
    let options = [
        RouteOptions::default(),
        RouteOptions::builder()
            .cost_preference(0.6)
            .check()
            .unwrap(),
        RouteOptions::builder()
            .cost_preference(1.0)
            .check()
            .unwrap(),
        RouteOptions::builder().soft(3).check().unwrap(),
        RouteOptions::builder()
            .soft(16)
            .temperature(0.5)
            .check()
            .unwrap(),
        RouteOptions::builder()
            .allowed_models([1usize, 4, 7])
            .check()
            .unwrap(),
        RouteOptions::builder()
            .allowed_models(["model-2", "model-11"])
            .fallback_model("model-2")
            .check()
            .unwrap(),
        RouteOptions::builder().min_confidence(1.0).check().unwrap(),
        RouteOptions::builder()
            .min_similarity(0.99)
            .soft(2)
            .check()
            .unwrap(),
    ];
    for o in &options {
        let n = allocations(|| {
            for q in &queries {
                let d = router.route_embedding(q, o).unwrap();
                std::hint::black_box((d.model_index(), d.expected_errors()[0], d.confidence()));
            }
        });
        assert_eq!(n, 0, "{o:?}");
    }
    // The slow path (norm outside f32's comfortable range) does not either.
    let huge = vec![1e30f32; 384];
    assert_eq!(
        allocations(|| drop(router.route_embedding(&huge, &options[0]).unwrap())),
        0
    );
}
