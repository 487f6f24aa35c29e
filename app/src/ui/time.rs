//! Formatting message times and days: in the browser's time zone and locale after hydration,
//! in UTC (and a fixed English form) where none is known (server rendering), so the hydrating
//! render matches the server's HTML and the local form follows.

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// `HH:MM` for a Unix timestamp in milliseconds (24-hour, as Element and Discord show it).
pub fn clock(ms: i64, local: bool) -> String {
    #[cfg(feature = "hydrate")]
    if local {
        let date = js_date(ms);
        return format!("{:02}:{:02}", date.get_hours(), date.get_minutes());
    }
    let _ = local;
    let minutes_of_day = ms.div_euclid(60_000).rem_euclid(24 * 60);
    format!("{:02}:{:02}", minutes_of_day / 60, minutes_of_day % 60)
}

/// The calendar day of `ms` (year, month 1–12, day 1–31).
pub fn day(ms: i64, local: bool) -> (i32, u32, u32) {
    #[cfg(feature = "hydrate")]
    if local {
        let date = js_date(ms);
        return (date.get_full_year() as i32, date.get_month() + 1, date.get_date());
    }
    let _ = local;
    civil(ms.div_euclid(DAY_MS))
}

/// A day separator's words: "Today", "Yesterday", or the date in the reader's locale
/// ("Monday, November 30", with the year when it is not this year's).
pub fn day_label(ms: i64, now_ms: i64, local: bool) -> String {
    let (d, today) = (day(ms, local), day(now_ms, local));
    if d == today {
        return "Today".to_owned();
    }
    if d == day(now_ms - DAY_MS, local) {
        return "Yesterday".to_owned();
    }
    #[cfg(feature = "hydrate")]
    if local {
        let mut options = vec![("weekday", "long"), ("month", "long"), ("day", "numeric")];
        if d.0 != today.0 {
            options.push(("year", "numeric"));
        }
        return intl(ms, &options);
    }
    let (y, m, dd) = d;
    format!("{y}-{m:02}-{dd:02}")
}

/// The full date and time, for a time's tooltip ("Monday, November 30, 2026 at 14:05").
pub fn full(ms: i64, local: bool) -> String {
    #[cfg(feature = "hydrate")]
    if local {
        return intl(ms, &[("dateStyle", "full"), ("timeStyle", "short")]);
    }
    let _ = local;
    let (y, m, d) = civil(ms.div_euclid(DAY_MS));
    format!("{y}-{m:02}-{d:02} {} UTC", clock(ms, false))
}

/// The machine-readable form for `<time datetime>` (UTC, ISO 8601).
pub fn iso(ms: i64) -> String {
    let (y, m, d) = civil(ms.div_euclid(DAY_MS));
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Now, in milliseconds since the epoch (the browser's clock; the server's when rendering).
pub fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

/// The (proleptic Gregorian) date of a day number since 1970-01-01: Howard Hinnant's
/// `civil_from_days`.
fn civil(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

#[cfg(feature = "hydrate")]
fn js_date(ms: i64) -> js_sys::Date {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64))
}

/// `Intl.DateTimeFormat` in the reader's locale (no locale given) with these options.
#[cfg(feature = "hydrate")]
fn intl(ms: i64, options: &[(&str, &str)]) -> String {
    use wasm_bindgen::JsValue;
    let opts = js_sys::Object::new();
    for (k, v) in options {
        let _ = js_sys::Reflect::set(&opts, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &opts).format();
    format
        .call1(&JsValue::UNDEFINED, &js_date(ms))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

#[cfg(all(test, not(feature = "hydrate")))]
mod tests {
    use super::*;

    // 2026-11-23T19:16:00Z
    const T: i64 = 1_795_461_360_000;

    #[test]
    fn formats_utc_clock_and_dates() {
        assert_eq!(clock(T, false), "19:16");
        assert_eq!(clock(0, true), "00:00");
        assert_eq!(iso(T), "2026-11-23T19:16:00Z");
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(day(T, false), (2026, 11, 23));
        assert_eq!(civil(-1), (1969, 12, 31));
        assert_eq!(civil(11_016), (2000, 2, 29));
        assert_eq!(full(T, false), "2026-11-23 19:16 UTC");
    }

    #[test]
    fn labels_days_relative_to_now() {
        assert_eq!(day_label(T, T + 60_000, false), "Today");
        assert_eq!(day_label(T, T + DAY_MS, false), "Yesterday");
        assert_eq!(day_label(T, T + 3 * DAY_MS, false), "2026-11-23");
    }
}
