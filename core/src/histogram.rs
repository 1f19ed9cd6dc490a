//! A bounded log-linear latency histogram: 8 sub-buckets per power of two
//! (12.5 % resolution) from 0 ns to 2^44 ns (about 4.9 hours); larger values clamp.

use alloc::boxed::Box;

const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;
const MAX_EXP: u32 = 44;
/// Values below SUB get a bucket each; then SUB buckets per power of two up to MAX_EXP.
const BUCKETS: usize = (SUB + (MAX_EXP - SUB_BITS + 1) as u64 * SUB) as usize;

#[derive(Clone, Debug)]
pub(crate) struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
}

fn index(value: u64) -> usize {
    if value < SUB {
        return value as usize;
    }
    let exp = (63 - value.leading_zeros()).min(MAX_EXP);
    let value = value.min((1u64 << (MAX_EXP + 1)) - 1);
    let sub = (value >> (exp - SUB_BITS)) & (SUB - 1);
    (SUB + u64::from(exp - SUB_BITS) * SUB + sub) as usize
}

/// The largest value that lands in bucket `i`.
fn upper_bound(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let exp = (i - SUB) / SUB + u64::from(SUB_BITS);
    let sub = (i - SUB) % SUB;
    ((SUB + sub + 1) << (exp - u64::from(SUB_BITS))) - 1
}

impl Histogram {
    pub(crate) fn new() -> Histogram {
        Histogram {
            counts: Box::new([0; BUCKETS]),
            total: 0,
        }
    }

    /// Counts `n` values equal to `value`.
    pub(crate) fn record_n(&mut self, value: u64, n: u32) {
        self.counts[index(value)] += u64::from(n);
        self.total += u64::from(n);
    }

    /// How many values are at most each of `edges`, which must be bucket upper bounds
    /// in increasing order (then the counts are exact).
    /// Adds `other`'s recorded values to these.
    pub(crate) fn add(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine += theirs;
        }
        self.total += other.total;
    }

    pub(crate) fn cumulative<const N: usize>(&self, edges: &[u64; N]) -> [u64; N] {
        let mut out = [0; N];
        let mut seen = 0;
        let mut next = 0;
        for (i, c) in self.counts.iter().enumerate() {
            while next < N && upper_bound(i) > edges[next] {
                out[next] = seen;
                next += 1;
            }
            if next == N {
                break;
            }
            seen += c;
        }
        while next < N {
            out[next] = seen;
            next += 1;
        }
        out
    }

    /// Whether `value` is the largest value of a bucket (an exact histogram edge).
    #[cfg(test)]
    pub(crate) fn is_edge(value: u64) -> bool {
        upper_bound(index(value)) == value
    }

    /// The value at quantile `q` (0..=1), as the upper bound of its bucket.
    pub(crate) fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        // Rank of the quantile, 1-based: ceil(q × total) within 1..=total (no `ceil` in core).
        let exact = q * self.total as f64;
        let floor = exact as u64;
        let rank = if (floor as f64) < exact {
            floor + 1
        } else {
            floor
        };
        let rank = rank.clamp(1, self.total);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(upper_bound(i));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_bounded() {
        for i in 0..BUCKETS - 1 {
            assert_eq!(index(upper_bound(i)), i);
            assert_eq!(index(upper_bound(i) + 1), i + 1);
        }
        assert_eq!(index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_within_resolution() {
        let mut h = Histogram::new();
        for v in 1..=1000u64 {
            h.record_n(v * 1000, 1);
        }
        for (q, exact) in [(0.5, 500_000.0), (0.9, 900_000.0), (0.99, 990_000.0)] {
            let got = h.quantile(q).unwrap() as f64;
            assert!(got >= exact && got <= exact * 1.125, "q{q}: {got}");
        }
        assert_eq!(Histogram::new().quantile(0.5), None);
    }
}
