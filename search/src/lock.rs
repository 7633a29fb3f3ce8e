//! The lock of a campaign directory: one process at a time works on a campaign.
//!
//! `campaign.lock` in the directory carries an OS file lock (`File::try_lock`: `flock` on
//! Unix) for as long as a [`Campaign`](crate::Campaign) value lives. The kernel releases it
//! when the process ends, however it ends, so a killed campaign never locks itself out. The
//! file's text names the holder (pid and start time) for the error a second process prints;
//! the file stays behind when the holder ends and means nothing without the lock.

use crate::error::{Result, SearchError};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// File name of the lock inside a campaign directory.
pub const LOCK_FILE: &str = "campaign.lock";

/// The lock of one campaign directory, held until dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock of `dir` (which must exist) without waiting: a
    /// [`SearchError::Locked`] naming the holder when another process has it.
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| SearchError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                // The holder names itself just after taking the lock: give it a moment.
                let mut named = holder(&mut file);
                for _ in 0..20 {
                    if named.is_some() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(25));
                    named = holder(&mut file);
                }
                return Err(SearchError::Locked {
                    path: dir.display().to_string(),
                    holder: named.unwrap_or_else(|| "holder not named yet".to_string()),
                });
            }
            Err(TryLockError::Error(e)) => return Err(SearchError::io(&path, e)),
        }
        let text = format!(
            "pid {}, started {}\n",
            std::process::id(),
            utc_text(unix_seconds())
        );
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(text.as_bytes()))
            .map_err(|e| SearchError::io(&path, e))?;
        Ok(DirLock { _file: file })
    }
}

/// The holder's line of a lock file (at most 200 characters), if it has written one.
fn holder(file: &mut File) -> Option<String> {
    let mut bytes = Vec::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.take(512).read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let line: String = (text.lines().next().unwrap_or(""))
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    (!line.trim().is_empty()).then_some(line)
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `YYYY-MM-DD HH:MM:SS UTC` of Unix seconds `t` (the proleptic Gregorian calendar).
fn utc_text(t: u64) -> String {
    let (days, secs) = (t / 86_400, t % 86_400);
    // Days since 1970-01-01 to a civil date (H. Hinnant's `civil_from_days`).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_names_the_holder_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        let e = DirLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(e.contains("is in use by another kas process"), "{e}");
        assert!(
            e.contains(&format!("(pid {}, started ", std::process::id())),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "{e}");
        drop(first);
        DirLock::acquire(dir.path()).expect("released on drop");
    }

    #[test]
    fn utc_dates_are_civil_dates() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_text(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_text(1_767_225_599), "2025-12-31 23:59:59 UTC");
    }
}
