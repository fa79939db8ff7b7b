//! Go's `sort.Sort` (pattern-defeating quicksort since Go 1.19), reproduced step for step.
//!
//! nats-io/jwt sorts an account's exports and imports by subject with `sort.Sort`, which is not
//! stable: entries that share a subject end up in an order that depends on the exact sequence of
//! comparisons and swaps. A stable sort agrees with it only up to 12 entries (where Go uses
//! insertion sort), so matching Go's bytes beyond that means taking the same steps: insertion
//! sort for short ranges, heapsort after too many unbalanced partitions, median-of-three or
//! Tukey's ninther for the pivot, a partial insertion sort for nearly sorted ranges, and a
//! pattern breaker driven by a xorshift generator seeded with the range length.
//!
//! Indices are absolute in the whole slice throughout, as in Go, because two of Go's steps look
//! outside the current range (the element just before it, and the shift down to index 1).

/// Sorts `items` exactly as Go's `sort.Sort` would with `less` as `Less`.
pub(crate) fn sort<T>(items: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let n = items.len();
    if n <= 1 {
        return;
    }
    let mut s = Sorter { items, less };
    s.pdqsort(0, n, bit_length(n));
}

/// Ranges of this length or shorter are insertion-sorted.
const MAX_INSERTION: usize = 12;
/// From this length on, the pivot is Tukey's ninther instead of a median of three.
const SHORTEST_NINTHER: usize = 50;
/// Ranges shorter than this are never shifted by the partial insertion sort.
const SHORTEST_SHIFTING: usize = 50;
/// Out-of-order pairs the partial insertion sort fixes before giving up.
const MAX_STEPS: usize = 5;
/// Swaps of the ninther when its nine samples were strictly decreasing.
const MAX_SWAPS: usize = 4 * 3;

/// What pivot selection saw of the range's order.
#[derive(PartialEq, Eq)]
enum Hint {
    Unknown,
    Increasing,
    Decreasing,
}

/// Go's `bits.Len`: the number of bits needed to write `n`.
fn bit_length(n: usize) -> usize {
    (usize::BITS - n.leading_zeros()) as usize
}

struct Sorter<'a, T, F> {
    items: &'a mut [T],
    less: F,
}

impl<T, F: Fn(&T, &T) -> bool> Sorter<'_, T, F> {
    fn less(&self, i: usize, j: usize) -> bool {
        (self.less)(&self.items[i], &self.items[j])
    }

    fn swap(&mut self, i: usize, j: usize) {
        self.items.swap(i, j);
    }

    /// Sorts `[a, b)`; `limit` counts the unbalanced partitions left before heapsort.
    fn pdqsort(&mut self, mut a: usize, mut b: usize, mut limit: usize) {
        let mut was_balanced = true;
        let mut was_partitioned = true;
        loop {
            let length = b - a;
            if length <= MAX_INSERTION {
                self.insertion_sort(a, b);
                return;
            }
            if limit == 0 {
                self.heap_sort(a, b);
                return;
            }
            if !was_balanced {
                self.break_patterns(a, b);
                limit -= 1;
            }
            let (mut pivot, mut hint) = self.choose_pivot(a, b);
            if hint == Hint::Decreasing {
                self.reverse(a, b);
                // The pivot keeps its element: mirror its index.
                pivot = (b - 1) - (pivot - a);
                hint = Hint::Increasing;
            }
            if was_balanced
                && was_partitioned
                && hint == Hint::Increasing
                && self.partial_insertion_sort(a, b)
            {
                return;
            }
            // The element before the range is not greater than the pivot: the range holds many
            // copies of it, so split off everything equal to it.
            if a > 0 && !self.less(a - 1, pivot) {
                a = self.partition_equal(a, b, pivot);
                continue;
            }
            let (mid, already) = self.partition(a, b, pivot);
            was_partitioned = already;
            let (left, right) = (mid - a, b - mid);
            let threshold = length / 8;
            // Recurse into the shorter side, loop on the longer one.
            if left < right {
                was_balanced = left >= threshold;
                self.pdqsort(a, mid, limit);
                a = mid + 1;
            } else {
                was_balanced = right >= threshold;
                self.pdqsort(mid + 1, b, limit);
                b = mid;
            }
        }
    }

    fn insertion_sort(&mut self, a: usize, b: usize) {
        for i in a + 1..b {
            let mut j = i;
            while j > a && self.less(j, j - 1) {
                self.swap(j, j - 1);
                j -= 1;
            }
        }
    }

    /// Restores the max-heap property below `lo` in the heap `[first, first + hi)`.
    fn sift_down(&mut self, lo: usize, hi: usize, first: usize) {
        let mut root = lo;
        loop {
            let mut child = 2 * root + 1;
            if child >= hi {
                return;
            }
            if child + 1 < hi && self.less(first + child, first + child + 1) {
                child += 1;
            }
            if !self.less(first + root, first + child) {
                return;
            }
            self.swap(first + root, first + child);
            root = child;
        }
    }

    fn heap_sort(&mut self, a: usize, b: usize) {
        let hi = b - a;
        for i in (0..=(hi - 1) / 2).rev() {
            self.sift_down(i, hi, a);
        }
        for i in (0..hi).rev() {
            self.swap(a, a + i);
            self.sift_down(0, i, a);
        }
    }

    /// Moves the pivot to `a`, then everything less than it before everything else; returns
    /// the pivot's final index and whether nothing had to move.
    fn partition(&mut self, a: usize, b: usize, pivot: usize) -> (usize, bool) {
        self.swap(a, pivot);
        // `j` only steps down while it is at least `i`, so it never goes below `a`.
        let (mut i, mut j) = (a + 1, b - 1);
        while i <= j && self.less(i, a) {
            i += 1;
        }
        while i <= j && !self.less(j, a) {
            j -= 1;
        }
        if i > j {
            self.swap(j, a);
            return (j, true);
        }
        self.swap(i, j);
        i += 1;
        j -= 1;
        loop {
            while i <= j && self.less(i, a) {
                i += 1;
            }
            while i <= j && !self.less(j, a) {
                j -= 1;
            }
            if i > j {
                break;
            }
            self.swap(i, j);
            i += 1;
            j -= 1;
        }
        self.swap(j, a);
        (j, false)
    }

    /// Puts the elements equal to the pivot first (the range holds none smaller); returns where
    /// the greater ones start.
    fn partition_equal(&mut self, a: usize, b: usize, pivot: usize) -> usize {
        self.swap(a, pivot);
        let (mut i, mut j) = (a + 1, b - 1);
        loop {
            while i <= j && !self.less(a, i) {
                i += 1;
            }
            while i <= j && self.less(a, j) {
                j -= 1;
            }
            if i > j {
                return i;
            }
            self.swap(i, j);
            i += 1;
            j -= 1;
        }
    }

    /// Fixes up to [`MAX_STEPS`] out-of-order neighbours; true when the range ends up sorted.
    fn partial_insertion_sort(&mut self, a: usize, b: usize) -> bool {
        let mut i = a + 1;
        for _ in 0..MAX_STEPS {
            while i < b && !self.less(i, i - 1) {
                i += 1;
            }
            if i == b {
                return true;
            }
            if b - a < SHORTEST_SHIFTING {
                return false;
            }
            self.swap(i, i - 1);
            // Go shifts the smaller element left down to index 1 of the whole slice, not of
            // the range; the comparison stops it at the range's start in practice.
            if i - a >= 2 {
                let mut j = i - 1;
                while j >= 1 && self.less(j, j - 1) {
                    self.swap(j, j - 1);
                    j -= 1;
                }
            }
            if b - i >= 2 {
                let mut j = i + 1;
                while j < b && self.less(j, j - 1) {
                    self.swap(j, j - 1);
                    j += 1;
                }
            }
        }
        false
    }

    /// Swaps three elements around the middle with pseudo-random others.
    fn break_patterns(&mut self, a: usize, b: usize) {
        let length = b - a;
        if length < 8 {
            return;
        }
        let mut random = length as u64;
        let modulus = 1usize << bit_length(length);
        let middle = a + (length / 4) * 2;
        for idx in middle - 1..=middle + 1 {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            let mut other = (random as usize) & (modulus - 1);
            if other >= length {
                other -= length;
            }
            self.swap(idx, a + other);
        }
    }

    fn choose_pivot(&mut self, a: usize, b: usize) -> (usize, Hint) {
        let l = b - a;
        let mut swaps = 0;
        let (mut i, mut j, mut k) = (a + l / 4, a + l / 4 * 2, a + l / 4 * 3);
        if l >= 8 {
            if l >= SHORTEST_NINTHER {
                i = self.median(i - 1, i, i + 1, &mut swaps);
                j = self.median(j - 1, j, j + 1, &mut swaps);
                k = self.median(k - 1, k, k + 1, &mut swaps);
            }
            j = self.median(i, j, k, &mut swaps);
        }
        let hint = match swaps {
            0 => Hint::Increasing,
            MAX_SWAPS => Hint::Decreasing,
            _ => Hint::Unknown,
        };
        (j, hint)
    }

    /// The index (`x`, `y` or `z`) of the median of three, counting the orderings it reversed.
    fn median(&self, x: usize, y: usize, z: usize, swaps: &mut usize) -> usize {
        let (x, y) = self.order2(x, y, swaps);
        let (y, _) = self.order2(y, z, swaps);
        let (_, y) = self.order2(x, y, swaps);
        y
    }

    fn order2(&self, x: usize, y: usize, swaps: &mut usize) -> (usize, usize) {
        if self.less(y, x) {
            *swaps += 1;
            (y, x)
        } else {
            (x, y)
        }
    }

    fn reverse(&mut self, a: usize, b: usize) {
        let (mut i, mut j) = (a, b - 1);
        while i < j {
            self.swap(i, j);
            i += 1;
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_a_sort() {
        let mut v: Vec<u32> = (0..500).map(|i| (i * 7919) % 101).collect();
        let mut expected = v.clone();
        expected.sort();
        sort(&mut v, |a, b| a < b);
        assert_eq!(v, expected);
    }

    #[test]
    fn short_ranges_are_stable() {
        let mut v: Vec<(u8, usize)> = [2, 1, 2, 1, 0, 2, 1, 0, 2, 1, 0, 1]
            .into_iter()
            .enumerate()
            .map(|(i, k)| (k, i))
            .collect();
        let mut expected = v.clone();
        expected.sort_by_key(|e| e.0);
        sort(&mut v, |a, b| a.0 < b.0);
        assert_eq!(v, expected);
    }

    /// Orders Go's `sort.Sort` produced for a few hundred lists with many equal keys, random and
    /// patterned (see `tests/golden/main.go`).
    #[test]
    fn leaves_equal_keys_where_go_does() {
        #[derive(serde::Deserialize)]
        struct Case {
            keys: Vec<u32>,
            order: Vec<usize>,
        }
        let text = include_str!("../tests/golden/sort_orders.json");
        let mut longest = 0;
        for (n, line) in text.lines().enumerate() {
            let case: Case = serde_json::from_str(line).unwrap();
            let mut items: Vec<(u32, usize)> = case.keys.iter().copied().zip(0..).collect();
            sort(&mut items, |a, b| a.0 < b.0);
            let order: Vec<usize> = items.iter().map(|i| i.1).collect();
            assert_eq!(order, case.order, "case {n} ({} keys)", case.keys.len());
            longest = longest.max(case.keys.len());
        }
        assert!(longest > 200, "the cases stop at {longest} keys");
    }
}
