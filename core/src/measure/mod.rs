//! Private lift measurement: what one browser reports about one day, as one bucket of a
//! histogram, and what a store can estimate from the sum of many.
//!
//! A storefront running an experiment splits shoppers into two arms (the server's order vs
//! localrank's). Each browser tallies its own day — was the homepage shown, which slot did the
//! shopper click first, did they buy — and reports it as a one-hot vector over
//! [`NUM_BUCKETS`] buckets (arm × first click × converted). Only the sum over many browsers is
//! ever decoded (docs/measurement.md: DAP with Prio3Histogram, two non-colluding
//! aggregators), and [`estimate`] turns that sum into click-through, conversion and the lift
//! with its confidence interval.
//!
//! The bucket layout is defined here once: the engine's tally, the report encoder and
//! `localrank lift` all index buckets through [`DayOutcome::bucket`] / [`DayOutcome::from_bucket`].

pub mod estimate;
pub mod tally;

use serde::{Deserialize, Serialize};
#[cfg(feature = "tsify")]
use tsify::Tsify;

/// How many homepage slots get a bucket of their own; first clicks further down are "other".
pub const TRACKED_SLOTS: usize = 10;

/// First-click values: slots 1..=10, then "other" (a later slot or an item not from the
/// homepage ranking), then "none" (no click that day).
const FIRST_CLICK_VALUES: usize = TRACKED_SLOTS + 2;

/// The length of one report's one-hot vector: 2 arms × 12 first-click values × 2 outcomes.
pub const NUM_BUCKETS: usize = 2 * FIRST_CLICK_VALUES * 2;

/// Which order the shopper's browser showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "lowercase")]
pub enum Arm {
    /// The server's order, unchanged.
    Control,
    /// localrank's order.
    Personalized,
}

impl Arm {
    pub const ALL: [Arm; 2] = [Arm::Control, Arm::Personalized];

    fn index(self) -> usize {
        match self {
            Arm::Control => 0,
            Arm::Personalized => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Arm::Control => "control",
            Arm::Personalized => "personalized",
        }
    }
}

/// The first homepage item the shopper clicked that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FirstClick {
    /// Slot 1..=[`TRACKED_SLOTS`], counted from 1 as shoppers see them.
    Slot(u8),
    /// A click on a homepage item below the tracked slots.
    Other,
    /// No click on a homepage item that day.
    None,
}

impl FirstClick {
    /// The first click for a 0-based position in the shown order.
    pub fn at_position(position: usize) -> FirstClick {
        if position < TRACKED_SLOTS { FirstClick::Slot(position as u8 + 1) } else { FirstClick::Other }
    }

    fn index(self) -> usize {
        match self {
            FirstClick::Slot(s) => usize::from(s.clamp(1, TRACKED_SLOTS as u8)) - 1,
            FirstClick::Other => TRACKED_SLOTS,
            FirstClick::None => TRACKED_SLOTS + 1,
        }
    }

    fn from_index(i: usize) -> FirstClick {
        match i {
            i if i < TRACKED_SLOTS => FirstClick::Slot(i as u8 + 1),
            i if i == TRACKED_SLOTS => FirstClick::Other,
            _ => FirstClick::None,
        }
    }
}

/// One browser's day in an experiment: the whole content of its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DayOutcome {
    pub arm: Arm,
    pub first_click: FirstClick,
    /// A purchase was recorded that day.
    pub converted: bool,
}

impl DayOutcome {
    /// The bucket this day falls in: `(arm · 12 + first click) · 2 + converted`.
    pub fn bucket(&self) -> usize {
        (self.arm.index() * FIRST_CLICK_VALUES + self.first_click.index()) * 2 + usize::from(self.converted)
    }

    /// The outcome a bucket stands for; `None` past the last bucket.
    pub fn from_bucket(bucket: usize) -> Option<DayOutcome> {
        if bucket >= NUM_BUCKETS {
            return None;
        }
        let converted = bucket % 2 == 1;
        let rest = bucket / 2;
        let arm = if rest / FIRST_CLICK_VALUES == 0 { Arm::Control } else { Arm::Personalized };
        Some(DayOutcome { arm, first_click: FirstClick::from_index(rest % FIRST_CLICK_VALUES), converted })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_its_own_bucket_and_back() {
        let mut seen = vec![false; NUM_BUCKETS];
        for arm in Arm::ALL {
            let clicks = (1..=TRACKED_SLOTS as u8).map(FirstClick::Slot).chain([FirstClick::Other, FirstClick::None]);
            for first_click in clicks {
                for converted in [false, true] {
                    let outcome = DayOutcome { arm, first_click, converted };
                    let b = outcome.bucket();
                    assert!(!seen[b], "bucket {b} used twice");
                    seen[b] = true;
                    assert_eq!(DayOutcome::from_bucket(b), Some(outcome));
                }
            }
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(DayOutcome::from_bucket(NUM_BUCKETS), None);
        assert_eq!(FirstClick::at_position(0), FirstClick::Slot(1));
        assert_eq!(FirstClick::at_position(9), FirstClick::Slot(10));
        assert_eq!(FirstClick::at_position(10), FirstClick::Other);
    }
}
