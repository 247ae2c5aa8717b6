//! Output paths are checked before any work: the folder must exist, and a
//! file whose extension says another format is refused.

use std::path::Path;

use crate::CliResult;

/// Checks `path` (given with `flag`) before the command starts working: its
/// folder exists and is a folder, the path is not a folder, and when
/// `extensions` is not empty the file's extension is one of them.
pub fn check_out_path(path: &Path, flag: &str, extensions: &[&str]) -> CliResult {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!("{flag} {shown}: is a folder; give a file name").into());
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(format!(
            "{flag} {shown}: the folder {} does not exist",
            parent.display()
        )
        .into());
    }
    if !extensions.is_empty() {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        if !ext.as_deref().is_some_and(|e| extensions.contains(&e)) {
            return Err(format!(
                "{flag} {shown}: writes {}; name the file .{}",
                extensions[0].to_ascii_uppercase(),
                extensions[0]
            )
            .into());
        }
    }
    Ok(())
}
