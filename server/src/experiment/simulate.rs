//! Synthetic shoppers for the demo page: one browser gives at most one report a day, so the
//! `/lift` page's "simulate" control makes N shopper-days with a known true lift, seals each
//! exactly as a browser does (`localrank_report::seal_day` with the served configs) and feeds
//! the bytes to the same upload code as `PUT /dap/leader/tasks/{id}/reports`. They are
//! counted as simulated, and the page labels them so.
use localrank_core::measure::{Arm, DayOutcome, FirstClick, TRACKED_SLOTS};
use rand_core::{RngCore, SeedableRng};

use super::{DemoExperiment, Source, TIME_PRECISION_S, UploadError};

/// The most shopper-days one request may simulate (sealing + aggregating take ~ms each).
pub const MAX_SIMULATED: usize = 5_000;

/// The simulated shoppers' personalized share: an even A/B split whatever the real visitors'
/// `--experiment-split` (1 by default, so the demo's own browsers all see personalization and
/// the control arm is the simulation's).
pub const SIMULATED_SPLIT: f64 = 0.5;

/// One arm's true rates in the simulation.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ArmTruth {
    /// P(first homepage click in slots 1–10).
    pub click_through: f64,
    /// P(a purchase that day), independent of the click.
    pub conversion: f64,
}

/// The rates the simulated shoppers are drawn from, so the page can show the estimate beside
/// the truth it should cover.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct SimulatedTruth {
    pub control: ArmTruth,
    pub personalized: ArmTruth,
    /// P(first click below slot 10), both arms.
    pub click_other: f64,
    pub click_through_lift: f64,
    pub conversion_lift: f64,
}

/// Large effects on purpose: a demo simulates thousands of shopper-days, not the ~200,000 per
/// arm a realistic 5% lift needs (the page's power line says so).
pub const TRUTH: SimulatedTruth = SimulatedTruth {
    control: ArmTruth {
        click_through: 0.20,
        conversion: 0.10,
    },
    personalized: ArmTruth {
        click_through: 0.25,
        conversion: 0.12,
    },
    click_other: 0.05,
    click_through_lift: 0.25,
    conversion_lift: 0.20,
};

fn uniform(rng: &mut rand_chacha::ChaCha20Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// One shopper-day drawn from [`TRUTH`] with the personalized share `split`.
fn shopper_day(rng: &mut rand_chacha::ChaCha20Rng, split: f64) -> DayOutcome {
    let arm = if uniform(rng) < split {
        Arm::Personalized
    } else {
        Arm::Control
    };
    let truth = if arm == Arm::Personalized {
        TRUTH.personalized
    } else {
        TRUTH.control
    };
    let u = uniform(rng);
    let first_click = if u < truth.click_through {
        // Slot k with weight 1/k: the top of the page gets most first clicks.
        let total: f64 = (1..=TRACKED_SLOTS).map(|k| 1.0 / k as f64).sum();
        let mut x = uniform(rng) * total;
        let mut slot = TRACKED_SLOTS;
        for k in 1..=TRACKED_SLOTS {
            x -= 1.0 / k as f64;
            if x < 0.0 {
                slot = k;
                break;
            }
        }
        FirstClick::Slot(slot as u8)
    } else if u < truth.click_through + TRUTH.click_other {
        FirstClick::Other
    } else {
        FirstClick::None
    };
    DayOutcome {
        arm,
        first_click,
        converted: uniform(rng) < truth.conversion,
    }
}

impl DemoExperiment {
    /// Simulates `shoppers` shopper-days (yesterday, by the server's clock) and uploads each.
    /// Returns how many were accepted.
    pub fn simulate(&self, shoppers: usize, now_s: u64) -> Result<usize, UploadError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed)
            .map_err(|e| UploadError::Internal(format!("no random numbers: {e}")))?;
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
        let task_id = self.task_id();
        let day = now_s.saturating_sub(TIME_PRECISION_S);
        let mut accepted = 0;
        for _ in 0..shoppers {
            let outcome = shopper_day(&mut rng, SIMULATED_SPLIT);
            let upload = localrank_report::seal_day(
                &self.task,
                &self.leader.config,
                &self.helper.config,
                &outcome,
                day,
            )
            .map_err(|e| UploadError::Internal(format!("sealing a simulated report: {e}")))?;
            self.upload(&task_id, &upload.body, Source::Simulated, now_s)?;
            accepted += 1;
        }
        Ok(accepted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_days_follow_the_truth() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let days: Vec<DayOutcome> = (0..40_000).map(|_| shopper_day(&mut rng, 0.5)).collect();
        let rate = |arm: Arm, f: &dyn Fn(&DayOutcome) -> bool| {
            let of_arm: Vec<_> = days.iter().filter(|d| d.arm == arm).collect();
            of_arm.iter().filter(|d| f(d)).count() as f64 / of_arm.len() as f64
        };
        let clicked = |d: &DayOutcome| matches!(d.first_click, FirstClick::Slot(_));
        // 4σ of a rate near 0.2 over ~20,000 draws is ~0.011.
        assert!((rate(Arm::Control, &clicked) - 0.20).abs() < 0.012);
        assert!((rate(Arm::Personalized, &clicked) - 0.25).abs() < 0.012);
        assert!((rate(Arm::Control, &|d| d.converted) - 0.10).abs() < 0.01);
        assert!((rate(Arm::Personalized, &|d| d.converted) - 0.12).abs() < 0.01);
        assert!(
            (TRUTH.personalized.conversion / TRUTH.control.conversion
                - 1.0
                - TRUTH.conversion_lift)
                .abs()
                < 1e-12
        );
        assert!(
            (TRUTH.personalized.click_through / TRUTH.control.click_through
                - 1.0
                - TRUTH.click_through_lift)
                .abs()
                < 1e-12
        );
    }
}
