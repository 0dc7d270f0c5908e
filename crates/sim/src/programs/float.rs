//! `str::parse::<f64>` for the programs' arguments (`seq`'s operands, `sleep`'s
//! intervals, curl's `--max-time`): the same grammar and the same correctly
//! rounded result, computed exactly with big integers.
//!
//! Why not std's: its parser (Eisel-Lemire) carries a 10 KB table of 128-bit
//! powers of five that gzip cannot shrink, about 4% of the page's download for a
//! few short strings a run. This one is slow (a quotient found a bit at a time),
//! which such strings can afford. The tests at the bottom compare it with std's
//! on every kind of input; to go back, call `str::parse` again.

use std::cmp::Ordering;

/// `s.parse::<f64>().ok()`: `[+-]`, then `DIGITS[.DIGITS]` or `.DIGITS`, with an
/// optional exponent `e[+-]DIGITS` (or `E`); or `inf`, `infinity`, `nan` in any
/// case.
pub fn parse_f64(s: &str) -> Option<f64> {
    let (negative, rest) = sign(s);
    let magnitude = match decimal(rest) {
        Some((digits, exponent)) => nearest(digits, exponent),
        None if rest.eq_ignore_ascii_case("inf") || rest.eq_ignore_ascii_case("infinity") => {
            f64::INFINITY
        }
        None if rest.eq_ignore_ascii_case("nan") => f64::NAN,
        None => return None,
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// Whether `s` starts with `-`, and `s` without its sign (`-` or `+`).
fn sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

/// An unsigned `DIGITS[.DIGITS][e[+-]DIGITS]` (a digit at least before the
/// exponent): its digits, and the power of ten they are multiplied by.
fn decimal(s: &str) -> Option<(Vec<u8>, i64)> {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: Vec<u8> = whole.bytes().chain(fraction.bytes()).collect();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut power = -(fraction.len() as i64);
    if let Some(e) = exponent {
        let (minus, e) = sign(e);
        if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Saturated as std's is: far beyond any f64 either way.
        let n = e.bytes().fold(0i64, |n, b| {
            if n < 0x10000 {
                10 * n + i64::from(b - b'0')
            } else {
                n
            }
        });
        power += if minus { -n } else { n };
    }
    Some((digits, power))
}

/// The f64 nearest `digits × 10^power` (ties to even).
fn nearest(mut digits: Vec<u8>, mut power: i64) -> f64 {
    while digits.last() == Some(&b'0') {
        digits.pop();
        power += 1;
    }
    let leading_zeros = digits.iter().take_while(|&&d| d == b'0').count();
    let count = (digits.len() - leading_zeros) as i64;
    if count == 0 {
        return 0.0;
    }
    // At least 10^(count - 1 + power), less than 10^(count + power): beyond
    // f64::MAX (1.8e308), or below half the least subnormal (2.5e-324).
    if count + power > 310 {
        return f64::INFINITY;
    }
    if count + power < -324 {
        return 0.0;
    }
    let mut num = Big::from_digits(&digits[leading_zeros..]);
    let mut den = Big::from_digits(b"1");
    let scaled = if power > 0 { &mut num } else { &mut den };
    for _ in 0..power.unsigned_abs() {
        scaled.mul_add(10, 0);
    }
    // The value is q × 2^e with 2^52 <= q < 2^53, or a subnormal (e = -1074).
    let mut e = (num.bits() as i64 - den.bits() as i64 - 53).max(-1074);
    let (mut q, half) = loop {
        let (q, half) = quotient(&num, &den, e);
        if q < 1 << 53 {
            break (q, half);
        }
        e += 1;
    };
    if half == Ordering::Greater || (half == Ordering::Equal && q & 1 == 1) {
        q += 1;
        if q == 1 << 53 {
            q >>= 1;
            e += 1;
        }
    }
    if q < 1 << 52 {
        return f64::from_bits(q);
    }
    let biased = e + 1075;
    if biased >= 0x7ff {
        return f64::INFINITY;
    }
    f64::from_bits(((biased as u64) << 52) | (q & ((1 << 52) - 1)))
}

/// `num / (den × 2^e)` rounded down (less than 2^54 here), and how the
/// remainder compares with half the divisor.
fn quotient(num: &Big, den: &Big, e: i64) -> (u64, Ordering) {
    let (mut rest, divisor) = if e >= 0 {
        (num.clone(), den.shl(e as usize))
    } else {
        (num.shl(e.unsigned_abs() as usize), den.clone())
    };
    let mut q = 0u64;
    for bit in (0..54).rev() {
        let part = divisor.shl(bit);
        if rest.cmp(&part) != Ordering::Less {
            rest.sub(&part);
            q |= 1 << bit;
        }
    }
    (q, rest.shl(1).cmp(&divisor))
}

/// An unsigned big integer: 32-bit limbs, least significant first, no zero
/// limb at the top.
#[derive(Clone)]
struct Big(Vec<u32>);

impl Big {
    fn from_digits(digits: &[u8]) -> Big {
        let mut n = Big(Vec::new());
        for d in digits {
            n.mul_add(10, u32::from(d - b'0'));
        }
        n
    }

    /// `self = self × m + a`.
    fn mul_add(&mut self, m: u32, a: u32) {
        let mut carry = u64::from(a);
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn bits(&self) -> usize {
        self.0
            .last()
            .map_or(0, |top| 32 * self.0.len() - top.leading_zeros() as usize)
    }

    /// `self × 2^n`, for a nonzero `self` or `n` < 32.
    fn shl(&self, n: usize) -> Big {
        let (limbs, bits) = (n / 32, n % 32);
        let mut out = vec![0; limbs];
        let mut carry = 0u32;
        for &limb in &self.0 {
            out.push(limb << bits | carry);
            carry = if bits == 0 { 0 } else { limb >> (32 - bits) };
        }
        if carry > 0 {
            out.push(carry);
        }
        Big(out)
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    /// `self -= other`, which is not larger.
    fn sub(&mut self, other: &Big) {
        let mut borrow = false;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let (v, b1) = limb.overflowing_sub(other.0.get(i).copied().unwrap_or(0));
            let (v, b2) = v.overflowing_sub(u32::from(borrow));
            *limb = v;
            borrow = b1 || b2;
        }
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn same_as_std(s: &str) {
        let std = s.parse::<f64>().ok().map(f64::to_bits);
        assert_eq!(parse_f64(s).map(f64::to_bits), std, "{s:?}");
    }

    // ------------------------------------------------------------------ grammar

    #[test]
    fn it_accepts_and_refuses_what_std_does() {
        for s in [
            "",
            "+",
            "-",
            ".",
            "+.",
            "e5",
            ".e5",
            "1e",
            "1e+",
            "1e-",
            "1.e3",
            ".5",
            "5.",
            "-.5e-3",
            "+5",
            "--5",
            "+-5",
            "1..2",
            "1.2.3",
            "1e5e3",
            "1e5.3",
            " 1",
            "1 ",
            "1_000",
            "0x10",
            "inf",
            "-inf",
            "+INF",
            "Infinity",
            "-infinitY",
            "infinit",
            "infinityy",
            "nan",
            "-NaN",
            "+nan",
            "nanx",
            "in",
            "i",
            "1E5",
            "1e+05",
            "1e-05",
            "00012.5000e0002",
            "0",
            "-0",
            "+0.0e-999",
            "0e99999999999999999999",
            "1e99999999999999999999",
            "1e-99999999999999999999",
            "٣",
            "1\u{0}",
            "१",
        ] {
            same_as_std(s);
        }
    }

    // ------------------------------------------------------------------ rounding

    #[test]
    fn it_rounds_the_hard_cases_as_std_does() {
        for s in [
            "0.1",
            "9007199254740992",
            "9007199254740993",
            "9007199254740994",
            "9007199254740995",
            "18014398509481990",
            "2.2250738585072011e-308",
            "2.2250738585072012e-308",
            "2.2250738585072014e-308",
            "2.225073858507201136057409796709131975934819546351645648e-308",
            "4.9406564584124654e-324",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "2.47032822920623272088284396434110686182529901307162382212792841250337753635104375932649918180817996189898282347722858865463328355177969898199387398005390939063150356595155702263922908583924491051844359318028499365361525003193704576782492193656236698636584807570015857692699037063119282795585513329278343384093519780155312465972635795746227664652728272200563740064854999770965994704540208281662262378573934507363390079677619305775067401763246736009689513405355374585166611342237666786041621596804619144672918403005300575308490487653917113865916462395249126236538818796362393732804238910186723484976682350898633885879256283027559956575244555072551893136908362547791869486679949683240497058210285131854513962138377228261454376934125320985913276672363281249",
            "2.47032822920623272088284396434110686182529901307162382212792841250337753635104375932649918180817996189898282347722858865463328355177969898199387398005390939063150356595155702263922908583924491051844359318028499365361525003193704576782492193656236698636584807570015857692699037063119282795585513329278343384093519780155312465972635795746227664652728272200563740064854999770965994704540208281662262378573934507363390079677619305775067401763246736009689513405355374585166611342237666786041621596804619144672918403005300575308490487653917113865916462395249126236538818796362393732804238910186723484976682350898633885879256283027559956575244555072551893136908362547791869486679949683240497058210285131854513962138377228261454376934125320985913276672363281251",
            "1e-324",
            "3e-324",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.7976931348623159e308",
            "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791.9999999999999999999999",
            "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792",
            "1e308",
            "1e309",
            "10e308",
            "0.000000000000000000000000000000000000000000001e350",
            "123456789012345678901234567890e-40",
            "1448997445238699",
            "3.0517578125e-05",
        ] {
            same_as_std(s);
        }
    }

    /// The decimal of `q × 2^-shift` exactly (`shift` > 0), as `DIGITSe-shift`:
    /// `q × 5^shift × 10^-shift`.
    fn exact(q: u64, shift: u32) -> String {
        let mut n = Big(vec![q as u32, (q >> 32) as u32]);
        while n.0.last() == Some(&0) {
            n.0.pop();
        }
        for _ in 0..shift {
            n.mul_add(5, 0);
        }
        let mut digits = Vec::new();
        while !n.0.is_empty() {
            // Divides by ten, most significant limb first.
            let mut rem = 0u64;
            for limb in n.0.iter_mut().rev() {
                let v = rem << 32 | u64::from(*limb);
                *limb = (v / 10) as u32;
                rem = v % 10;
            }
            while n.0.last() == Some(&0) {
                n.0.pop();
            }
            digits.push(b'0' + rem as u8);
        }
        digits.reverse();
        format!("{}e-{shift}", String::from_utf8(digits).unwrap())
    }

    #[test]
    fn it_rounds_ties_between_subnormals_and_normals_to_even() {
        // Halfway between neighbours: an odd multiple of 2^-1075, and of 2^-1023
        // and 2^-1022 around the least normal, and of 2^-60 among ordinary ones.
        for (q, shift) in [
            (1, 1075),
            (3, 1075),
            (5, 1075),
            ((1 << 53) - 1, 1075),
            ((1 << 53) + 1, 1075),
            ((1 << 54) - 1, 1075),
            ((1 << 54) + 1, 1074),
            ((1 << 53) + 1, 60),
            ((1 << 53) + 3, 60),
            ((1 << 54) - 1, 60),
        ] {
            same_as_std(&exact(q, shift));
            same_as_std(&exact(q + 1, shift));
            same_as_std(&exact(q - 1, shift));
        }
    }

    // ------------------------------------------------------------------ properties

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_numeral_parses_as_std_parses_it(
            s in "[+-]?[0-9]{0,30}(\\.[0-9]{0,30})?([eE][+-]?[0-9]{1,4})?"
        ) {
            same_as_std(&s);
        }

        #[test]
        fn any_string_of_its_characters_parses_as_std_parses_it(
            s in "[-+.eE0-9infatyINFATY]{0,12}"
        ) {
            same_as_std(&s);
        }

        #[test]
        fn any_f64_written_out_reads_back_as_std_reads_it(
            bits in any::<u64>(),
            precision in 0usize..30,
        ) {
            let x = f64::from_bits(bits);
            same_as_std(&format!("{x:e}"));
            same_as_std(&format!("{x:.precision$e}"));
            same_as_std(&format!("{x:.precision$}"));
        }

        #[test]
        fn any_integer_parses_as_std_parses_it(n in any::<u128>(), shift in 0u32..128) {
            same_as_std(&(n >> shift).to_string());
        }
    }
}
