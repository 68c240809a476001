//! Finding the next byte that matters in string text and whitespace, 16
//! (SSE2, every x86-64) or 32 (AVX2, chosen at run time) bytes at a time,
//! with the portable eight-bytes-at-a-time scan in [`super::text`] for
//! other CPUs and for the tail of the buffer.
//!
//! `FLEETKIT_SIMD=portable` (or `sse2`) holds the choice down, so the test
//! suite and the fuzzer run every path and compare them byte for byte.

use std::sync::OnceLock;

/// How wide the scans go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Portable,
    Sse2,
    Avx2,
}

impl Level {
    /// This level, or the widest the CPU has if that is narrower (a
    /// level asked for is never one the CPU lacks).
    pub fn supported(self) -> Level {
        match (self, best()) {
            (Level::Avx2, Level::Avx2) | (Level::Sse2, Level::Sse2 | Level::Avx2) => self,
            (Level::Portable, _) => Level::Portable,
            (_, best) => best,
        }
    }

    /// The widest this CPU has, unless `FLEETKIT_SIMD` asks for less.
    pub fn detect() -> Level {
        static LEVEL: OnceLock<Level> = OnceLock::new();
        *LEVEL.get_or_init(|| {
            let best = best();
            match std::env::var("FLEETKIT_SIMD").as_deref() {
                Ok("portable") => Level::Portable,
                Ok("sse2") if best != Level::Portable => Level::Sse2,
                _ => best,
            }
        })
    }
}

#[cfg(target_arch = "x86_64")]
fn best() -> Level {
    // The AVX2 paths also count and find bits with BMI1 and POPCNT, and
    // track strings with PCLMULQDQ, which every AVX2 CPU has (a VM may
    // hide one: then the SSE2 paths serve).
    if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("bmi1")
        && std::arch::is_x86_feature_detected!("popcnt")
        && std::arch::is_x86_feature_detected!("pclmulqdq")
    {
        Level::Avx2
    } else {
        Level::Sse2
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn best() -> Level {
    Level::Portable
}

/// [`super::text::plain_run`] at `level`: the index of the first `"`, `\`
/// or control character from `i` (or `buf.len()`), and whether the text
/// before it has a non-ASCII byte.
#[inline(always)]
pub fn plain_run(level: Level, buf: &[u8], i: usize) -> (usize, bool) {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Avx2 is chosen only where the CPU has AVX2.
        Level::Avx2 => unsafe { x86::plain_run_avx2(buf, i) },
        #[cfg(target_arch = "x86_64")]
        Level::Sse2 => x86::plain_run_sse2(buf, i),
        _ => super::text::plain_run(buf, i),
    }
}

/// The index of the first byte from `i` that is not JSON whitespace (or
/// `buf.len()`).
#[inline(always)]
pub fn skip_ws(level: Level, buf: &[u8], i: usize) -> usize {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Level::Avx2 => unsafe { x86::skip_ws_avx2(buf, i) },
        #[cfg(target_arch = "x86_64")]
        Level::Sse2 => x86::skip_ws_sse2(buf, i),
        _ => skip_ws_portable(buf, i),
    }
}

fn skip_ws_portable(buf: &[u8], mut i: usize) -> usize {
    while i < buf.len() && matches!(buf[i], b' ' | b'\n' | b'\t' | b'\r') {
        i += 1;
    }
    i
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    pub fn plain_run_sse2(buf: &[u8], mut i: usize) -> (usize, bool) {
        let mut high = 0;
        // SAFETY: SSE2 is part of x86-64; loads stay inside `buf`.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            let control = _mm_set1_epi8(0x1f);
            while i + 16 <= buf.len() {
                let v = _mm_loadu_si128(buf.as_ptr().add(i).cast());
                // v <= 0x1f (unsigned) exactly where min(v, 0x1f) == v.
                let stops = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                    _mm_cmpeq_epi8(_mm_min_epu8(v, control), v),
                );
                let stops = _mm_movemask_epi8(stops) as u32;
                let non_ascii = _mm_movemask_epi8(v) as u32;
                if stops != 0 {
                    let n = stops.trailing_zeros();
                    let before = non_ascii & ((1 << n) - 1);
                    return (i + n as usize, high | before != 0);
                }
                high |= non_ascii;
                i += 16;
            }
        }
        let (stop, tail_high) = super::super::text::plain_run(buf, i);
        (stop, tail_high || high != 0)
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn plain_run_avx2(buf: &[u8], mut i: usize) -> (usize, bool) {
        let mut high = 0;
        let quote = _mm256_set1_epi8(b'"' as i8);
        let backslash = _mm256_set1_epi8(b'\\' as i8);
        let control = _mm256_set1_epi8(0x1f);
        while i + 32 <= buf.len() {
            // SAFETY: the load stays inside `buf`.
            let v = unsafe { _mm256_loadu_si256(buf.as_ptr().add(i).cast()) };
            let stops = _mm256_or_si256(
                _mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, backslash)),
                _mm256_cmpeq_epi8(_mm256_min_epu8(v, control), v),
            );
            let stops = _mm256_movemask_epi8(stops) as u32;
            let non_ascii = _mm256_movemask_epi8(v) as u32;
            if stops != 0 {
                let n = stops.trailing_zeros();
                let before = non_ascii & ((1u64 << n) - 1) as u32;
                return (i + n as usize, high | before != 0);
            }
            high |= non_ascii;
            i += 32;
        }
        let (stop, tail_high) = plain_run_sse2(buf, i);
        (stop, tail_high || high != 0)
    }

    pub fn skip_ws_sse2(buf: &[u8], mut i: usize) -> usize {
        // SAFETY: SSE2 is part of x86-64; loads stay inside `buf`.
        unsafe {
            let (sp, nl, tab, cr) = (
                _mm_set1_epi8(b' ' as i8),
                _mm_set1_epi8(b'\n' as i8),
                _mm_set1_epi8(b'\t' as i8),
                _mm_set1_epi8(b'\r' as i8),
            );
            while i + 16 <= buf.len() {
                let v = _mm_loadu_si128(buf.as_ptr().add(i).cast());
                let ws = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(v, nl)),
                    _mm_or_si128(_mm_cmpeq_epi8(v, tab), _mm_cmpeq_epi8(v, cr)),
                );
                let other = !(_mm_movemask_epi8(ws) as u32) & 0xffff;
                if other != 0 {
                    return i + other.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
        super::skip_ws_portable(buf, i)
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn skip_ws_avx2(buf: &[u8], mut i: usize) -> usize {
        let (sp, nl, tab, cr) = (
            _mm256_set1_epi8(b' ' as i8),
            _mm256_set1_epi8(b'\n' as i8),
            _mm256_set1_epi8(b'\t' as i8),
            _mm256_set1_epi8(b'\r' as i8),
        );
        while i + 32 <= buf.len() {
            // SAFETY: the load stays inside `buf`.
            let v = unsafe { _mm256_loadu_si256(buf.as_ptr().add(i).cast()) };
            let ws = _mm256_or_si256(
                _mm256_or_si256(_mm256_cmpeq_epi8(v, sp), _mm256_cmpeq_epi8(v, nl)),
                _mm256_or_si256(_mm256_cmpeq_epi8(v, tab), _mm256_cmpeq_epi8(v, cr)),
            );
            let other = !(_mm256_movemask_epi8(ws) as u32);
            if other != 0 {
                return i + other.trailing_zeros() as usize;
            }
            i += 32;
        }
        skip_ws_sse2(buf, i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every level agrees with the portable scan at every offset.
    #[test]
    fn every_level_finds_what_the_portable_scan_finds() {
        let mut text = Vec::new();
        for i in 0..300u32 {
            text.extend_from_slice(b"plain text ");
            text.extend_from_slice("é東".as_bytes());
            text.push(match i % 7 {
                0 => b'"',
                1 => b'\\',
                2 => 0x1f,
                3 => 0x7f,
                4 => b'\n',
                _ => b' ',
            });
            text.extend_from_slice(&b"  \n\t\r  "[..(i % 8) as usize]);
        }
        let mut levels = vec![Level::Portable];
        if best() != Level::Portable {
            levels.push(Level::Sse2);
        }
        if best() == Level::Avx2 {
            levels.push(Level::Avx2);
        }
        for level in levels {
            for i in 0..text.len() {
                assert_eq!(
                    plain_run(level, &text, i),
                    super::super::text::plain_run(&text, i),
                    "{level:?} at {i}"
                );
                assert_eq!(
                    skip_ws(level, &text, i),
                    skip_ws_portable(&text, i),
                    "{level:?} at {i}"
                );
            }
        }
    }
}
