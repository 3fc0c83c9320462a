//! Repeated timing of one operation: minimum and median wall-clock time over the runs.

use std::time::Instant;

/// Wall-clock statistics of an operation run `runs` times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// Number of runs.
    pub runs: usize,
    /// Fastest run, in milliseconds: the least disturbed by other processes.
    pub min_ms: f64,
    /// Median run, in milliseconds (mean of the two middle runs for an even count).
    pub median_ms: f64,
}

impl Timing {
    /// The statistics of the given run times (milliseconds); `None` for no runs.
    pub fn of(mut ms: Vec<f64>) -> Option<Self> {
        if ms.is_empty() {
            return None;
        }
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        let median_ms = if n % 2 == 1 { ms[n / 2] } else { (ms[n / 2 - 1] + ms[n / 2]) / 2.0 };
        Some(Self { runs: n, min_ms: ms[0], median_ms })
    }
}

/// Runs `f` `repeat` times (at least once) and times each run; the results are dropped outside
/// the timed region.
pub fn measure<T, E>(repeat: usize, mut f: impl FnMut() -> Result<T, E>) -> Result<Timing, E> {
    let mut ms = Vec::with_capacity(repeat.max(1));
    for _ in 0..repeat.max(1) {
        let start = Instant::now();
        let out = std::hint::black_box(f()?);
        ms.push(start.elapsed().as_secs_f64() * 1e3);
        drop(out);
    }
    // At least one run was made, so the statistics exist.
    Ok(Timing::of(ms).unwrap_or(Timing { runs: 0, min_ms: f64::NAN, median_ms: f64::NAN }))
}

/// `0.012 ms`, `12.3 ms`, `1.234 s`: milliseconds in a readable unit.
pub fn fmt_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.3} s", ms / 1e3)
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.3} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_and_median() {
        let t = Timing::of(vec![5.0, 1.0, 3.0]).unwrap();
        assert_eq!((t.runs, t.min_ms, t.median_ms), (3, 1.0, 3.0));
        let t = Timing::of(vec![4.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!((t.min_ms, t.median_ms), (1.0, 3.0));
        assert!(Timing::of(vec![]).is_none());
    }

    #[test]
    fn measure_runs_the_requested_times_and_stops_at_an_error() {
        let mut calls = 0;
        let t = measure(3, || {
            calls += 1;
            Ok::<_, ()>(calls)
        })
        .unwrap();
        assert_eq!((t.runs, calls), (3, 3));
        assert!(t.min_ms >= 0.0 && t.min_ms <= t.median_ms);
        assert_eq!(measure(0, || Ok::<_, ()>(())).unwrap().runs, 1, "at least one run");
        assert_eq!(measure(5, || Err::<(), _>("boom")), Err("boom"));
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_ms(0.0123), "0.012 ms");
        assert_eq!(fmt_ms(12.34), "12.3 ms");
        assert_eq!(fmt_ms(1234.0), "1.234 s");
    }
}
