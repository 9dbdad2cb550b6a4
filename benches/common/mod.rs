//! A tiny timing harness for the native parser benches (no criterion: the dependency tree stays
//! lean). Each case is warmed up, its iteration count calibrated so one round lasts about
//! `ROUND`, then timed over several rounds; the median round and the spread (min..max) are
//! printed as a table row and as one `BENCH {json}` line that `bench/run.mjs` collects.
//!
//! `BENCH_QUICK=1` (or `--quick`) shortens rounds and their number, for a smoke run.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Settings of a run, read from the environment and the command line.
pub struct Harness {
    bench: &'static str,
    rounds: usize,
    round: Duration,
    filter: Option<String>,
}

/// Median and spread of one case, in MB/s (1 MB = 10^6 bytes) and items/s.
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

fn stats(mut v: Vec<f64>) -> Stats {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Stats {
        median,
        min: v[0],
        max: v[n - 1],
    }
}

impl Harness {
    /// Reads `BENCH_QUICK`, `--quick` and an optional name filter (the first free argument).
    pub fn new(bench: &'static str) -> Harness {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1")
            || args.iter().any(|a| a == "--quick");
        let filter = args.into_iter().find(|a| !a.starts_with('-'));
        println!(
            "{bench}: median of {} rounds of ~{} ms each, spread = min..max",
            if quick { 3 } else { 5 },
            if quick { 60 } else { 150 }
        );
        println!(
            "{:<44} {:>10} {:>21} {:>14}",
            "case", "MB/s", "spread MB/s", "items/s"
        );
        Harness {
            bench,
            rounds: if quick { 3 } else { 5 },
            round: Duration::from_millis(if quick { 60 } else { 150 }),
            filter,
        }
    }

    /// Times `f`, which processes `bytes` bytes (and `items` items: events, frames, messages)
    /// per call and returns something derived from its output so nothing is optimised away.
    pub fn case<R>(&self, name: &str, bytes: usize, items: usize, mut f: impl FnMut() -> R) {
        if self.filter.as_deref().is_some_and(|p| !name.contains(p)) {
            return;
        }
        // Warm-up, and calibration: iterations per round so one round lasts about `self.round`.
        let start = Instant::now();
        let mut calls = 0u64;
        while start.elapsed() < self.round / 2 || calls < 2 {
            black_box(f());
            calls += 1;
        }
        let per_call = start.elapsed().as_secs_f64() / calls as f64;
        let iters = ((self.round.as_secs_f64() / per_call).ceil() as u64).max(1);
        let mut mbps = Vec::with_capacity(self.rounds);
        for _ in 0..self.rounds {
            let t = Instant::now();
            for _ in 0..iters {
                black_box(f());
            }
            let secs = t.elapsed().as_secs_f64() / iters as f64;
            mbps.push(bytes as f64 / secs / 1e6);
        }
        let s = stats(mbps);
        let items_per_s = s.median * 1e6 / bytes as f64 * items as f64;
        println!(
            "{:<44} {:>10.1} {:>10.1} ..{:>9.1} {:>14.0}",
            name, s.median, s.min, s.max, items_per_s
        );
        println!(
            "BENCH {{\"bench\":\"{}\",\"case\":\"{}\",\"bytes\":{},\"items\":{},\"rounds\":{},\"iters\":{},\"mbps\":{:.3},\"min\":{:.3},\"max\":{:.3},\"items_per_s\":{:.1}}}",
            self.bench, name, bytes, items, self.rounds, iters, s.median, s.min, s.max, items_per_s
        );
    }
}
