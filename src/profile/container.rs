//! The profile container: the one JSON file an app downloads, made of named
//! top-level *sections* (`router`, `routes`, `taxonomy`, `templates`, …).
//!
//! Each job of the SDK owns one section type, implementing [`Section`]. The
//! container parses a section only when asked for it, and keeps every other
//! section as the raw JSON it read, so a section this version of the code
//! does not know survives read → modify → write byte for byte.
//!
//! Format `3.x` is `{"version": "3.0", "<section>": {…}, …}`. A format `2.x`
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

use super::error::ProfileError;

/// The container format version this crate writes. The reader accepts `3.x`,
/// and `2.x` files (a bare router profile).
pub const CONTAINER_VERSION: &str = "3.0";

/// Largest profile file accepted, so a hostile file cannot exhaust memory.
pub const MAX_FILE_BYTES: usize = 64 << 20;

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
    pub fn from_json(bytes: &[u8]) -> Result<Self, ProfileError> {
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
        let version_raw = top
            .remove("version")
            .ok_or_else(|| ProfileError::invalid("version", "is missing"))?;
        let version: String = serde_json::from_str(version_raw.get())
            .map_err(|_| ProfileError::invalid("version", "must be a string"))?;
        let major = version.split('.').next().unwrap_or("");
        match major {
            "3" => Ok(ProfileFile {
                version,
                sections: top,
            }),
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
                Ok(ProfileFile {
                    version: CONTAINER_VERSION.to_string(),
                    sections: top,
                })
            }
            _ => Err(ProfileError::Version(version)),
        }
    }

    /// Reads a container file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, ProfileError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ProfileError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&bytes)
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
        let s: S = serde_json::from_str(raw.get()).map_err(|e| ProfileError::Section {
            section: S::NAME.to_string(),
            source: e,
        })?;
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

    /// Removes section `name`, returning whether it was there.
    pub fn remove_section(&mut self, name: &str) -> bool {
        self.sections.remove(name).is_some()
    }

    /// Compact JSON, `version` first, then the sections in name order;
    /// deterministic for equal containers. Ends with a newline.
    pub fn to_json(&self) -> Vec<u8> {
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
        out.extend_from_slice(b"}\n");
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
}
