//! The profile container: the one JSON file an app downloads, made of named
//! top-level *sections* (`router`, `routes`, `taxonomy`, `templates`, …).
//!
//! Each job of the SDK owns one section type, implementing [`Section`]. The
//! container parses a section only when asked for it, and keeps every other
//! section as the raw JSON it read, so a section this version of the code
//! does not know survives read → modify → write byte for byte.
//!
//! Format `3.x` is `{"version": "3.0", "<section>": {…}, …, "seal": {"sha256": "…"}}`.
//! Every file this crate writes is *sealed*: `seal.sha256` is the sha256 of
//! the container's canonical content ([`ProfileFile::canonical_json`]), and
//! every reader verifies it when present, so a corrupted download (a flipped
//! byte in a base64 centroid, an edited error rate) is rejected with
//! [`ProfileError::Seal`]. Files without a seal (written before seals) still
//! load. A format `2.x`
//! file (a router profile written before the container existed, with the
//! router's fields at the top level) reads as a container whose `router`
//! section holds those fields; its other top-level keys are kept as sections.
//!
//! ```
//! use aurora_router::profile::{ProfileFile, Section, ProfileError};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct Greeting { text: String }
//! impl Section for Greeting {
//!     const NAME: &'static str = "greeting";
//!     fn validate(&self) -> Result<(), ProfileError> {
//!         if self.text.is_empty() {
//!             return Err(ProfileError::invalid("greeting.text", "is empty"));
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let mut file = ProfileFile::from_json(br#"{"version":"3.0","x_future":{"a":[1, 2]}}"#).unwrap();
//! file.set_section(&Greeting { text: "hi".into() }).unwrap();
//! let again = ProfileFile::from_json(&file.to_json()).unwrap();
//! assert_eq!(again.section::<Greeting>().unwrap(), Some(Greeting { text: "hi".into() }));
//! // The unknown section is kept as it was written.
//! assert_eq!(again.raw_section("x_future"), Some(r#"{"a":[1, 2]}"#));
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::error::ProfileError;

/// The container format version this crate writes. The reader accepts `3.x`,
/// and `2.x` files (a bare router profile).
pub const CONTAINER_VERSION: &str = "3.0";

/// Largest profile file accepted, so a hostile file cannot exhaust memory.
pub const MAX_FILE_BYTES: usize = 64 << 20;

/// The reserved top-level key holding the seal (never a section name).
pub const SEAL_KEY: &str = "seal";

/// How a reader treats the file's seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SealCheck {
    /// Verify it when present (every loader).
    Verify,
    /// Ignore it (`aurora profile seal` re-sealing a hand-edited file).
    Ignore,
}

/// The top-level keys of a format-2 file that belong to the router section.
const LEGACY_ROUTER_KEYS: &[&str] = &[
    "metadata",
    "cluster_centers",
    "dtype",
    "cluster_sizes",
    "llm_profiles",
    "counts",
    "models",
];

/// One typed section of a profile container.
///
/// A section is stored under the top-level key [`Section::NAME`]. It is
/// (de)serialised with serde and checked with [`Section::validate`] every
/// time it is read from or written into a container.
pub trait Section: Serialize + DeserializeOwned {
    /// The section's top-level key (`router`, `routes`, …).
    const NAME: &'static str;

    /// Checks every invariant a reader of the section relies on. Errors name
    /// the field by its JSON path, starting with [`Section::NAME`].
    fn validate(&self) -> Result<(), ProfileError>;

    /// Parses the section from its raw JSON (without validating it). The
    /// default is serde; a section whose wire form needs decoding (base64
    /// matrices, …) may override it to report typed errors.
    fn from_section_json(raw: &str) -> Result<Self, ProfileError> {
        serde_json::from_str(raw).map_err(|source| ProfileError::Section {
            section: Self::NAME.to_string(),
            source,
        })
    }
}

/// A profile file: a version and named sections, each kept as raw JSON until
/// it is asked for.
#[derive(Debug, Clone)]
pub struct ProfileFile {
    version: String,
    sections: BTreeMap<String, Box<RawValue>>,
}

impl Default for ProfileFile {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for ProfileFile {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version
            && self.sections.len() == other.sections.len()
            && self
                .sections
                .iter()
                .zip(&other.sections)
                .all(|((a, x), (b, y))| a == b && x.get() == y.get())
    }
}

impl ProfileFile {
    /// An empty container of the current version.
    pub fn new() -> Self {
        ProfileFile {
            version: CONTAINER_VERSION.to_string(),
            sections: BTreeMap::new(),
        }
    }

    /// Parses a container (format `3.x`, or a format-`2.x` router profile).
    /// Sections are not parsed here: [`ProfileFile::section`] does that.
    ///
    /// When the file carries a seal, its digest is verified against the
    /// canonical content: a mismatch is [`ProfileError::Seal`] (the file is
    /// corrupted or was edited by hand). A file without a seal loads.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ProfileError> {
        Self::parse(bytes, SealCheck::Verify, None)
    }

    /// Parses a container without verifying its seal (the seal, if any, is
    /// dropped). For tools that re-seal a deliberately edited file
    /// (`aurora profile seal`); loaders use [`ProfileFile::from_json`].
    pub fn from_json_ignoring_seal(bytes: &[u8]) -> Result<Self, ProfileError> {
        Self::parse(bytes, SealCheck::Ignore, None)
    }

    /// Reads a container file without verifying its seal (see
    /// [`ProfileFile::from_json_ignoring_seal`]).
    pub fn read_ignoring_seal(path: impl AsRef<Path>) -> Result<Self, ProfileError> {
        let path = path.as_ref();
        let bytes = read_bytes(path)?;
        Self::parse(&bytes, SealCheck::Ignore, Some(path))
    }

    /// The sha256 stored in the file's seal, without parsing anything else
    /// than the top level; `Ok(None)` for an unsealed file.
    pub fn stored_seal(bytes: &[u8]) -> Result<Option<String>, ProfileError> {
        let mut top: BTreeMap<String, Box<RawValue>> = serde_json::from_slice(bytes)?;
        top.remove(SEAL_KEY).map(|raw| parse_seal(&raw)).transpose()
    }

    fn parse(bytes: &[u8], check: SealCheck, path: Option<&Path>) -> Result<Self, ProfileError> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(ProfileError::invalid(
                "",
                format!(
                    "{} bytes is larger than the {MAX_FILE_BYTES}-byte limit",
                    bytes.len()
                ),
            ));
        }
        let mut top: BTreeMap<String, Box<RawValue>> = serde_json::from_slice(bytes)?;
        let seal = top.remove(SEAL_KEY);
        let version_raw = top
            .remove("version")
            .ok_or_else(|| ProfileError::invalid("version", "is missing"))?;
        let version: String = serde_json::from_str(version_raw.get())
            .map_err(|_| ProfileError::invalid("version", "must be a string"))?;
        let major = version.split('.').next().unwrap_or("");
        let file = match major {
            "3" => ProfileFile {
                version,
                sections: top,
            },
            "2" => {
                // A bare router profile: gather the router's keys into the
                // `router` section, in the order of LEGACY_ROUTER_KEYS.
                let mut router = String::from("{");
                for key in LEGACY_ROUTER_KEYS {
                    if let Some(v) = top.remove(*key) {
                        if router.len() > 1 {
                            router.push(',');
                        }
                        router.push_str(&serde_json::to_string(key)?);
                        router.push(':');
                        router.push_str(v.get());
                    }
                }
                router.push('}');
                top.insert("router".into(), RawValue::from_string(router)?);
                ProfileFile {
                    version: CONTAINER_VERSION.to_string(),
                    sections: top,
                }
            }
            _ => return Err(ProfileError::Version(version)),
        };
        if let (Some(seal), SealCheck::Verify) = (seal, check) {
            let stored = parse_seal(&seal)?;
            let actual = file.digest();
            if stored != actual {
                return Err(ProfileError::Seal {
                    file: path.map_or_else(|| "profile".to_string(), |p| p.display().to_string()),
                    stored,
                    actual,
                });
            }
        }
        Ok(file)
    }

    /// Reads a container file, verifying its seal when present (a mismatch
    /// is [`ProfileError::Seal`] naming the file).
    pub fn read(path: impl AsRef<Path>) -> Result<Self, ProfileError> {
        let path = path.as_ref();
        let bytes = read_bytes(path)?;
        Self::parse(&bytes, SealCheck::Verify, Some(path))
    }

    /// The container's format version (`3.0` for files read from `2.x`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The names of the sections present, known or not, in sorted order.
    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.keys().map(String::as_str)
    }

    /// Whether a section called `name` is present.
    pub fn has_section(&self, name: &str) -> bool {
        self.sections.contains_key(name)
    }

    /// The raw JSON of section `name`, exactly as it was read or set.
    pub fn raw_section(&self, name: &str) -> Option<&str> {
        self.sections.get(name).map(|v| v.get())
    }

    /// Parses and validates section `S`; `Ok(None)` when it is absent.
    pub fn section<S: Section>(&self) -> Result<Option<S>, ProfileError> {
        let Some(raw) = self.sections.get(S::NAME) else {
            return Ok(None);
        };
        let s = S::from_section_json(raw.get())?;
        s.validate()?;
        Ok(Some(s))
    }

    /// Parses and validates section `S`, which must be present.
    pub fn require<S: Section>(&self) -> Result<S, ProfileError> {
        self.section::<S>()?
            .ok_or_else(|| ProfileError::MissingSection(S::NAME.to_string()))
    }

    /// Validates `section` and stores it under [`Section::NAME`], replacing
    /// any section of that name. Other sections are left untouched.
    pub fn set_section<S: Section>(&mut self, section: &S) -> Result<(), ProfileError> {
        section.validate()?;
        let raw = serde_json::value::to_raw_value(section)?;
        self.sections.insert(S::NAME.to_string(), raw);
        Ok(())
    }

    /// Stores `section` without validating it (for writers of in-memory
    /// values that must not fail).
    pub(crate) fn set_section_unchecked<S: Section>(&mut self, section: &S) {
        // Sections are plain data (strings, numbers, maps with string keys).
        let raw = serde_json::value::to_raw_value(section).expect("a section serialises");
        self.sections.insert(S::NAME.to_string(), raw);
    }

    /// Removes section `name`, returning whether it was there.
    pub fn remove_section(&mut self, name: &str) -> bool {
        self.sections.remove(name).is_some()
    }

    /// The canonical content the seal covers: compact JSON
    /// `{"version":<v>,"<name>":<section>,…}` with the sections in
    /// byte-wise name order, each section's JSON exactly as stored (as read
    /// from the file, or as serialised by [`ProfileFile::set_section`]), no
    /// `seal` member and no trailing newline. Whitespace *between* top-level
    /// members does not change it; any change inside a section does.
    pub fn canonical_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            64 + self
                .sections
                .iter()
                .map(|(k, v)| k.len() + v.get().len() + 4)
                .sum::<usize>(),
        );
        out.extend_from_slice(b"{\"version\":");
        out.extend_from_slice(
            serde_json::to_string(&self.version)
                .expect("a string serialises")
                .as_bytes(),
        );
        for (name, raw) in &self.sections {
            out.push(b',');
            out.extend_from_slice(
                serde_json::to_string(name)
                    .expect("a string serialises")
                    .as_bytes(),
            );
            out.push(b':');
            out.extend_from_slice(raw.get().as_bytes());
        }
        out.push(b'}');
        out
    }

    /// The lowercase hex sha256 of [`ProfileFile::canonical_json`]: the
    /// digest [`ProfileFile::to_json`] stores in the seal.
    pub fn digest(&self) -> String {
        hex(&Sha256::digest(self.canonical_json()))
    }

    /// The sealed file: the canonical content with a last member
    /// `"seal":{"sha256":"<digest>"}`; deterministic for equal containers.
    /// Ends with a newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = self.canonical_json();
        let digest = hex(&Sha256::digest(&out));
        out.pop(); // the closing brace
        out.extend_from_slice(b",\"seal\":{\"sha256\":\"");
        out.extend_from_slice(digest.as_bytes());
        out.extend_from_slice(b"\"}}\n");
        out
    }

    /// Writes the container to `path`.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), ProfileError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()).map_err(|source| ProfileError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, ProfileError> {
    use std::io::Read as _;
    let io = |source| ProfileError::Io {
        path: path.display().to_string(),
        source,
    };
    // Never read more than the limit (a hostile file, or a device such as
    // /dev/zero whose reported size is 0).
    let too_big = || {
        ProfileError::invalid(
            "",
            format!(
                "{}: larger than the {MAX_FILE_BYTES}-byte limit",
                path.display()
            ),
        )
    };
    let file = std::fs::File::open(path).map_err(io)?;
    if file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() > MAX_FILE_BYTES as u64)
    {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_big());
    }
    Ok(bytes)
}

/// Parses a seal object: `{"sha256": "<64 lowercase hex digits>"}` (other
/// members are ignored, for future use).
fn parse_seal(raw: &RawValue) -> Result<String, ProfileError> {
    #[derive(serde::Deserialize)]
    struct Seal {
        sha256: Option<serde_json::Value>,
    }
    let seal: Seal = serde_json::from_str(raw.get())
        .map_err(|_| ProfileError::invalid("seal", "must be an object {\"sha256\": \"<hex>\"}"))?;
    match seal.sha256 {
        Some(serde_json::Value::String(s))
            if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Ok(s)
        }
        Some(_) => Err(ProfileError::invalid(
            "seal.sha256",
            "must be 64 lowercase hex digits",
        )),
        None => Err(ProfileError::invalid("seal.sha256", "is missing")),
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Note {
        n: u32,
    }
    impl Section for Note {
        const NAME: &'static str = "note";
        fn validate(&self) -> Result<(), ProfileError> {
            if self.n == 0 {
                return Err(ProfileError::invalid("note.n", "must be > 0"));
            }
            Ok(())
        }
    }

    #[test]
    fn unknown_sections_survive_byte_for_byte() {
        let src = br#"{"version":"3.1","x_future":{"a": [1, 2.50e0]},"note":{"n":3}}"#;
        let mut f = ProfileFile::from_json(src).unwrap();
        assert_eq!(f.version(), "3.1");
        f.set_section(&Note { n: 4 }).unwrap();
        let out = String::from_utf8(f.to_json()).unwrap();
        assert!(out.contains(r#""x_future":{"a": [1, 2.50e0]}"#), "{out}");
        assert_eq!(
            ProfileFile::from_json(out.as_bytes())
                .unwrap()
                .require::<Note>()
                .unwrap(),
            Note { n: 4 }
        );
    }

    #[test]
    fn legacy_files_become_a_router_section() {
        let src = br#"{"version":"2.0","metadata":{"m":1},"models":[],"x_future":{"a":[1,2]}}"#;
        let f = ProfileFile::from_json(src).unwrap();
        assert_eq!(f.version(), CONTAINER_VERSION);
        assert_eq!(
            f.raw_section("router"),
            Some(r#"{"metadata":{"m":1},"models":[]}"#)
        );
        assert_eq!(f.raw_section("x_future"), Some(r#"{"a":[1,2]}"#));
    }

    #[test]
    fn typed_errors() {
        assert!(matches!(
            ProfileFile::from_json(br#"{"version":"9.0"}"#),
            Err(ProfileError::Version(v)) if v == "9.0"
        ));
        assert!(matches!(
            ProfileFile::from_json(br#"{"note":{}}"#),
            Err(ProfileError::Invalid { field, .. }) if field == "version"
        ));
        assert!(matches!(
            ProfileFile::from_json(b"[1]"),
            Err(ProfileError::Json(_))
        ));
        let f = ProfileFile::from_json(br#"{"version":"3.0","note":{"n":0}}"#).unwrap();
        assert!(
            matches!(f.section::<Note>(), Err(ProfileError::Invalid { field, .. }) if field == "note.n")
        );
        let f = ProfileFile::from_json(br#"{"version":"3.0","note":{"n":"x"}}"#).unwrap();
        assert!(
            matches!(f.section::<Note>(), Err(ProfileError::Section { section, .. }) if section == "note")
        );
        assert!(matches!(
            ProfileFile::new().require::<Note>(),
            Err(ProfileError::MissingSection(s)) if s == "note"
        ));
        assert!(ProfileFile::new().set_section(&Note { n: 0 }).is_err());
    }

    #[test]
    fn written_files_are_sealed_and_verify() {
        let mut f = ProfileFile::new();
        f.set_section(&Note { n: 7 }).unwrap();
        let bytes = f.to_json();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let digest = f.digest();
        assert_eq!(
            text,
            format!("{{\"version\":\"3.0\",\"note\":{{\"n\":7}},\"seal\":{{\"sha256\":\"{digest}\"}}}}\n")
        );
        // The canonical content is the file without its seal.
        assert_eq!(
            hex(&Sha256::digest(br#"{"version":"3.0","note":{"n":7}}"#)),
            digest
        );
        let again = ProfileFile::from_json(&bytes).unwrap();
        assert_eq!(again, f);
        assert_eq!(again.to_json(), bytes, "read -> write is stable");
        assert_eq!(ProfileFile::stored_seal(&bytes).unwrap(), Some(digest));
        // Whitespace between top-level members does not break the seal.
        let spaced = text.replace(",\"note\":", ",\n  \"note\" : ");
        assert!(ProfileFile::from_json(spaced.as_bytes()).is_ok());
    }

    #[test]
    fn a_changed_byte_breaks_the_seal() {
        let mut f = ProfileFile::new();
        f.set_section(&Note { n: 7 }).unwrap();
        let text = String::from_utf8(f.to_json()).unwrap();
        let edited = text.replace("\"n\":7", "\"n\":8");
        match ProfileFile::from_json(edited.as_bytes()) {
            Err(ProfileError::Seal {
                file,
                stored,
                actual,
            }) => {
                assert_eq!(file, "profile");
                assert_eq!(stored, f.digest());
                assert_ne!(actual, stored);
            }
            other => panic!("{other:?}"),
        }
        // Re-sealing a deliberate edit.
        let resealed = ProfileFile::from_json_ignoring_seal(edited.as_bytes())
            .unwrap()
            .to_json();
        let g = ProfileFile::from_json(&resealed).unwrap();
        assert_eq!(g.require::<Note>().unwrap(), Note { n: 8 });
        // The error names the file it read.
        let dir = std::env::temp_dir().join(format!("aurora-seal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("edited.json");
        std::fs::write(&path, edited.as_bytes()).unwrap();
        let err = ProfileFile::read(&path).unwrap_err();
        assert!(err.to_string().contains("edited.json"), "{err}");
        assert!(ProfileFile::read_ignoring_seal(&path).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unsealed_files_load_and_bad_seals_are_typed() {
        let f = ProfileFile::from_json(br#"{"version":"3.0","note":{"n":1}}"#).unwrap();
        assert_eq!(f.require::<Note>().unwrap(), Note { n: 1 });
        assert_eq!(
            ProfileFile::stored_seal(br#"{"version":"3.0"}"#).unwrap(),
            None
        );
        for (seal, field) in [
            (r#""x""#, "seal"),
            (r#"{}"#, "seal.sha256"),
            (r#"{"sha256":1}"#, "seal.sha256"),
            (r#"{"sha256":"abc"}"#, "seal.sha256"),
            (
                r#"{"sha256":"ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"}"#,
                "seal.sha256",
            ),
        ] {
            let json = format!(r#"{{"version":"3.0","seal":{seal}}}"#);
            assert!(
                matches!(ProfileFile::from_json(json.as_bytes()),
                    Err(ProfileError::Invalid { field: f, .. }) if f == field),
                "{seal}"
            );
        }
        // The seal is never a section.
        let f = ProfileFile::from_json_ignoring_seal(br#"{"version":"3.0","seal":1}"#).unwrap();
        assert!(!f.has_section(SEAL_KEY));
    }
}
