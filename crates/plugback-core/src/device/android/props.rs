//! Pure parsers for what Android's shell prints: `getprop`, `dumpsys battery` and toybox
//! `df -k`. Unexpected text gives None (or leaves a field out), never a panic.

use crate::device::{Battery, Storage};
use std::collections::BTreeMap;

/// `getprop` without arguments: lines `[key]: [value]`. Other lines (a multi-line value's
/// continuation) are ignored.
pub fn parse_getprop(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.trim().split_once("]: [")?;
            let key = key.strip_prefix('[')?;
            let value = value.strip_suffix(']')?;
            (!key.is_empty()).then(|| (key.to_string(), value.to_string()))
        })
        .collect()
}

/// `dumpsys battery`: `  key: value` lines. None when no battery field is there at all.
pub fn parse_battery(text: &str) -> Option<Battery> {
    let fields: BTreeMap<&str, &str> = text
        .lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            Some((key.trim(), value.trim()))
        })
        .collect();
    let number = |key: &str| fields.get(key).and_then(|v| v.parse::<i64>().ok());
    let flag = |key: &str| match fields.get(key) {
        Some(&"true") => Some(true),
        Some(&"false") => Some(false),
        _ => None,
    };

    let level = number("level").and_then(|level| {
        let scale = number("scale").filter(|s| *s > 0).unwrap_or(100);
        (0..=scale)
            .contains(&level)
            .then(|| ((level * 100 + scale / 2) / scale) as u8)
    });
    let powered: Vec<bool> = [
        "AC powered",
        "USB powered",
        "Wireless powered",
        "Dock powered",
    ]
    .iter()
    .filter_map(|key| flag(key))
    .collect();
    // BatteryManager status 2 = charging.
    let status = number("status");
    let charging = if powered.is_empty() && status.is_none() {
        None
    } else {
        Some(powered.iter().any(|p| *p) || status == Some(2))
    };
    // Tenths of a degree Celsius; anything outside what a battery survives is noise.
    let temperature_c = number("temperature")
        .filter(|t| (-400..=1000).contains(t))
        .map(|t| t as f32 / 10.0);

    if level.is_none() && charging.is_none() && temperature_c.is_none() {
        return None;
    }
    Some(Battery {
        level,
        charging,
        temperature_c,
    })
}

/// toybox `df -k <path>`: a header, then `filesystem 1K-blocks used available use% mount`.
/// Takes the row mounted at `mount` when given and present, else the first row. A device
/// name too long for its column may push the numbers to the next line; that is joined.
pub fn parse_df(text: &str, mount: Option<&str>) -> Option<Storage> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next()?;
    if !header.contains("1K-blocks") {
        return None;
    }
    let mut rows: Vec<Vec<&str>> = Vec::new();
    let mut pending: Vec<&str> = Vec::new();
    for line in lines {
        pending.extend(line.split_whitespace());
        if pending.len() >= 6 {
            rows.push(std::mem::take(&mut pending));
        }
    }
    let chosen = mount
        .and_then(|m| rows.iter().find(|row| row[5..].join(" ") == m))
        .or_else(|| rows.first())?;
    let total_k: u64 = chosen[1].parse().ok()?;
    let free_k: u64 = chosen[3].parse().ok()?;
    Some(Storage {
        total_bytes: total_k.checked_mul(1024),
        free_bytes: free_k.checked_mul(1024),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Pixel 8 on Android 14, charging over USB.
    const BATTERY_ANDROID_14: &str = "Current Battery Service state:
  AC powered: false
  USB powered: true
  Wireless powered: false
  Dock powered: false
  Max charging current: 500000
  Max charging voltage: 5000000
  Charge counter: 3356000
  status: 2
  health: 2
  present: true
  level: 78
  scale: 100
  voltage: 4123
  temperature: 296
  technology: Li-ion
  Charging state: 1
  Charging policy: 1
  Capacity level: -1
";

    #[test]
    fn battery_of_android_14() {
        let b = parse_battery(BATTERY_ANDROID_14).unwrap();
        assert_eq!(b.level, Some(78));
        assert_eq!(b.charging, Some(true));
        assert_eq!(b.temperature_c, Some(29.6));
    }

    #[test]
    fn battery_unplugged_with_updates_stopped_and_odd_scale() {
        let text = "Current Battery Service state:\n  (UPDATES STOPPED -- use 'reset' to restart)\n  \
                    AC powered: false\n  USB powered: false\n  Wireless powered: false\n  \
                    status: 3\n  level: 50\n  scale: 200\n  temperature: -35\n";
        let b = parse_battery(text).unwrap();
        assert_eq!(b.level, Some(25));
        assert_eq!(b.charging, Some(false));
        assert_eq!(b.temperature_c, Some(-3.5));
        // Wireless charging counts; status 2 alone counts.
        let b = parse_battery("  Wireless powered: true\n  level: 9\n").unwrap();
        assert_eq!(b.charging, Some(true));
        let b = parse_battery("  status: 2\n").unwrap();
        assert_eq!(b.charging, Some(true));
    }

    #[test]
    fn malformed_battery_is_none_or_partial() {
        assert_eq!(parse_battery(""), None);
        assert_eq!(parse_battery("Can't find service: battery\n"), None);
        assert_eq!(parse_battery("\u{0}\u{1}:::\n  level: lots\n"), None);
        let b =
            parse_battery("  level: 400\n  scale: 100\n  temperature: 99999\n  AC powered: true\n")
                .unwrap();
        assert_eq!(b.level, None);
        assert_eq!(b.temperature_c, None);
        assert_eq!(b.charging, Some(true));
        let b = parse_battery("  level: 5\n  scale: 0\n").unwrap();
        assert_eq!(b.level, Some(5));
    }

    #[test]
    fn df_of_android_14_toybox() {
        let text = "Filesystem       1K-blocks     Used Available Use% Mounted on\n\
                    /dev/block/dm-48 118745424 43927300  74686580  38% /data\n";
        let s = parse_df(text, Some("/data")).unwrap();
        assert_eq!(s.total_bytes, Some(118_745_424 * 1024));
        assert_eq!(s.free_bytes, Some(74_686_580 * 1024));
    }

    #[test]
    fn df_picks_the_mount_and_joins_wrapped_rows() {
        let text = "Filesystem        1K-blocks     Used Available Use% Mounted on\n\
                    /dev/block/dm-7      986328   983400      2928 100% /\n\
                    /dev/block/bootdevice/by-name/userdata_extra_long_name\n\
                    \t\t 52000000 2000000  50000000   4% /data\n\
                    /dev/fuse           52000000 2000000  50000000   4% /storage/emulated\n";
        let s = parse_df(text, Some("/data")).unwrap();
        assert_eq!(s.total_bytes, Some(52_000_000 * 1024));
        let s = parse_df(text, Some("/nowhere")).unwrap();
        assert_eq!(s.total_bytes, Some(986_328 * 1024));
    }

    #[test]
    fn malformed_df_is_none() {
        assert_eq!(parse_df("", None), None);
        assert_eq!(
            parse_df("df: /data: No such file or directory\n", None),
            None
        );
        assert_eq!(
            parse_df(
                "Filesystem 1K-blocks Used Available Use% Mounted on\n",
                None
            ),
            None
        );
        assert_eq!(
            parse_df(
                "Filesystem 1K-blocks Used Available Use% Mounted on\nx y z w v u\n",
                None
            ),
            None
        );
        // Android 5's toolbox df has another layout: not guessed at.
        assert_eq!(
            parse_df(
                "Filesystem Size Used Free Blksize\n/data 12.5G 2.1G 10.4G 4096\n",
                None
            ),
            None
        );
    }

    #[test]
    fn getprop_lines() {
        let text = "[ro.build.version.release]: [14]\n[ro.product.model]: [Pixel 8]\n\
                    [ro.product.manufacturer]: [Google]\n[persist.empty]: []\n\
                    [multi.line]: [first\nsecond]\nnoise\n[]: [x]\n";
        let props = parse_getprop(text);
        assert_eq!(
            props.get("ro.product.model").map(String::as_str),
            Some("Pixel 8")
        );
        assert_eq!(
            props.get("ro.build.version.release").map(String::as_str),
            Some("14")
        );
        assert_eq!(props.get("persist.empty").map(String::as_str), Some(""));
        assert!(!props.contains_key("multi.line"));
        assert!(!props.contains_key(""));
    }
}
