//! Where the machine's CPU went during a window, from `/proc` (Linux): the whole machine, this
//! process, and the database and bus servers by process name. On a shared machine this shows
//! whether a result was limited by the work measured or by someone else's compile.

use std::collections::BTreeMap;
use std::time::Duration;

/// Clock ticks per second of `/proc` times (`USER_HZ`, 100 on every Linux this runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time consumed so far.
#[derive(Debug, Clone, Default)]
pub struct CpuSnapshot {
    /// Busy ticks of all cores together.
    machine_busy: u64,
    /// All ticks of all cores together (busy + idle + iowait).
    machine_total: u64,
    /// This process.
    this_process: u64,
    /// Processes by name (`postgres`, `nats-server`), summed.
    by_name: BTreeMap<&'static str, u64>,
}

/// What a window cost, in cores (CPU seconds per second).
#[derive(Debug, Clone)]
pub struct CpuUse {
    pub cores_available: f64,
    pub machine: f64,
    pub this_process: f64,
    pub by_name: BTreeMap<&'static str, f64>,
    pub seconds: f64,
}

impl CpuSnapshot {
    /// Reads `/proc`; `None` where it is not available (not Linux).
    pub fn take(names: &[&'static str]) -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let machine: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|field| field.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal …
        let idle = machine.get(3).copied().unwrap_or(0) + machine.get(4).copied().unwrap_or(0);
        let total: u64 = machine.iter().take(8).sum();
        let mut by_name: BTreeMap<&'static str, u64> = names.iter().map(|n| (*n, 0)).collect();
        let mut this_process = 0;
        let own_pid = std::process::id().to_string();
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let pid = entry.file_name();
            let Some(pid) = pid.to_str() else { continue };
            if !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let Some((name, ticks)) = process_ticks(&stat) else {
                continue;
            };
            if pid == own_pid {
                this_process = ticks;
            } else if let Some(sum) = by_name.get_mut(name) {
                *sum += ticks;
            }
        }
        Some(Self {
            machine_busy: total.saturating_sub(idle),
            machine_total: total,
            this_process,
            by_name,
        })
    }

    /// The CPU used between `self` (earlier) and `later`, over `elapsed`. Processes that
    /// started or ended inside the window count only with the time they showed at its ends.
    pub fn until(&self, later: &Self, elapsed: Duration) -> CpuUse {
        let seconds = elapsed.as_secs_f64().max(f64::EPSILON);
        let cores = |ticks: u64| ticks as f64 / TICKS_PER_SECOND / seconds;
        let total = later.machine_total.saturating_sub(self.machine_total) as f64;
        let busy = later.machine_busy.saturating_sub(self.machine_busy) as f64;
        CpuUse {
            cores_available: total / TICKS_PER_SECOND / seconds,
            machine: busy / TICKS_PER_SECOND / seconds,
            this_process: cores(later.this_process.saturating_sub(self.this_process)),
            by_name: later
                .by_name
                .iter()
                .map(|(name, ticks)| {
                    let before = self.by_name.get(name).copied().unwrap_or(0);
                    (*name, cores(ticks.saturating_sub(before)))
                })
                .collect(),
            seconds,
        }
    }
}

/// The name and user + system ticks of one `/proc/<pid>/stat` line.
fn process_ticks(stat: &str) -> Option<(&str, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?;
    let fields: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    // After the name: state(3) … utime(14) stime(15), counting from 1 with pid and name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

impl CpuUse {
    /// One line: the machine's load and who used it, in cores and per operation.
    pub fn describe(&self, operations: u64) -> String {
        let per_operation = |cores: f64| {
            if operations == 0 {
                0.0
            } else {
                cores * self.seconds * 1000.0 / operations as f64
            }
        };
        let named: f64 = self.by_name.values().sum();
        let others = (self.machine - self.this_process - named).max(0.0);
        let mut parts = vec![format!(
            "this process {:.2} ({:.2} ms/op)",
            self.this_process,
            per_operation(self.this_process)
        )];
        for (name, cores) in &self.by_name {
            parts.push(format!(
                "{name} {cores:.2} ({:.2} ms/op)",
                per_operation(*cores)
            ));
        }
        parts.push(format!("everything else {others:.2}"));
        format!(
            "machine {:.2} of {:.0} cores busy: {}",
            self.machine,
            self.cores_available,
            parts.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_stat_lines_parse_with_odd_names() {
        let line = "4242 (tokio-rt (worker)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 \
                    4 0 1000 0 0";
        assert_eq!(process_ticks(line), Some(("tokio-rt (worker)", 300)));
    }
}
