//! Resident memory of this process and of child processes, from `/proc`.

use std::path::Path;

fn status_field(path: &Path, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Peak resident set size (`VmHWM`) of this process, KiB. `None` off Linux.
#[must_use]
pub fn peak_kib() -> Option<u64> {
    status_field(Path::new("/proc/self/status"), "VmHWM:")
}

/// Current resident set size (`VmRSS`) of this process, KiB.
#[must_use]
pub fn current_kib() -> Option<u64> {
    status_field(Path::new("/proc/self/status"), "VmRSS:")
}

/// Resets the peak (`VmHWM`) to the current RSS, so that the next [`peak_kib`] is the
/// peak of what runs in between. Returns false where the kernel does not allow it.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
