//! From an aggregate histogram (the sum of many browsers' one-hot reports) to what a store
//! wants to know: per arm, click-through at the first slots and conversion; the relative lift
//! of the personalized arm over the control with a 95% confidence interval (delta method); and
//! how many shopper-days per arm a 5% lift would need to be seen.
//!
//! Each report is one browser-day, so every rate here is per shopper-day with a homepage shown:
//! reports are independent Bernoulli trials for each rate (one report per browser per day), and
//! the two arms are independent samples.

use serde::Serialize;

use super::{Arm, DayOutcome, FirstClick, NUM_BUCKETS, TRACKED_SLOTS};

/// z for a two-sided 95% interval.
const Z_95: f64 = 1.959_963_984_540_054;
/// z for 80% power.
const Z_POWER_80: f64 = 0.841_621_233_572_914_3;
/// The relative lift the power line is about.
pub const POWER_LIFT: f64 = 0.05;

/// One arm's share of the aggregate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmSummary {
    /// Shopper-days reported (homepage shown at least once).
    pub reports: u64,
    /// Reports whose first homepage click was on slot k + 1.
    pub first_clicks: [u64; TRACKED_SLOTS],
    /// First click below the tracked slots.
    pub first_click_other: u64,
    pub no_click: u64,
    pub conversions: u64,
    /// `first_clicks[k] / reports`.
    pub click_through_by_slot: [f64; TRACKED_SLOTS],
    /// The share of reports whose first click was in slots 1–10.
    pub click_through: f64,
    pub conversion: f64,
}

/// A relative lift `personalized / control − 1` with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Lift {
    pub estimate: f64,
    pub ci95: [f64; 2],
}

/// The whole estimate, as `localrank lift --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiftReport {
    pub arms: Arms,
    pub lift: Lifts,
    pub power: Power,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Arms {
    pub control: ArmSummary,
    pub personalized: ArmSummary,
}

/// `None` where a lift is undefined (no reports in an arm, or a control rate of 0).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lifts {
    pub conversion: Option<Lift>,
    pub click_through: Option<Lift>,
}

/// How many shopper-days per arm detect a [`POWER_LIFT`] relative lift in conversion at the
/// control's observed rate (two-sided α = 0.05, power 0.8); `None` when that rate is 0 or 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Power {
    pub relative_lift: f64,
    pub control_conversion: f64,
    pub reports_per_arm: Option<u64>,
}

/// Why a histogram cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggregateError {
    #[error("the aggregate has {0} buckets; a localrank experiment report has {NUM_BUCKETS} (docs/measurement.md lists them)")]
    WrongLength(usize),
}

fn arm_summary(counts: &[u64], arm: Arm) -> ArmSummary {
    let mut s = ArmSummary {
        reports: 0,
        first_clicks: [0; TRACKED_SLOTS],
        first_click_other: 0,
        no_click: 0,
        conversions: 0,
        click_through_by_slot: [0.0; TRACKED_SLOTS],
        click_through: 0.0,
        conversion: 0.0,
    };
    for (bucket, &count) in counts.iter().enumerate() {
        let Some(outcome) = DayOutcome::from_bucket(bucket) else { continue };
        if outcome.arm != arm {
            continue;
        }
        s.reports += count;
        match outcome.first_click {
            FirstClick::Slot(slot) => s.first_clicks[usize::from(slot) - 1] += count,
            FirstClick::Other => s.first_click_other += count,
            FirstClick::None => s.no_click += count,
        }
        if outcome.converted {
            s.conversions += count;
        }
    }
    let rate = |k: u64| if s.reports > 0 { k as f64 / s.reports as f64 } else { 0.0 };
    for k in 0..TRACKED_SLOTS {
        s.click_through_by_slot[k] = rate(s.first_clicks[k]);
    }
    s.click_through = rate(s.first_clicks.iter().sum());
    s.conversion = rate(s.conversions);
    s
}

/// The relative lift of rate `p_t` (from `n_t` trials) over `p_c` (from `n_c`), with the
/// delta method's interval: Var(p̂_t / p̂_c) ≈ p_t(1−p_t) / (n_t p_c²) + p_t² p_c(1−p_c) / (n_c p_c⁴).
pub fn relative_lift(p_t: f64, n_t: u64, p_c: f64, n_c: u64) -> Option<Lift> {
    if n_t == 0 || n_c == 0 || p_c <= 0.0 {
        return None;
    }
    let (nt, nc) = (n_t as f64, n_c as f64);
    let ratio = p_t / p_c;
    let variance = p_t * (1.0 - p_t) / (nt * p_c * p_c) + p_t * p_t * (1.0 - p_c) / (nc * p_c * p_c * p_c);
    let half = Z_95 * variance.max(0.0).sqrt();
    Some(Lift { estimate: ratio - 1.0, ci95: [ratio - 1.0 - half, ratio - 1.0 + half] })
}

/// Shopper-days per arm to detect a relative lift `lift` over base rate `p` (two-sided α = 0.05,
/// power 0.8), by the normal approximation for two proportions.
pub fn reports_per_arm(p: f64, lift: f64) -> Option<u64> {
    let q = p * (1.0 + lift);
    if !(p > 0.0 && p < 1.0 && q < 1.0 && lift != 0.0) {
        return None;
    }
    let z = Z_95 + Z_POWER_80;
    Some((z * z * (p * (1.0 - p) + q * (1.0 - q)) / ((q - p) * (q - p))).ceil() as u64)
}

/// Estimates from an aggregate histogram of [`NUM_BUCKETS`] counts.
pub fn estimate(counts: &[u64]) -> Result<LiftReport, AggregateError> {
    if counts.len() != NUM_BUCKETS {
        return Err(AggregateError::WrongLength(counts.len()));
    }
    let control = arm_summary(counts, Arm::Control);
    let personalized = arm_summary(counts, Arm::Personalized);
    let lift = Lifts {
        conversion: relative_lift(personalized.conversion, personalized.reports, control.conversion, control.reports),
        click_through: relative_lift(personalized.click_through, personalized.reports, control.click_through, control.reports),
    };
    let power = Power {
        relative_lift: POWER_LIFT,
        control_conversion: control.conversion,
        reports_per_arm: reports_per_arm(control.conversion, POWER_LIFT),
    };
    Ok(LiftReport { arms: Arms { control, personalized }, lift, power })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(outcomes: &[(DayOutcome, u64)]) -> Vec<u64> {
        let mut h = vec![0u64; NUM_BUCKETS];
        for (o, n) in outcomes {
            h[o.bucket()] += n;
        }
        h
    }

    #[test]
    fn counts_and_rates_per_arm_come_from_the_right_buckets() {
        let c = |first_click, converted, n| (DayOutcome { arm: Arm::Control, first_click, converted }, n);
        let p = |first_click, converted, n| (DayOutcome { arm: Arm::Personalized, first_click, converted }, n);
        let h = histogram(&[
            c(FirstClick::Slot(1), true, 30),
            c(FirstClick::None, false, 900),
            c(FirstClick::Other, false, 70),
            p(FirstClick::Slot(2), true, 60),
            p(FirstClick::Slot(10), false, 40),
            p(FirstClick::None, false, 900),
        ]);
        let r = estimate(&h).unwrap();
        assert_eq!(r.arms.control.reports, 1000);
        assert_eq!(r.arms.control.conversions, 30);
        assert_eq!(r.arms.control.first_click_other, 70);
        assert_eq!(r.arms.personalized.first_clicks[1], 60);
        assert_eq!(r.arms.personalized.first_clicks[9], 40);
        assert!((r.arms.personalized.click_through - 0.1).abs() < 1e-12);
        assert!((r.arms.control.click_through - 0.03).abs() < 1e-12);
        let conversion = r.lift.conversion.unwrap();
        assert!((conversion.estimate - 1.0).abs() < 1e-12, "6% vs 3%: +100%");
        assert!(conversion.ci95[0] < 1.0 && conversion.ci95[1] > 1.0);
        assert_eq!(estimate(&h[1..]).unwrap_err(), AggregateError::WrongLength(NUM_BUCKETS - 1));
    }

    #[test]
    fn undefined_lifts_and_powers_are_none_not_nan() {
        let r = estimate(&vec![0; NUM_BUCKETS]).unwrap();
        assert_eq!(r.lift.conversion, None);
        assert_eq!(r.power.reports_per_arm, None);
        assert_eq!(relative_lift(0.1, 100, 0.0, 100), None);
    }

    #[test]
    fn the_power_line_matches_the_textbook_sample_size() {
        // 3% base rate, +5%: ≈ 208,000 per arm (two-proportion z-test, α 0.05, power 0.8).
        let n = reports_per_arm(0.03, 0.05).unwrap();
        assert!((205_000..212_000).contains(&n), "{n}");
        // A tenfold larger lift needs ~100× fewer.
        let big = reports_per_arm(0.03, 0.5).unwrap();
        assert!(big < n / 50, "{big}");
    }
}
