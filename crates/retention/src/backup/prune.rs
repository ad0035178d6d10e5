//! Which backups to keep: the newest backup of each of the last
//! `keep_daily` days that have one, and the newest of each of the last
//! `keep_monthly` months that have one (days and months in UTC). The newest
//! backup is always kept. Everything else is deleted.

use chrono::{DateTime, Datelike, Utc};
use std::collections::BTreeSet;

/// The retention rule for backups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneRule {
    /// Daily backups kept (default 35).
    pub keep_daily: u32,
    /// Monthly backups kept (default 12).
    pub keep_monthly: u32,
}

impl Default for PruneRule {
    fn default() -> Self {
        Self {
            keep_daily: 35,
            keep_monthly: 12,
        }
    }
}

/// Splits `backups` (id, time) into (keep, delete), each newest first.
pub fn plan(backups: &[(String, DateTime<Utc>)], rule: PruneRule) -> (Vec<String>, Vec<String>) {
    let mut sorted: Vec<&(String, DateTime<Utc>)> = backups.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    let mut keep = BTreeSet::new();
    if let Some(newest) = sorted.first() {
        keep.insert(newest.0.clone());
    }
    let mut pick = |limit: u32, bucket: &dyn Fn(&DateTime<Utc>) -> (i32, u32)| {
        let mut last = None;
        let mut kept = 0;
        for (id, at) in &sorted {
            if kept >= limit {
                break;
            }
            let b = bucket(at);
            if last != Some(b) {
                last = Some(b);
                keep.insert(id.clone());
                kept += 1;
            }
        }
    };
    pick(rule.keep_daily, &|t| (t.year(), t.ordinal()));
    pick(rule.keep_monthly, &|t| (t.year(), t.month()));
    let (k, d): (Vec<&String>, Vec<&String>) = sorted
        .iter()
        .map(|(id, _)| id)
        .partition(|id| keep.contains(*id));
    (
        k.into_iter().cloned().collect(),
        d.into_iter().cloned().collect(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::{Duration, TimeZone};

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn two_years_of_daily_backups_keep_35_days_and_12_months() {
        let end = at(2026, 11, 26, 3);
        let backups: Vec<_> = (0..730)
            .map(|i| {
                let t = end - Duration::days(i);
                (t.format("%Y%m%d").to_string(), t)
            })
            .collect();
        let (keep, delete) = plan(&backups, PruneRule::default());
        assert_eq!(keep.len() + delete.len(), 730);
        // 35 days back (Oct 23 … Nov 26) cover Oct and Nov; the other
        // ten months' newest backups are their last days.
        assert_eq!(keep.len(), 35 + 10, "{keep:?}");
        assert!(keep.contains(&"20261126".to_owned()));
        assert!(keep.contains(&"20261023".to_owned()));
        assert!(!keep.contains(&"20261022".to_owned()));
        assert!(keep.contains(&"20260930".to_owned()));
        assert!(keep.contains(&"20260131".to_owned()));
        assert!(keep.contains(&"20251231".to_owned()));
        assert!(!keep.contains(&"20251130".to_owned()));
    }

    #[test]
    fn several_a_day_keep_the_newest_of_each_day() {
        let backups = vec![
            ("a".to_owned(), at(2026, 11, 26, 1)),
            ("b".to_owned(), at(2026, 11, 26, 13)),
            ("c".to_owned(), at(2026, 11, 25, 13)),
        ];
        let (keep, delete) = plan(
            &backups,
            PruneRule {
                keep_daily: 5,
                keep_monthly: 0,
            },
        );
        assert_eq!(keep, vec!["b", "c"]);
        assert_eq!(delete, vec!["a"]);
    }

    #[test]
    fn the_newest_is_kept_even_with_a_zero_rule() {
        let backups = vec![("a".to_owned(), at(2026, 1, 1, 0))];
        let (keep, _) = plan(
            &backups,
            PruneRule {
                keep_daily: 0,
                keep_monthly: 0,
            },
        );
        assert_eq!(keep, vec!["a"]);
    }
}
