//! Durability: a child process inserts in a loop and is killed with SIGKILL
//! at 20 random moments; after each kill the reopened store holds every
//! acknowledged insert and equals a replay of the logged ones.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use aurora_router::stream::{ClusterStore, Durability, StreamParams};

const DIM: usize = 16;

fn item(i: u64) -> (String, String, Vec<f32>) {
    let mut s = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let centre = (i % 5) as usize;
    let v = (0..DIM)
        .map(|k| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let noise = (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            if k % 5 == centre {
                1.0 + 0.3 * noise
            } else {
                0.3 * noise
            }
        })
        .collect();
    (format!("g{}", i % 3), format!("i{i}"), v)
}

fn params(fsync: bool) -> aurora_router::stream::CheckedStreamParams {
    StreamParams::new()
        .durability(if fsync {
            Durability::Fsync
        } else {
            Durability::Flush
        })
        .check()
        .unwrap()
}

/// The child: inserts forever, printing `ack i` after each acknowledged insert.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("AURORA_STREAM_CRASH_DIR") else {
        return;
    };
    let fsync = std::env::var("AURORA_STREAM_CRASH_FSYNC").is_ok();
    let store = ClusterStore::open(&dir, "synthetic", DIM, params(fsync)).unwrap();
    let mut i = store.stats().items as u64;
    loop {
        let (g, id, v) = item(i);
        store.insert(&g, &id, &v, None, i as f64).unwrap();
        println!("ack {i}");
        i += 1;
    }
}

fn replay_digest(n: u64) -> Vec<aurora_router::stream::GroupDigest> {
    let s = ClusterStore::in_memory("synthetic", DIM, params(false)).unwrap();
    for i in 0..n {
        let (g, id, v) = item(i);
        s.insert(&g, &id, &v, None, i as f64).unwrap();
    }
    s.state_digest()
}

fn run_child(dir: &Path, fsync: bool, kill_after: u64) -> u64 {
    let exe = std::env::current_exe().unwrap();
    let mut words = common::emulator().into_iter();
    let mut cmd = match words.next() {
        Some(p) => {
            let mut c = Command::new(p);
            c.args(words).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    cmd.args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env("AURORA_STREAM_CRASH_DIR", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if fsync {
        cmd.env("AURORA_STREAM_CRASH_FSYNC", "1");
    }
    let mut child = cmd.spawn().unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut last = None;
    let mut seen = 0;
    // Acks already in the pipe when the kill lands still count: drain to EOF.
    for line in out.lines() {
        let line = line.unwrap();
        if let Some(i) = line.strip_prefix("ack ") {
            last = Some(i.parse::<u64>().unwrap());
            seen += 1;
            if seen == kill_after {
                child.kill().unwrap(); // SIGKILL
            }
        }
    }
    child.wait().unwrap();
    last.map_or(0, |l| l + 1)
}

#[test]
fn sigkill_at_20_moments_loses_no_acknowledged_insert() {
    if std::env::var("AURORA_STREAM_CRASH_DIR").is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..20 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let kill_after = 1 + rng % 60;
        let acked = run_child(dir.path(), round % 4 == 0, kill_after);
        let store = ClusterStore::open(dir.path(), "synthetic", DIM, params(false)).unwrap();
        let n = store.stats().items as u64;
        assert!(n >= acked, "round {round}: {n} items, {acked} acknowledged");
        // At most the one insert in flight at the kill is there unacknowledged.
        assert!(
            n <= acked + 1,
            "round {round}: {n} items, {acked} acknowledged"
        );
        for i in 0..acked {
            let (g, id, _) = item(i);
            store.assignment(&g, &id).unwrap();
        }
        assert_eq!(store.state_digest(), replay_digest(n), "round {round}");
    }
}
