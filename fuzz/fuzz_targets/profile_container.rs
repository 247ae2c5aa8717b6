//! The profile container and every section this version knows, from raw
//! file bytes, as `Router::from_json` / `RouteSet::from_json` / … see them.
#![no_main]

use aurora_router::profile::{Profile, ProfileFile};
use aurora_router::routes::RouteSet;
use aurora_router::taxonomy::Taxonomy;
use aurora_router::templates::TemplatesSection;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = ProfileFile::from_json(data) else {
        return;
    };
    // Write → read is the identity on the container (and seals it).
    let bytes = file.to_json();
    let again = ProfileFile::from_json(&bytes).expect("a written container reads back");
    assert_eq!(again, file);
    assert_eq!(again.to_json(), bytes);
    let _ = file.section::<Profile>();
    let _ = file.section::<RouteSet>();
    let _ = file.section::<Taxonomy>();
    let _ = TemplatesSection::from_file(&file);
    if let Ok(r) = aurora_router::route::Router::from_file(&file) {
        let q = vec![0.5f32; r.dim()];
        if let Ok(opts) = r.options().check() {
            let _ = r.route_embedding(&q, &opts);
        }
    }
});
