//! One browser's side of an experiment, as plain state the web layer persists: which arm it is
//! in, what happened today, and which finished day is due to be reported. No clock or storage
//! here: every call is given the time, and the caller saves [`ExperimentState`] after it.
//!
//! Rules that keep the aggregate honest:
//! - the arm is drawn once per browser per experiment from a stored coin, never re-drawn;
//! - a day is reported at most once ([`ExperimentState::take_report`] remembers the last day
//!   reported), and only a day whose homepage was shown;
//! - a clock that jumps back adds to the current day instead of reopening an earlier one, so a
//!   day can never be tallied twice;
//! - the first click counts only on an item of the homepage order shown last that day.

use serde::{Deserialize, Serialize};
#[cfg(feature = "tsify")]
use tsify::Tsify;

use super::{Arm, DayOutcome, FirstClick};
use crate::error::LocalRankError;

const MS_PER_DAY: f64 = 86_400_000.0;

/// How many leading ids of the shown homepage order are kept to place a first click: the
/// tracked slots and beyond (a click further down counts as "other", as does one past this).
const KEPT_ORDER: usize = 60;

/// The storefront's experiment settings (`open({ experiment })`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
pub struct ExperimentConfig {
    /// Names the experiment: a new id is a new experiment, with a new coin and tally.
    pub id: String,
    /// The share of browsers in the personalized arm, 0–1 (default 0.5).
    #[serde(default = "half")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub split: f64,
    /// The DAP task the day's reports go to (`takeReport()`, docs/measurement.md). Kept as
    /// given and checked by the engine at `open()`: a mistake in it is an `InvalidOptions`
    /// warning (and `takeReport()`'s error), never a reason to stop ranking or tallying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "DapTaskConfig"))]
    pub dap: Option<crate::json_tree::Node>,
}

fn half() -> f64 {
    0.5
}

impl ExperimentConfig {
    pub fn validate(&self) -> Result<(), LocalRankError> {
        let bad = |field: &str, reason: String| LocalRankError::invalid_option(&format!("experiment.{field}"), reason);
        if self.id.trim().is_empty() || self.id.len() > 64 {
            return Err(bad("id", format!("must be a non-empty name of at most 64 bytes, got {:?}", self.id)));
        }
        if !(self.split.is_finite() && (0.0..=1.0).contains(&self.split)) {
            return Err(bad("split", format!("must be the personalized arm's share from 0 to 1, got {}", self.split)));
        }
        Ok(())
    }
}

/// What one browser knows about its experiment: persisted by the history store as the text
/// of [`ExperimentState::to_record`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentState {
    pub id: String,
    /// A uniform 32-bit draw, made once: the arm is personalized when `coin / 2³² < split`.
    /// An integer so the record needs no float parsing (which would add ~10 KB to the wasm).
    pub coin: u32,
    /// The day being tallied (days since 1970, UTC), if any event came yet.
    pub day: Option<i64>,
    pub today: DayTally,
    /// The outcome of the last finished day, waiting for `take_report`.
    pub pending: Option<(i64, DayOutcome)>,
    /// The last day handed out as a report: never again.
    pub reported_through: Option<i64>,
}

/// The running tally of the current day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayTally {
    /// The homepage was shown (ranked, in either arm).
    pub shown: bool,
    /// The leading ids of the homepage order shown last.
    pub order: Vec<String>,
    pub first_click: Option<FirstClick>,
    pub converted: bool,
}

/// The record's format tag: a stored state in another format is a new start, not a misread.
const RECORD_VERSION: &str = "lr-exp-1";
/// Separates the record's fields: a control character no id or experiment name contains
/// (ids are checked text; a name holding one fails to round-trip and starts afresh).
const SEP: char = '\u{1f}';

impl ExperimentState {
    /// The state as one line of text, for the store. Hand-written rather than serde: the derive
    /// for these nested enums cost the wasm ~10 KB gzip.
    pub fn to_record(&self) -> String {
        let opt = |d: Option<i64>| d.map_or(String::new(), |d| d.to_string());
        let first_click = self.today.first_click.map_or(String::new(), |c| DayOutcome { arm: super::Arm::Control, first_click: c, converted: false }.bucket().to_string());
        let pending = self.pending.map_or(String::new(), |(day, outcome)| format!("{day}:{}", outcome.bucket()));
        let mut fields = vec![
            RECORD_VERSION.to_owned(),
            self.id.clone(),
            self.coin.to_string(),
            opt(self.day),
            u8::from(self.today.shown).to_string(),
            first_click,
            u8::from(self.today.converted).to_string(),
            pending,
            opt(self.reported_through),
        ];
        fields.extend(self.today.order.iter().cloned());
        fields.join(&SEP.to_string())
    }

    /// Reads [`Self::to_record`]'s text; `Err` names what is wrong (the caller starts afresh).
    pub fn from_record(record: &str) -> Result<ExperimentState, String> {
        let fields: Vec<&str> = record.split(SEP).collect();
        if fields.len() < 9 || fields[0] != RECORD_VERSION {
            return Err(format!("not a {RECORD_VERSION} experiment record"));
        }
        let day = |f: &str| -> Result<Option<i64>, String> { if f.is_empty() { Ok(None) } else { f.parse().map(Some).map_err(|_| format!("bad day {f:?}")) } };
        let flag = |f: &str| -> Result<bool, String> {
            match f {
                "0" => Ok(false),
                "1" => Ok(true),
                _ => Err(format!("bad flag {f:?}")),
            }
        };
        let outcome = |f: &str| -> Result<DayOutcome, String> { f.parse().ok().and_then(DayOutcome::from_bucket).ok_or(format!("bad bucket {f:?}")) };
        let coin: u32 = fields[2].parse().map_err(|_| format!("bad coin {:?}", fields[2]))?;
        let first_click = if fields[5].is_empty() { None } else { Some(outcome(fields[5])?.first_click) };
        let pending = match fields[7].split_once(':') {
            None if fields[7].is_empty() => None,
            Some((d, b)) => Some((day(d)?.ok_or("empty pending day")?, outcome(b)?)),
            None => return Err(format!("bad pending report {:?}", fields[7])),
        };
        Ok(ExperimentState {
            id: fields[1].to_owned(),
            coin,
            day: day(fields[3])?,
            today: DayTally { shown: flag(fields[4])?, order: fields[9..].iter().map(|s| (*s).to_owned()).collect(), first_click, converted: flag(fields[6])? },
            pending,
            reported_through: day(fields[8])?,
        })
    }
}

fn day_of(now_ms: f64) -> Option<i64> {
    now_ms.is_finite().then(|| (now_ms / MS_PER_DAY).floor() as i64)
}

impl ExperimentState {
    /// A new state for `config`, with its coin (the caller draws it from a good random source).
    pub fn new(config: &ExperimentConfig, coin: u32) -> ExperimentState {
        ExperimentState { id: config.id.clone(), coin, day: None, today: DayTally::default(), pending: None, reported_through: None }
    }

    pub fn arm(&self, config: &ExperimentConfig) -> Arm {
        if f64::from(self.coin) < config.split * 4_294_967_296.0 { Arm::Personalized } else { Arm::Control }
    }

    /// Moves to the day of `now_ms`: a later day closes the current one (into `pending`, when
    /// its homepage was shown); an earlier one (the clock went back) keeps the current day.
    fn advance(&mut self, now_ms: f64, arm: Arm) {
        let Some(day) = day_of(now_ms) else { return };
        match self.day {
            Some(current) if day <= current => {}
            Some(current) => {
                let finished = std::mem::take(&mut self.today);
                if finished.shown && self.reported_through.is_none_or(|r| current > r) {
                    let outcome = DayOutcome { arm, first_click: finished.first_click.unwrap_or(FirstClick::None), converted: finished.converted };
                    self.pending = Some((current, outcome));
                }
                self.day = Some(day);
            }
            None => self.day = Some(day),
        }
    }

    /// The homepage was shown in this order (the ranking's, or the server's in the control arm).
    pub fn homepage_shown(&mut self, order: &[String], now_ms: f64, arm: Arm) {
        self.advance(now_ms, arm);
        self.today.shown = true;
        self.today.order = order.iter().take(KEPT_ORDER).cloned().collect();
    }

    /// The shopper clicked `item` (the first click of the day on a shown homepage item counts).
    pub fn clicked(&mut self, item: &str, now_ms: f64, arm: Arm) {
        self.advance(now_ms, arm);
        if self.today.first_click.is_some() || !self.today.shown {
            return;
        }
        if let Some(position) = self.today.order.iter().position(|id| id == item) {
            self.today.first_click = Some(FirstClick::at_position(position));
        }
    }

    /// A purchase was recorded.
    pub fn purchased(&mut self, now_ms: f64, arm: Arm) {
        self.advance(now_ms, arm);
        self.today.converted = true;
    }

    /// The finished day's outcome, once: the caller turns it into the day's report. Later calls
    /// return `None` until another day has finished.
    pub fn take_report(&mut self, now_ms: f64, arm: Arm) -> Option<(i64, DayOutcome)> {
        self.advance(now_ms, arm);
        let (day, outcome) = self.pending.take()?;
        if self.reported_through.is_some_and(|r| day <= r) {
            return None;
        }
        self.reported_through = Some(day);
        Some((day, outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: f64 = MS_PER_DAY;
    const T: f64 = 20_000.0 * DAY; // midnight UTC, day 20,000

    fn config() -> ExperimentConfig {
        ExperimentConfig { id: "home-2026-12".into(), split: 0.5, dap: None }
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("sku-{i}")).collect()
    }

    #[test]
    fn a_day_is_tallied_and_reported_once_the_next_day_begins() {
        let c = config();
        let mut s = ExperimentState::new(&c, u32::MAX / 5);
        let arm = s.arm(&c);
        assert_eq!(arm, Arm::Personalized);
        s.homepage_shown(&ids(48), T + 3600e3, arm);
        s.clicked("not-on-the-page", T + 3601e3, arm);
        s.clicked("sku-2", T + 3602e3, arm);
        s.clicked("sku-0", T + 3603e3, arm);
        s.purchased(T + 3700e3, arm);
        assert_eq!(s.take_report(T + 7200e3, arm), None, "the day is not over");
        let report = s.take_report(T + DAY + 60e3, arm);
        assert_eq!(report, Some((20_000, DayOutcome { arm, first_click: FirstClick::Slot(3), converted: true })));
        assert_eq!(s.take_report(T + DAY + 120e3, arm), None, "never twice");
    }

    #[test]
    fn clicks_below_the_tracked_slots_are_other_and_days_without_a_homepage_report_nothing() {
        let c = config();
        let mut s = ExperimentState::new(&c, u32::MAX / 10 * 9);
        let arm = s.arm(&c);
        assert_eq!(arm, Arm::Control);
        s.purchased(T, arm); // no homepage that day
        s.homepage_shown(&ids(48), T + DAY, arm);
        s.clicked("sku-30", T + DAY + 1.0, arm);
        assert_eq!(s.take_report(T + DAY + 2.0, arm), None, "day 20,000 had no homepage");
        assert_eq!(s.take_report(T + 2.0 * DAY, arm), Some((20_001, DayOutcome { arm, first_click: FirstClick::Other, converted: false })));
    }

    #[test]
    fn a_clock_that_jumps_back_never_reopens_a_reported_day() {
        let c = config();
        let mut s = ExperimentState::new(&c, u32::MAX / 10);
        let arm = s.arm(&c);
        s.homepage_shown(&ids(5), T, arm);
        assert!(s.take_report(T + DAY, arm).is_some());
        // The clock goes back a day: events add to the current day (20,001), which was not shown.
        s.homepage_shown(&ids(5), T - 10.0, arm);
        s.purchased(T - 5.0, arm);
        let next = s.take_report(T + 2.0 * DAY, arm).expect("day 20,001 was shown (by the event stamped earlier)");
        assert_eq!(next.0, 20_001);
        assert_eq!(s.take_report(T + 3.0 * DAY, arm), None);
        // A state restored from before the report (storage lost mid-day) keeps reported_through
        // only if it was saved; the guard still holds against the same day coming back.
        let mut replay = s.clone();
        replay.pending = Some((20_000, DayOutcome { arm, first_click: FirstClick::None, converted: false }));
        assert_eq!(replay.take_report(T + 3.0 * DAY, arm), None, "a day at or before the last report is dropped");
    }

    #[test]
    fn the_record_round_trips_and_damaged_records_are_refused() {
        let c = config();
        let mut s = ExperimentState::new(&c, 530_242_871);
        assert_eq!(ExperimentState::from_record(&s.to_record()), Ok(s.clone()));
        let arm = s.arm(&c);
        s.homepage_shown(&ids(3), T, arm);
        s.clicked("sku-1", T + 1.0, arm);
        s.purchased(T + 2.0, arm);
        s.homepage_shown(&ids(12), T + DAY, arm);
        assert!(s.pending.is_some());
        assert_eq!(ExperimentState::from_record(&s.to_record()), Ok(s.clone()));
        s.take_report(T + DAY, arm);
        assert_eq!(ExperimentState::from_record(&s.to_record()), Ok(s.clone()));
        for bad in ["", "lr-exp-0\u{1f}x", &s.to_record().replace("530242871", "-7"), &s.to_record().replacen("\u{1f}1\u{1f}", "\u{1f}2\u{1f}", 1)] {
            assert!(ExperimentState::from_record(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_configs_name_the_field() {
        assert!(config().validate().is_ok());
        let e = ExperimentConfig { id: " ".into(), split: 0.5, dap: None }.validate().unwrap_err();
        assert_eq!(e.field(), Some("experiment.id"));
        let e = ExperimentConfig { id: "x".into(), split: 1.5, dap: None }.validate().unwrap_err();
        assert_eq!(e.field(), Some("experiment.split"));
        let c: ExperimentConfig = serde_json::from_str(r#"{"id":"x"}"#).unwrap();
        assert_eq!(c.split, 0.5);
    }
}
