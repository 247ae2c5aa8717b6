//! Sealed profiles: every writer stores the sha256 of the canonical content,
//! every reader verifies it, and a corrupted byte is a typed error naming the
//! file; unsealed files (written before seals) still load.

mod common;

use aurora_router::profile::{Profile, ProfileError, ProfileFile};
use aurora_router::route::{RouteError, Router};
use common::root;

fn shipped_bytes() -> Vec<u8> {
    std::fs::read(root().join("profiles/mmlu_pro-minilm.json")).unwrap()
}

/// The shipped profile as the SDK writes it today: sealed.
fn sealed() -> String {
    let file = ProfileFile::from_json_ignoring_seal(&shipped_bytes()).unwrap();
    String::from_utf8(file.to_json()).unwrap()
}

fn is_seal_error(bytes: &[u8]) -> bool {
    matches!(
        Router::from_json(bytes),
        Err(RouteError::Profile(ProfileError::Seal { .. }))
    )
}

#[test]
fn sealed_files_load_and_round_trip() {
    let text = sealed();
    assert!(text.contains(",\"seal\":{\"sha256\":\""), "sealed on write");
    let file = ProfileFile::from_json(text.as_bytes()).unwrap();
    assert_eq!(file.to_json(), text.as_bytes(), "read -> write is stable");
    let p = file.require::<Profile>().unwrap();
    // Profile::to_json goes through the container: sealed too.
    let again = p.to_json();
    assert!(ProfileFile::stored_seal(&again).unwrap().is_some());
    assert_eq!(Profile::from_json(&again).unwrap(), p);
    Router::from_json(text.as_bytes()).unwrap();
}

#[test]
fn a_flipped_byte_in_a_base64_centroid_is_rejected() {
    let text = sealed();
    let at = text.find("\"data\":\"").unwrap() + "\"data\":\"".len() + 10;
    let mut bytes = text.clone().into_bytes();
    // Another valid base64 digit: the file still parses, the values change.
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    assert!(is_seal_error(&bytes));
    // Unsealed, the same corruption is accepted: what seals are for.
    let unsealed = common::unseal(&bytes);
    assert!(Router::from_json(&unsealed).is_ok());
}

#[test]
fn an_edited_error_rate_is_rejected() {
    let text = sealed();
    let start = text.find("\"llm_profiles\":{").unwrap();
    let digit = start
        + text[start..]
            .find(|c: char| c.is_ascii_digit() && c != '0')
            .unwrap();
    let mut bytes = text.into_bytes();
    bytes[digit] = if bytes[digit] == b'1' { b'2' } else { b'1' };
    assert!(is_seal_error(&bytes));
}

#[test]
fn unsealed_files_still_load() {
    // The committed format-2 fixture and the broken-profile corpus predate
    // seals.
    Router::from_path(root().join("tests/fixtures/profile-v2/mmlu_pro-minilm.json")).unwrap();
    let unsealed = common::unseal(sealed().as_bytes());
    assert_eq!(ProfileFile::stored_seal(&unsealed).unwrap(), None);
    Router::from_json(&unsealed).unwrap();
}

#[test]
fn the_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt-download.json");
    let text = sealed().replacen("\"cluster_sizes\":[", "\"cluster_sizes\":[1", 1);
    std::fs::write(&path, text).unwrap();
    let err = Router::from_path(&path).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("corrupt-download.json"), "{msg}");
    assert!(msg.contains("seal"), "{msg}");
    assert!(matches!(
        ProfileFile::read(&path),
        Err(ProfileError::Seal { file, .. }) if file.ends_with("corrupt-download.json")
    ));
}

#[test]
fn every_section_writer_seals() {
    use aurora_router::templates::{Template, TemplatesSection};
    let mut t = TemplatesSection::new("m");
    t.templates.push(Template::new("a", "b", 1));
    let bytes = t.to_file_json().unwrap();
    assert!(ProfileFile::stored_seal(&bytes).unwrap().is_some());
    assert_eq!(TemplatesSection::from_file_json(&bytes).unwrap(), t);
    let bad = String::from_utf8(bytes).unwrap().replace("\"a\"", "\"c\"");
    assert!(matches!(
        TemplatesSection::from_file_json(bad.as_bytes()),
        Err(aurora_router::templates::TemplateError::Profile(
            ProfileError::Seal { .. }
        ))
    ));
}

/// The file-size cap: bytes, files and devices larger than
/// `MAX_FILE_BYTES` are refused without being read whole.
#[test]
fn oversized_files_are_refused() {
    use aurora_router::profile::MAX_FILE_BYTES;
    let big = vec![b' '; MAX_FILE_BYTES + 1];
    assert!(matches!(
        ProfileFile::from_json(&big),
        Err(ProfileError::Invalid { ref reason, .. }) if reason.contains("limit")
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(MAX_FILE_BYTES as u64 + 1).unwrap(); // sparse
    let err = ProfileFile::read(&path).unwrap_err().to_string();
    assert!(err.contains("huge.json") && err.contains("limit"), "{err}");
    if std::path::Path::new("/dev/zero").exists() {
        let err = ProfileFile::read("/dev/zero").unwrap_err().to_string();
        assert!(err.contains("limit"), "{err}");
    }
}
