//! Formatting message times: local time in the browser, UTC where no time zone is known (SSR).

/// `HH:MM` for a Unix timestamp in milliseconds: in the browser's time zone when `local` (after
/// hydration), in UTC otherwise, so the hydrating render matches the server's HTML.
pub fn clock(ms: i64, local: bool) -> String {
    #[cfg(feature = "hydrate")]
    if local {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
        return format!("{:02}:{:02}", date.get_hours(), date.get_minutes());
    }
    let _ = local;
    let minutes_of_day = ms.div_euclid(60_000).rem_euclid(24 * 60);
    format!("{:02}:{:02}", minutes_of_day / 60, minutes_of_day % 60)
}

#[cfg(all(test, not(feature = "hydrate")))]
mod tests {
    #[test]
    fn formats_utc_clock() {
        // 2026-11-23T19:16:00Z
        assert_eq!(super::clock(1_795_461_360_000, false), "19:16");
        assert_eq!(super::clock(0, true), "00:00");
    }
}
