//! How a run works: `--memory-limit`, `--engine` and `--engine-timeout`
//! (the engine's own rules are the engine's: `Engine::check`), and the
//! findings' flags.

use crate::cli::FindingArgs;
use crate::engine::Engine;
use crate::error::{usage, BadValue};
use crate::rollup::findings::{Rules, WorkHours};
use anyhow::Result;

/// Half of this machine's memory: the default `--memory-limit`.
fn half_of_ram() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = text
        .lines()
        .find(|l| l.starts_with("MemTotal:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib * 1024 / 2)
}

/// Parses `--memory-limit`: `auto` (half of RAM), `off`, or a size like
/// `512MiB`, `2GiB`, `1.5GB`, `800M`.
pub fn parse_memory_limit(text: &str) -> Result<Option<u64>, BadValue> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("auto") {
        return Ok(half_of_ram());
    }
    if t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "unknown unit {unit:?}; expected a size like 512MiB or 2GB, auto or off"
            )
            .into())
        }
    };
    // Whole units, or one fraction in thousandths: no float in the byte count.
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    if whole.is_empty() && frac.is_empty() || frac.len() > 3 || frac.contains('.') {
        return Err("expected a size like 512MiB or 2GB, auto or off".into());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| "number too large".to_string())?
    };
    let thousandths: u64 = format!("{frac:0<3}").parse().unwrap_or(0);
    let bytes = whole
        .checked_mul(scale)
        .and_then(|b| b.checked_add(thousandths * scale / 1000))
        .ok_or("size too large")?;
    if bytes == 0 {
        return Err("the limit must be above zero".into());
    }
    Ok(Some(bytes))
}

/// `--engine` (SPEC 11), and whether this build has that engine.
pub(super) fn engine_of(text: &str) -> Result<Engine> {
    // The value may hold a token: it is never repeated in a message.
    let engine = Engine::parse(text).map_err(|e| usage(format!("--engine: {e}")))?;
    engine.check().map_err(|e| usage(e.0))?;
    Ok(engine)
}

/// The findings' rules (SPEC 10.2), or a usage error naming the flag, its
/// value and the rule.
pub(super) fn findings(a: &FindingArgs) -> Result<Rules> {
    let flag = |name: &str, value: &str| {
        let (name, value) = (name.to_string(), value.to_string());
        move |rule: BadValue| usage(format!("{name} {value:?}: {rule}"))
    };
    let (start, end) =
        WorkHours::parse_hours(&a.work_hours).map_err(flag("--work-hours", &a.work_hours))?;
    let days = WorkHours::parse_days(&a.work_days).map_err(flag("--work-days", &a.work_days))?;
    Ok(Rules {
        long: Rules::parse_long(&a.long_session)
            .map_err(flag("--long-session", &a.long_session))?,
        idle_share_ppm: Rules::parse_idle_share(&a.idle_share)
            .map_err(flag("--idle-share", &a.idle_share))?,
        work: WorkHours { start, end, days },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_limits() {
        assert_eq!(parse_memory_limit("512MiB"), Ok(Some(512 << 20)));
        assert_eq!(parse_memory_limit("2GB"), Ok(Some(2_000_000_000)));
        assert_eq!(parse_memory_limit("1.5GiB"), Ok(Some(3 << 29)));
        assert_eq!(parse_memory_limit("800m"), Ok(Some(800_000_000)));
        assert_eq!(parse_memory_limit("off"), Ok(None));
        assert!(parse_memory_limit("auto").unwrap().is_some_and(|b| b > 0));
        for bad in [
            "",
            "0",
            "12 parsecs",
            "1.2.3GB",
            "-1GB",
            "1.2345GB",
            "99999999999999999999GB",
        ] {
            assert!(parse_memory_limit(bad).is_err(), "{bad:?}");
        }
    }
}
