//! Timestamp parsing for store logs: epoch seconds, milli-, micro- or nanoseconds, or ISO-8601 date-times.

/// Parses a timestamp into epoch seconds. Epoch numbers in seconds, milliseconds, microseconds
/// or nanoseconds are told apart by size: a seconds value above 10^11 would be after the year
/// 5138, so larger numbers are milliseconds, above 10^14 microseconds and above 10^17
/// nanoseconds (pandas and pyarrow write nanosecond timestamps; a Parquet TIMESTAMP(NANOS)
/// column arrives as a plain integer).
pub fn parse_timestamp(raw: &str) -> Option<i64> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(v) = s.parse::<i64>() {
        return Some(v.div_euclid(epoch_unit(v.unsigned_abs() as f64) as i64));
    }
    if let Ok(v) = s.parse::<f64>() {
        if v.is_finite() {
            return Some((v / epoch_unit(v.abs())).floor() as i64);
        }
        return None;
    }
    parse_iso(s)
}

/// How many of an epoch number's units make a second, judged by its size.
fn epoch_unit(magnitude: f64) -> f64 {
    match magnitude {
        m if m > 1e17 => 1e9,
        m if m > 1e14 => 1e6,
        m if m > 1e11 => 1e3,
        _ => 1.0,
    }
}

/// `YYYY-MM-DD`, optionally followed by `T` or a space and `HH:MM[:SS[.fff]]`, optional `Z`.
/// Offsets other than Z are rejected rather than guessed.
fn parse_iso(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut d = date.split('-');
    let y: i64 = d.next()?.parse().ok()?;
    let m: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut secs = days_from_civil(y, m, day) * 86_400;
    if let Some(t) = time {
        let t = t.split('.').next()?;
        let mut parts = t.split(':');
        let h: i64 = parts.next()?.parse().ok()?;
        let mi: i64 = parts.next()?.parse().ok()?;
        let sec: i64 = match parts.next() {
            Some(p) => p.parse().ok()?,
            None => 0,
        };
        if parts.next().is_some() || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        secs += h * 3600 + mi * 60 + sec;
    }
    Some(secs)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_epoch_and_iso_forms() {
        assert_eq!(parse_timestamp("881250949"), Some(881_250_949));
        assert_eq!(parse_timestamp("881250949.0"), Some(881_250_949));
        assert_eq!(parse_timestamp("1700000000123"), Some(1_700_000_000));
        assert_eq!(parse_timestamp("1700000000123456"), Some(1_700_000_000), "microseconds");
        assert_eq!(parse_timestamp("1700000000123456789"), Some(1_700_000_000), "nanoseconds");
        assert_eq!(parse_timestamp("1.7e18"), Some(1_700_000_000), "nanoseconds as a float");
        assert_eq!(parse_timestamp("-86400"), Some(-86_400), "before 1970");
        assert_eq!(parse_timestamp("1970-01-02"), Some(86_400));
        assert_eq!(parse_timestamp("2017-01-01T00:00:01Z"), Some(1_483_228_801));
        assert_eq!(parse_timestamp("2017-01-01 10:30"), Some(1_483_228_800 + 37_800));
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2017-13-01"), None);
        assert_eq!(parse_timestamp(""), None);
    }
}
