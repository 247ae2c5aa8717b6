//! The append-only operation log: `[len: u32][crc32: u32][payload]`
//! records after an 8-byte magic. Replaying it rebuilds the store exactly
//! (the update rules are deterministic). A record whose length runs past
//! the end or whose checksum fails ends the log: it and everything after it
//! are dropped (truncated) with a warning, never loaded as data.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use half::f16;

use super::{Durability, StreamError};

/// First bytes of a log file.
pub(crate) const MAGIC: &[u8; 8] = b"AURSLOG1";

/// One logged operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    Insert {
        group: String,
        id: String,
        timestamp: f64,
        quality: Option<f32>,
        /// Unit vector, float16 bits.
        vec: Vec<u16>,
    },
    Remove {
        group: String,
        id: String,
    },
}

impl Op {
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        let put_str = |b: &mut Vec<u8>, s: &str| {
            b.extend_from_slice(&(s.len() as u32).to_le_bytes());
            b.extend_from_slice(s.as_bytes());
        };
        match self {
            Op::Insert {
                group,
                id,
                timestamp,
                quality,
                vec,
            } => {
                b.push(1);
                put_str(&mut b, group);
                put_str(&mut b, id);
                b.extend_from_slice(&timestamp.to_le_bytes());
                b.push(quality.is_some() as u8);
                b.extend_from_slice(&quality.unwrap_or(0.0).to_le_bytes());
                b.extend_from_slice(&(vec.len() as u32).to_le_bytes());
                for v in vec {
                    b.extend_from_slice(&v.to_le_bytes());
                }
            }
            Op::Remove { group, id } => {
                b.push(2);
                put_str(&mut b, group);
                put_str(&mut b, id);
            }
        }
        let mut rec = Vec::with_capacity(b.len() + 8);
        rec.extend_from_slice(&(b.len() as u32).to_le_bytes());
        rec.extend_from_slice(&crc32(&b).to_le_bytes());
        rec.extend_from_slice(&b);
        rec
    }

    fn decode(p: &[u8]) -> Option<Op> {
        let mut r = Cursor { b: p, at: 0 };
        let op = r.take(1)?[0];
        let group = r.string()?;
        let id = r.string()?;
        let out = match op {
            1 => {
                let timestamp = f64::from_le_bytes(r.take(8)?.try_into().ok()?);
                let has_q = r.take(1)?[0];
                let q = f32::from_le_bytes(r.take(4)?.try_into().ok()?);
                let dim = r.u32()? as usize;
                let raw = r.take(dim.checked_mul(2)?)?;
                let vec = raw
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                Op::Insert {
                    group,
                    id,
                    timestamp,
                    quality: (has_q == 1).then_some(q),
                    vec,
                }
            }
            2 => Op::Remove { group, id },
            _ => return None,
        };
        (r.at == p.len()).then_some(out)
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn string(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

/// What reading a log found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Records replayed.
    pub records: u64,
    /// Bytes of a torn or corrupted tail that were dropped.
    pub dropped_bytes: u64,
    /// Why the tail was dropped, when it was.
    pub warning: Option<String>,
}

/// Reads every valid record; returns them with the length of the valid
/// prefix and what was dropped.
pub(crate) fn replay(
    path: &Path,
    mut apply: impl FnMut(Op) -> Result<(), String>,
) -> Result<(u64, Recovery), StreamError> {
    let file = File::open(path).map_err(|e| StreamError::io(path, e))?;
    let total = file.metadata().map_err(|e| StreamError::io(path, e))?.len();
    let mut r = BufReader::with_capacity(1 << 16, file);
    let mut rec = Recovery::default();
    let mut magic = [0u8; 8];
    if total < 8 || r.read_exact(&mut magic).is_err() || &magic != MAGIC {
        if total == 0 {
            return Ok((0, rec));
        }
        return Err(StreamError::CorruptMeta {
            path: path.into(),
            reason: "not an aurora stream log (bad magic)".into(),
        });
    }
    let mut good = 8u64;
    let mut payload = Vec::new();
    let why = loop {
        if good == total {
            break None;
        }
        let mut head = [0u8; 8];
        if r.read_exact(&mut head).is_err() {
            break Some(format!("torn record header at byte {good}"));
        }
        let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as u64;
        let crc = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
        if good + 8 + len > total {
            break Some(format!(
                "torn record at byte {good} ({len} bytes announced)"
            ));
        }
        payload.resize(len as usize, 0);
        if r.read_exact(&mut payload).is_err() {
            break Some(format!("torn record at byte {good}"));
        }
        if crc32(&payload) != crc {
            break Some(format!("checksum mismatch in the record at byte {good}"));
        }
        let Some(op) = Op::decode(&payload) else {
            break Some(format!("undecodable record at byte {good}"));
        };
        if let Err(e) = apply(op) {
            break Some(format!("invalid record at byte {good}: {e}"));
        }
        rec.records += 1;
        good += 8 + len;
    };
    if let Some(w) = why {
        rec.dropped_bytes = total - good;
        rec.warning = Some(format!(
            "{}: {w}; dropped the last {} bytes",
            path.display(),
            rec.dropped_bytes
        ));
    }
    Ok((good, rec))
}

/// The open log, appended to under the store's lock.
#[derive(Debug)]
pub(crate) struct LogWriter {
    file: File,
    path: PathBuf,
    len: u64,
    durability: Durability,
    poisoned: bool,
    /// Test hook: the next append fails with this OS error.
    #[cfg(test)]
    pub fail_next: Option<i32>,
}

impl LogWriter {
    /// Opens the log for appending at `good` (truncating a dropped tail).
    pub fn open(path: &Path, good: u64, durability: Durability) -> Result<Self, StreamError> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| StreamError::io(path, e))?;
        let len = file.metadata().map_err(|e| StreamError::io(path, e))?.len();
        let mut good = good;
        if good == 0 {
            file.set_len(0).map_err(|e| StreamError::io(path, e))?;
            file.write_all(MAGIC)
                .map_err(|e| StreamError::io(path, e))?;
            good = 8;
            file.sync_all().map_err(|e| StreamError::io(path, e))?;
        } else if len != good {
            file.set_len(good).map_err(|e| StreamError::io(path, e))?;
            file.sync_all().map_err(|e| StreamError::io(path, e))?;
        }
        Ok(LogWriter {
            file,
            path: path.into(),
            len: good,
            durability,
            poisoned: false,
            #[cfg(test)]
            fail_next: None,
        })
    }

    /// Bytes in the log.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Appends one record; on failure the log is rolled back to its previous
    /// length (or the writer is poisoned when even that fails).
    pub fn append(&mut self, record: &[u8]) -> Result<(), StreamError> {
        if self.poisoned {
            return Err(StreamError::Poisoned);
        }
        let res = self.write(record);
        if let Err(e) = res {
            if self.file.set_len(self.len).is_err() {
                self.poisoned = true;
            }
            return Err(StreamError::io(&self.path, e));
        }
        self.len += record.len() as u64;
        Ok(())
    }

    /// `fdatasync`s the log (everything appended so far survives power loss).
    pub fn sync(&mut self) -> Result<(), StreamError> {
        self.file
            .sync_data()
            .map_err(|e| StreamError::io(&self.path, e))
    }

    fn write(&mut self, record: &[u8]) -> std::io::Result<()> {
        #[cfg(test)]
        if let Some(code) = self.fail_next.take() {
            // Write half, then fail: a torn append.
            self.file.write_all(&record[..record.len() / 2])?;
            return Err(std::io::Error::from_raw_os_error(code));
        }
        self.file.write_all(record)?;
        if self.durability == Durability::Fsync {
            self.file.sync_data()?;
        }
        Ok(())
    }
}

/// CRC-32 (IEEE 802.3, the zlib polynomial).
pub(crate) fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut c = !0u32;
    for &b in data {
        c = TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

/// float16 bits of a vector.
pub(crate) fn to_bits(x: &[f32]) -> Vec<u16> {
    x.iter().map(|&v| f16::from_f32(v).to_bits()).collect()
}

/// A vector from float16 bits.
pub(crate) fn from_bits(b: &[u16]) -> Vec<f32> {
    b.iter().map(|&v| f16::from_bits(v).to_f32()).collect()
}
