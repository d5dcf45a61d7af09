//! The demo's stand-in DAP aggregators (src/experiment/): reports sealed exactly as the
//! browser seals them (`localrank_report::seal_day`) go in, the exact bucket counts come out;
//! everything else is refused with a status and a reason.
use std::time::{SystemTime, UNIX_EPOCH};

use localrank_core::measure::estimate::estimate;
use localrank_core::measure::{Arm, DayOutcome, FirstClick, NUM_BUCKETS};
use localrank_report::{HpkeConfig, Role, TaskConfig, seal_day};
use localrank_server::experiment::{DemoExperiment, Source, UploadError};

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn configs(experiment: &DemoExperiment) -> (HpkeConfig, HpkeConfig) {
    let list = |role| HpkeConfig::choose_from_list(&experiment.config_list(role).unwrap()).unwrap();
    (list(Role::Leader), list(Role::Helper))
}

fn days(n: usize) -> Vec<DayOutcome> {
    (0..n)
        .map(|i| DayOutcome {
            arm: if i % 3 == 0 {
                Arm::Control
            } else {
                Arm::Personalized
            },
            first_click: match i % 13 {
                0 => FirstClick::None,
                1 => FirstClick::Other,
                k => FirstClick::Slot((k % 10 + 1) as u8),
            },
            converted: i % 4 == 0,
        })
        .collect()
}

fn yesterday() -> u64 {
    now_s() - 86_400
}

#[test]
fn sealed_reports_aggregate_to_exactly_the_browsers_tallies() {
    let experiment = DemoExperiment::new(0.5).unwrap();
    let (leader, helper) = configs(&experiment);
    let outcomes = days(60);
    let mut expected = vec![0u64; NUM_BUCKETS];
    let started = std::time::Instant::now();
    for day in &outcomes {
        let upload = seal_day(experiment.task(), &leader, &helper, day, yesterday()).unwrap();
        assert_eq!(
            upload.path,
            format!("tasks/{}/reports", experiment.task_id())
        );
        experiment
            .upload(
                &experiment.task_id(),
                &upload.body,
                Source::Browser,
                now_s(),
            )
            .unwrap();
        expected[day.bucket()] += 1;
    }
    let view = experiment.lift().unwrap();
    println!(
        "60 reports sealed + opened + prepared + aggregated in {:.0} ms; aggregation alone {:.2} ms per report",
        started.elapsed().as_secs_f64() * 1000.0,
        view.mean_aggregate_ms
    );
    assert_eq!(view.buckets, expected);
    assert_eq!(
        (view.reports, view.uploaded, view.simulated, view.rejected),
        (60, 60, 0, 0)
    );
    assert_eq!(
        view.estimate,
        estimate(&expected).unwrap(),
        "the same estimate as `localrank lift`"
    );
    assert_eq!(view.estimate.arms.control.reports, 20);
}

#[test]
fn an_empty_aggregate_is_all_zeros() {
    let experiment = DemoExperiment::new(0.5).unwrap();
    let view = experiment.lift().unwrap();
    assert_eq!(view.buckets, vec![0; NUM_BUCKETS]);
    assert_eq!(view.estimate.lift.conversion, None);
}

fn rejected(result: Result<(), UploadError>) -> UploadError {
    result.expect_err("the upload must be refused")
}

#[test]
fn wrong_task_garbage_duplicates_and_one_key_reports_are_refused() {
    let experiment = DemoExperiment::new(0.5).unwrap();
    let (leader, helper) = configs(&experiment);
    let day = DayOutcome {
        arm: Arm::Personalized,
        first_click: FirstClick::Slot(1),
        converted: true,
    };
    let task_id = experiment.task_id();
    let good = seal_day(experiment.task(), &leader, &helper, &day, yesterday()).unwrap();

    // Another task id in the URL.
    let other = TaskConfig {
        task_id: [9; 32],
        time_precision_s: 86_400,
    };
    let e = rejected(experiment.upload(
        &other.task_id_base64url(),
        &good.body,
        Source::Browser,
        now_s(),
    ));
    assert!(matches!(e, UploadError::UnrecognizedTask(_)), "{e}");
    assert_eq!(
        (e.status().as_u16(), e.dap_type()),
        (404, Some("unrecognizedTask"))
    );
    assert!(e.to_string().contains("fetch /api/experiment again"));

    // A report sealed for another task (its AAD names that task) sent to this one: neither share opens.
    let foreign = seal_day(&other, &leader, &helper, &day, yesterday()).unwrap();
    let e = rejected(experiment.upload(&task_id, &foreign.body, Source::Browser, now_s()));
    assert!(e.to_string().contains("does not open"), "{e}");
    assert_eq!(
        (e.status().as_u16(), e.dap_type()),
        (400, Some("reportRejected"))
    );

    // Garbage and truncated bytes.
    for body in [&b"hello"[..], &[][..], &good.body[..good.body.len() - 1]] {
        let e = rejected(experiment.upload(&task_id, body, Source::Browser, now_s()));
        assert!(matches!(e, UploadError::InvalidMessage(_)), "{e}");
        assert_eq!(
            (e.status().as_u16(), e.dap_type()),
            (400, Some("invalidMessage"))
        );
    }

    // Sealed only to one aggregator's key (both shares to the leader, or both to the helper):
    // the other role cannot open its share, so the report is not counted.
    for (l, h, role) in [(&leader, &leader, "Helper"), (&helper, &helper, "Leader")] {
        let one_key = seal_day(experiment.task(), l, h, &day, yesterday()).unwrap();
        let e = rejected(experiment.upload(&task_id, &one_key.body, Source::Browser, now_s()));
        assert_eq!(e.status().as_u16(), 400);
        assert!(e.to_string().contains(role), "{role}: {e}");
    }
    // A leader share sealed to the helper's key under the leader's config id: the config id
    // matches, the key does not.
    let mut disguised = helper.clone();
    disguised.id = leader.id;
    let wrong_key = seal_day(experiment.task(), &disguised, &helper, &day, yesterday()).unwrap();
    let e = rejected(experiment.upload(&task_id, &wrong_key.body, Source::Browser, now_s()));
    assert!(
        e.to_string().contains("Leader's input share does not open"),
        "{e}"
    );

    // A report from the future (beyond Janus's default 60 s of skew).
    let early = seal_day(
        experiment.task(),
        &leader,
        &helper,
        &day,
        now_s() + 3 * 86_400,
    )
    .unwrap();
    let e = rejected(experiment.upload(&task_id, &early.body, Source::Browser, now_s()));
    assert_eq!(
        (e.status().as_u16(), e.dap_type()),
        (400, Some("reportTooEarly"))
    );

    // Nothing above was counted; the good report is, once.
    assert_eq!(experiment.lift().unwrap().reports, 0);
    experiment
        .upload(&task_id, &good.body, Source::Browser, now_s())
        .unwrap();
    let e = rejected(experiment.upload(&task_id, &good.body, Source::Browser, now_s()));
    assert!(matches!(e, UploadError::Duplicate(_)), "{e}");
    assert_eq!(e.status().as_u16(), 409);
    let view = experiment.lift().unwrap();
    assert_eq!(view.reports, 1);
    assert_eq!(view.rejected, 10);
    let mut expected = vec![0; NUM_BUCKETS];
    expected[day.bucket()] = 1;
    assert_eq!(view.buckets, expected);
}

#[test]
fn an_outdated_config_is_named() {
    let experiment = DemoExperiment::new(0.5).unwrap();
    let (mut leader, helper) = configs(&experiment);
    leader.id = 77;
    let day = DayOutcome {
        arm: Arm::Control,
        first_click: FirstClick::None,
        converted: false,
    };
    let upload = seal_day(experiment.task(), &leader, &helper, &day, yesterday()).unwrap();
    let e = rejected(experiment.upload(
        &experiment.task_id(),
        &upload.body,
        Source::Browser,
        now_s(),
    ));
    assert_eq!(e.dap_type(), Some("outdatedConfig"));
    assert!(e.to_string().contains("config 77"), "{e}");
}

#[test]
fn simulated_shoppers_go_through_the_same_upload_and_are_counted_as_simulated() {
    let experiment = DemoExperiment::new(0.5).unwrap();
    let started = std::time::Instant::now();
    assert_eq!(experiment.simulate(200, now_s()).unwrap(), 200);
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    let view = experiment.lift().unwrap();
    println!(
        "200 simulated shoppers sealed + aggregated in {elapsed:.0} ms ({:.2} ms per report aggregating)",
        view.mean_aggregate_ms
    );
    assert_eq!((view.reports, view.simulated, view.uploaded), (200, 200, 0));
    assert_eq!(view.buckets.iter().sum::<u64>(), 200);
    let arms = &view.estimate.arms;
    assert_eq!(arms.control.reports + arms.personalized.reports, 200);
    // Split 0.5 over 200 draws: each arm far from empty.
    assert!(
        arms.control.reports > 60 && arms.personalized.reports > 60,
        "{} / {}",
        arms.control.reports,
        arms.personalized.reports
    );
}

#[test]
fn the_split_is_checked_and_simulated_shoppers_split_evenly_whatever_it_is() {
    assert!(DemoExperiment::new(1.5).is_err());
    assert!(DemoExperiment::new(f64::NAN).is_err());
    // The demo's default: every real visitor personalized. The simulated population is an
    // even A/B split regardless, so the page always has a control arm to compare with.
    let all = DemoExperiment::new(1.0).unwrap();
    assert_eq!(all.split, 1.0);
    all.simulate(200, now_s()).unwrap();
    let arms = all.lift().unwrap().estimate.arms;
    assert_eq!(arms.control.reports + arms.personalized.reports, 200);
    // Binomial(200, 0.5): outside 60..=140 has probability below 1e-8.
    assert!((60..=140).contains(&arms.control.reports), "control {} of 200", arms.control.reports);
}
