//! The `--json` record of one host and the `--log` line, with the small
//! RFC 3339 timestamp formatter they share.

use std::time::{SystemTime, UNIX_EPOCH};

use super::HostInfo;
use super::capture::Captured;
use crate::engine::Report;

/// One JSON object (one line) for a host, fields in a fixed order: the
/// shared ones, then the job's own. Output is carried up to
/// [`super::capture::HEAD_LIMIT`] bytes per stream; `truncated` counts
/// the bytes left out (null when none were).
pub fn json(
    report: &Report,
    host: &HostInfo,
    out: Option<&Captured>,
    err: Option<&Captured>,
) -> String {
    // Serialising strings, numbers and options cannot fail.
    let j = |v: &dyn erased::Json| v.json();
    let head = |c: Option<&Captured>| c.map_or(String::new(), |c| lossy_head(&c.head));
    let cut = |c: Option<&Captured>| c.map_or(0, |c| c.total - c.head.len() as u64);
    let truncated = match (cut(out), cut(err)) {
        (0, 0) => "null".to_string(),
        (o, e) => format!("{{\"stdout\":{o},\"stderr\":{e}}}"),
    };
    let mut fields: Vec<(&str, String)> = vec![
        ("host", j(&host.label)),
        // As the host list gave it (user@host:port): feeds a new run.
        ("target", j(&host.entry)),
        ("user", j(&host.user)),
        ("port", j(&host.port)),
        ("status", j(&report.status.name())),
        ("exit_code", j(&report.exit.code)),
        ("signal", j(&report.exit.signal)),
        ("stdout", j(&head(out))),
        ("stderr", j(&head(err))),
        ("truncated", truncated),
        ("error", j(&report.error)),
        ("started", j(&rfc3339(report.started))),
        ("duration_ms", j(&(report.duration.as_millis() as u64))),
    ];
    for (k, v) in &report.fields {
        fields.push((k, v.to_string()));
    }
    let body: Vec<String> = fields
        .into_iter()
        .map(|(k, v)| format!("\"{k}\":{v}"))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// Text for JSON: invalid UTF-8 becomes U+FFFD, and a character cut at
/// the end of the head is left out rather than mangled.
fn lossy_head(bytes: &[u8]) -> String {
    let bytes = match std::str::from_utf8(bytes) {
        Err(e) if e.error_len().is_none() => &bytes[..e.valid_up_to()],
        _ => bytes,
    };
    String::from_utf8_lossy(bytes).into_owned()
}

mod erased {
    /// A value that serialises to JSON text.
    pub trait Json {
        fn json(&self) -> String;
    }

    impl<T: serde::Serialize + ?Sized> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_else(|_| "null".to_string())
        }
    }
}

/// One `--log` line: time, host, status, exit, duration, error.
pub fn log_line(report: &Report, label: &str) -> String {
    let exit = match (&report.exit.code, &report.exit.signal) {
        (_, Some(sig)) => format!("signal={sig}"),
        (Some(code), None) => format!("exit={code}"),
        (None, None) => "exit=-".to_string(),
    };
    let mut line = format!(
        "{} {label} {} {exit} {:.3}s",
        rfc3339(report.started),
        report.status.name(),
        report.duration.as_secs_f64()
    );
    if let Some(e) = &report.error {
        line.push(' ');
        line.push_str(&e.replace('\n', " "));
    }
    line.push('\n');
    line
}

/// `2026-11-28T15:04:05.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_878_245_123);
        assert_eq!(rfc3339(t), "2026-11-28T15:04:05.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(&rfc3339(leap)[..10], "2000-02-29");
    }
}
