//! `localrank lift --aggregate FILE [--json]`: what an experiment's aggregate says. FILE is the
//! collected histogram of the browsers' daily reports — the DAP collection result's bucket
//! counts — as JSON (docs/measurement.md): `{"buckets": [48 counts]}` or the bare array.
use std::path::PathBuf;

use clap::Args;
use localrank_core::measure::estimate::{estimate, Lift, LiftReport};
use localrank_core::measure::{NUM_BUCKETS, TRACKED_SLOTS};
use serde::Deserialize;

use crate::error::{io_err, CliError};

#[derive(Args, Debug)]
pub struct LiftArgs {
    /// The aggregate histogram: JSON `{"buckets": [...]}` or `[...]`, 48 bucket counts in the
    /// order docs/measurement.md gives
    #[arg(long)]
    pub aggregate: PathBuf,
    /// Print the estimate as JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum AggregateFile {
    Object { buckets: Vec<f64> },
    Array(Vec<f64>),
}

/// Reads the counts. Differential-privacy noise (optional in the aggregators) can make a count
/// negative or fractional: such counts are rounded and floored at 0, and the caller is told how many.
pub fn read_counts(text: &str) -> Result<(Vec<u64>, usize), CliError> {
    let file: AggregateFile = serde_json::from_str(text).map_err(|e| {
        CliError::Usage(format!("the aggregate is not JSON of the form {{\"buckets\": [{NUM_BUCKETS} counts]}} or a bare array: {e}"))
    })?;
    let raw = match file {
        AggregateFile::Object { buckets } | AggregateFile::Array(buckets) => buckets,
    };
    if raw.len() != NUM_BUCKETS {
        return Err(CliError::Usage(format!(
            "the aggregate has {} bucket counts; a localrank experiment histogram has {NUM_BUCKETS} (2 arms × 12 first-click values × 2 outcomes, docs/measurement.md)",
            raw.len()
        )));
    }
    let mut adjusted = 0;
    let counts = raw
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if !c.is_finite() {
                return Err(CliError::Usage(format!("bucket {i} is not a number ({c})")));
            }
            let rounded = c.round().max(0.0);
            if rounded != c {
                adjusted += 1;
            }
            Ok(rounded as u64)
        })
        .collect::<Result<Vec<u64>, CliError>>()?;
    Ok((counts, adjusted))
}

pub fn run(args: &LiftArgs, log: &mut dyn FnMut(&str)) -> Result<LiftReport, CliError> {
    let text = std::fs::read_to_string(&args.aggregate).map_err(io_err(&args.aggregate))?;
    let (counts, adjusted) = read_counts(&text)?;
    if adjusted > 0 {
        log(&format!("note: {adjusted} bucket counts were negative or fractional (differential-privacy noise?) and were rounded, floored at 0"));
    }
    let report = estimate(&counts).map_err(|e| CliError::Usage(e.to_string()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| CliError::Usage(e.to_string()))?);
    } else {
        print!("{}", text_report(&report));
    }
    Ok(report)
}

fn percent(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

fn lift_line(name: &str, lift: Option<Lift>) -> String {
    match lift {
        Some(l) => format!("{name:<14} {:+.1}%  (95% CI {:+.1}% to {:+.1}%)\n", 100.0 * l.estimate, 100.0 * l.ci95[0], 100.0 * l.ci95[1]),
        None => format!("{name:<14} undefined (an arm has no reports, or the control's rate is 0)\n"),
    }
}

pub fn text_report(r: &LiftReport) -> String {
    let mut s = String::new();
    s.push_str(&format!("{:<24} {:>12} {:>12}\n", "", "control", "personalized"));
    let (c, p) = (&r.arms.control, &r.arms.personalized);
    s.push_str(&format!("{:<24} {:>12} {:>12}\n", "shopper-days reported", c.reports, p.reports));
    s.push_str(&format!("{:<24} {:>12} {:>12}\n", "conversion", percent(c.conversion), percent(p.conversion)));
    s.push_str(&format!("{:<24} {:>12} {:>12}\n", format!("first click, slots 1–{TRACKED_SLOTS}"), percent(c.click_through), percent(p.click_through)));
    for k in 0..TRACKED_SLOTS {
        s.push_str(&format!("{:<24} {:>12} {:>12}\n", format!("  slot {}", k + 1), percent(c.click_through_by_slot[k]), percent(p.click_through_by_slot[k])));
    }
    s.push_str("\nlift of personalized over control\n");
    s.push_str(&lift_line("conversion", r.lift.conversion));
    s.push_str(&lift_line("click-through", r.lift.click_through));
    match r.power.reports_per_arm {
        Some(n) => s.push_str(&format!(
            "\npower: at this conversion rate ({}), {n} shopper-days per arm detect a {:.0}% lift (two-sided α 0.05, power 0.8); this experiment has {} and {}\n",
            percent(r.power.control_conversion),
            100.0 * r.power.relative_lift,
            c.reports,
            p.reports
        )),
        None => s.push_str("\npower: undefined until the control arm has conversions\n"),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use localrank_core::measure::{Arm, DayOutcome, FirstClick};

    #[test]
    fn reads_both_forms_and_reports_noise_and_bad_lengths() {
        let mut h = vec![0.0f64; NUM_BUCKETS];
        h[DayOutcome { arm: Arm::Control, first_click: FirstClick::None, converted: true }.bucket()] = 30.0;
        h[DayOutcome { arm: Arm::Control, first_click: FirstClick::None, converted: false }.bucket()] = 970.0;
        h[DayOutcome { arm: Arm::Personalized, first_click: FirstClick::Slot(1), converted: true }.bucket()] = 36.0;
        h[DayOutcome { arm: Arm::Personalized, first_click: FirstClick::None, converted: false }.bucket()] = 964.0;
        let bare = serde_json::to_string(&h).unwrap();
        let (counts, adjusted) = read_counts(&bare).unwrap();
        assert_eq!((counts.iter().sum::<u64>(), adjusted), (2000, 0));
        h[0] = -2.0; // noise on an empty bucket
        let object = format!("{{\"buckets\": {}}}", serde_json::to_string(&h).unwrap());
        let (counts, adjusted) = read_counts(&object).unwrap();
        assert_eq!((counts[0], adjusted), (0, 1));
        let report = estimate(&counts).unwrap();
        let text = text_report(&report);
        assert!(text.contains("conversion     +20.0%"), "{text}");
        assert!(text.contains("shopper-days per arm detect a 5% lift"), "{text}");
        assert!(matches!(read_counts("[1, 2, 3]"), Err(CliError::Usage(m)) if m.contains("has 3 bucket counts")));
        assert!(matches!(read_counts("{\"counts\": []}"), Err(CliError::Usage(_))));
    }
}
