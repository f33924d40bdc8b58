//! Numbers as CTPScript sees them: C's `atof` for strings (5.4.4 `toNumber`) and C's `%e`
//! for printing (5.4.4 `toString`). Both follow ISO C99 exactly, so a provider can predict
//! the text of a converted number from any C reference.

/// C99 `atof(s)`, which is `strtod(s, NULL)`: the longest prefix of `s` (after leading C
/// white space) that forms a decimal or hexadecimal floating constant, an infinity or a NaN;
/// `0.0` when there is no such prefix.
pub(crate) fn atof(s: &str) -> f64 {
    let bytes = s.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() && matches!(bytes[pos], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        pos += 1;
    }
    let negative = match bytes.get(pos) {
        Some(b'-') => {
            pos += 1;
            true
        }
        Some(b'+') => {
            pos += 1;
            false
        }
        _ => false,
    };
    // Without a subject sequence the result is +0: the sign belongs to no number.
    match unsigned_subject(&bytes[pos..]) {
        Some(magnitude) if negative => -magnitude,
        Some(magnitude) => magnitude,
        None => 0.0,
    }
}

/// The value of the subject sequence at the start of `b` (no sign), or `None` if there is
/// none.
fn unsigned_subject(b: &[u8]) -> Option<f64> {
    if b.len() >= 2 && b[0] == b'0' && (b[1] | 0x20) == b'x' {
        if let Some(v) = hex_float(&b[2..]) {
            return Some(v);
        }
        // "0x" without hex digits: the subject is the "0" alone.
        return Some(0.0);
    }
    if starts_with_ignore_case(b, b"inf") {
        return Some(f64::INFINITY);
    }
    if starts_with_ignore_case(b, b"nan") {
        return Some(f64::NAN);
    }
    decimal_float(b)
}

fn starts_with_ignore_case(b: &[u8], word: &[u8]) -> bool {
    b.len() >= word.len() && b[..word.len()].eq_ignore_ascii_case(word)
}

/// A decimal floating constant: digits, optional `.` and digits (at least one digit in all),
/// then an optional exponent that counts only if it has digits.
fn decimal_float(b: &[u8]) -> Option<f64> {
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut end = int_digits;
    let mut frac_digits = 0;
    if b.get(end) == Some(&b'.') {
        frac_digits = b[end + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        end += 1 + frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    let mantissa_end = end;
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let mut exp = end + 1;
        if matches!(b.get(exp), Some(b'+' | b'-')) {
            exp += 1;
        }
        let exp_digits = b[exp.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp_digits > 0 {
            end = exp + exp_digits;
        }
    }
    // Rust's parser rounds correctly, as glibc's strtod does; it wants digits on both sides
    // of a point, so spell the mantissa canonically.
    let int_part = &b[..int_digits];
    let frac_part = if mantissa_end > int_digits { &b[int_digits + 1..mantissa_end] } else { &[][..] };
    let exponent = &b[mantissa_end..end];
    let mut text = String::with_capacity(end + 2);
    text.push_str(if int_part.is_empty() { "0" } else { ascii(int_part) });
    if !frac_part.is_empty() {
        text.push('.');
        text.push_str(ascii(frac_part));
    }
    text.push_str(ascii(exponent));
    text.parse::<f64>().ok()
}

fn ascii(b: &[u8]) -> &str {
    // Only ever called on runs of ASCII digits, signs and exponent letters.
    std::str::from_utf8(b).unwrap_or("")
}

/// A hexadecimal floating constant after its `0x`: hex digits with an optional `.`, then an
/// optional binary exponent `p±d+`. Rounded to nearest, ties to even, like glibc.
pub(crate) fn hex_float(b: &[u8]) -> Option<f64> {
    let mut pos = 0;
    let mut mantissa: u64 = 0;
    let mut exp2: i64 = 0;
    let mut sticky = false;
    let mut n_digits = 0;
    let mut seen_point = false;
    while pos < b.len() {
        let c = b[pos];
        if c == b'.' && !seen_point {
            seen_point = true;
            pos += 1;
            continue;
        }
        let Some(d) = (c as char).to_digit(16) else { break };
        n_digits += 1;
        if mantissa >> 60 == 0 {
            mantissa = (mantissa << 4) | u64::from(d);
            if seen_point {
                exp2 -= 4;
            }
        } else {
            sticky |= d != 0;
            if !seen_point {
                exp2 += 4;
            }
        }
        pos += 1;
    }
    if n_digits == 0 {
        return None;
    }
    if matches!(b.get(pos), Some(b'p' | b'P')) {
        let mut exp = pos + 1;
        let negative = b.get(exp) == Some(&b'-');
        if matches!(b.get(exp), Some(b'+' | b'-')) {
            exp += 1;
        }
        let digits = b[exp.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 {
            let mut e: i64 = 0;
            for &c in &b[exp..exp + digits] {
                e = (e * 10 + i64::from(c - b'0')).min(100_000);
            }
            exp2 += if negative { -e } else { e };
        }
    }
    Some(compose(mantissa, exp2, sticky))
}

/// `mantissa × 2^exp2` (plus a non-zero tail below the mantissa when `sticky`), rounded to
/// the nearest double, ties to even.
pub(crate) fn compose(mantissa: u64, exp2: i64, sticky: bool) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    let lz = mantissa.leading_zeros();
    let m = mantissa << lz;
    let exp2 = exp2 - i64::from(lz);
    // value = m × 2^exp2 with m in [2^63, 2^64): its binary exponent is exp2 + 63.
    let top_exponent = exp2 + 63;
    if top_exponent > 1023 {
        return f64::INFINITY;
    }
    let keep: i64 = if top_exponent >= -1022 { 53 } else { 53 - (-1022 - top_exponent) };
    if keep <= 0 {
        // Below half the smallest subnormal, or exactly half of it with nothing more: zero;
        // anything larger rounds up to the smallest subnormal.
        let half_min = keep == 0 && (m > 1 << 63 || sticky);
        return if half_min { f64::from_bits(1) } else { 0.0 };
    }
    let shift = (64 - keep) as u32;
    let mut kept = m >> shift;
    let rest = m & ((1u64 << shift) - 1);
    let half = 1u64 << (shift - 1);
    if rest > half || (rest == half && (sticky || kept & 1 == 1)) {
        kept += 1;
    }
    // kept × 2^(exp2 + shift) is exactly representable: scale in two steps so that no
    // intermediate value under- or overflows.
    let scale = exp2 + i64::from(shift);
    let first = scale / 2;
    let second = scale - first;
    (kept as f64) * pow2(first) * pow2(second)
}

fn pow2(e: i64) -> f64 {
    // e stays within [-1100, 1100] for the values compose() builds.
    if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (e + 1074))
    }
}

/// C99 `sprintf("%e", x)`: one digit, a point, six digits, `e`, a sign and at least two
/// exponent digits (`6.400000e+00`). Infinities print as `inf`/`-inf` and NaN as `nan`.
pub(crate) fn format_e(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf".to_owned() } else { "inf".to_owned() };
    }
    let rust = format!("{x:.6e}");
    let (mantissa, exponent) = rust.split_once('e').unwrap_or((&rust, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atof_prefixes() {
        assert_eq!(atof("42"), 42.0);
        assert_eq!(atof("  \t\n-3.5e2xyz"), -350.0);
        assert_eq!(atof("1e"), 1.0);
        assert_eq!(atof("1e+"), 1.0);
        assert_eq!(atof(".5"), 0.5);
        assert_eq!(atof("5."), 5.0);
        assert_eq!(atof("."), 0.0);
        assert_eq!(atof("abc"), 0.0);
        assert_eq!(atof(""), 0.0);
        assert_eq!(atof("0x1p3"), 8.0);
        assert_eq!(atof("0x"), 0.0);
        assert_eq!(atof("0xg"), 0.0);
        assert_eq!(atof("0x.8"), 0.5);
        assert_eq!(atof("-infinity"), f64::NEG_INFINITY);
        assert_eq!(atof("INF"), f64::INFINITY);
        assert!(atof("nan(123)").is_nan());
        assert_eq!(atof("1e400"), f64::INFINITY);
        assert!(atof("-0").is_sign_negative());
        assert!(atof("-A").is_sign_positive(), "no subject sequence: +0");
        assert!(atof("-0x").is_sign_negative(), "the subject is -0");
    }

    #[test]
    fn format_e_examples() {
        assert_eq!(format_e(6.4), "6.400000e+00");
        assert_eq!(format_e(0.0), "0.000000e+00");
        assert_eq!(format_e(-0.0), "-0.000000e+00");
        assert_eq!(format_e(1e-7), "1.000000e-07");
        assert_eq!(format_e(1.7976931348623157e308), "1.797693e+308");
        assert_eq!(format_e(f64::NEG_INFINITY), "-inf");
    }
}
