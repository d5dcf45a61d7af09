//! The history rules, natively, on the memory store. The browser suite (tests/browser_history.rs)
//! runs the same scenarios through IndexedDB.

use futures::executor::block_on;
use localrank_core::history::retention::DAY_MS;
use localrank_core::{EventInput, EventKind, History, LocalRankError, MemoryStore, OpenOptions};

const NOW: f64 = 1_780_000_000_000.0;

fn view(item: &str, timestamp: f64) -> EventInput {
    EventInput { kind: Some(EventKind::View), item: Some(item.into()), timestamp: Some(timestamp), ..Default::default() }
}

fn open(store: MemoryStore, options: OpenOptions) -> History<MemoryStore> {
    block_on(History::open(store, &options, NOW)).expect("open")
}

#[test]
fn records_and_returns_events_in_time_order() {
    let mut history = open(MemoryStore::new(), OpenOptions::default());
    block_on(history.record(view("b", NOW - 10.0), NOW)).unwrap();
    block_on(history.record(view("a", NOW - 20.0), NOW)).unwrap(); // arrives late
    block_on(history.record(view("c", NOW - 10.0), NOW)).unwrap(); // same ms as b: after it
    let items: Vec<_> = history.events().iter().map(|e| e.item.clone().unwrap()).collect();
    assert_eq!(items, ["a", "b", "c"]);
    assert_eq!(history.recent(2).iter().map(|e| e.item.as_deref().unwrap()).collect::<Vec<_>>(), ["b", "c"]);
    assert_eq!(history.len(), 3);
}

#[test]
fn timestamp_defaults_to_now() {
    let mut history = open(MemoryStore::new(), OpenOptions::default());
    let input = EventInput { kind: Some(EventKind::Cart), item: Some("x".into()), ..Default::default() };
    let stored = block_on(history.record(input, NOW)).unwrap();
    assert_eq!(stored.timestamp, NOW);
    assert_eq!(stored.kind, EventKind::Cart);
}

#[test]
fn events_survive_reopening_the_store() {
    let mut history = open(MemoryStore::new(), OpenOptions::default());
    for i in 0..5 {
        block_on(history.record(view(&format!("i{i}"), NOW - 100.0 + i as f64), NOW)).unwrap();
    }
    let reopened = open(history.into_store(), OpenOptions::default());
    assert_eq!(reopened.len(), 5);
    assert_eq!(reopened.events()[4].item.as_deref(), Some("i4"));
}

#[test]
fn retention_keeps_the_newest_events() {
    let options = OpenOptions { max_events: Some(3.0), ..Default::default() };
    let mut history = open(MemoryStore::new(), options.clone());
    for i in 0..10 {
        block_on(history.record(view(&format!("i{i}"), NOW - 100.0 + i as f64), NOW)).unwrap();
    }
    let items: Vec<_> = history.events().iter().map(|e| e.item.clone().unwrap()).collect();
    assert_eq!(items, ["i7", "i8", "i9"]);
    // And on disk: reopening with the same policy finds the same three.
    let reopened = open(history.into_store(), options);
    assert_eq!(reopened.len(), 3);
}

#[test]
fn retention_by_age_is_enforced_on_open() {
    let mut history = open(MemoryStore::new(), OpenOptions::default());
    block_on(history.record(view("old", NOW - 80.0 * DAY_MS), NOW)).unwrap();
    block_on(history.record(view("new", NOW - 1.0 * DAY_MS), NOW)).unwrap();
    let later = NOW + 20.0 * DAY_MS; // "old" is now 100 days old
    let reopened = block_on(History::open(history.into_store(), &OpenOptions::default(), later)).unwrap();
    assert_eq!(reopened.events().iter().map(|e| e.item.as_deref().unwrap()).collect::<Vec<_>>(), ["new"]);
}

#[test]
fn a_tighter_policy_at_open_trims_the_oldest() {
    let mut history = open(MemoryStore::new(), OpenOptions::default());
    for i in 0..6 {
        block_on(history.record(view(&format!("i{i}"), NOW - 10.0 + i as f64), NOW)).unwrap();
    }
    let tight = OpenOptions { max_events: Some(2.0), ..Default::default() };
    let reopened = open(history.into_store(), tight);
    assert_eq!(reopened.events().iter().map(|e| e.item.as_deref().unwrap()).collect::<Vec<_>>(), ["i4", "i5"]);
}

#[test]
fn a_late_event_older_than_everything_kept_is_rejected_not_silently_lost() {
    let options = OpenOptions { max_events: Some(2.0), ..Default::default() };
    let mut history = open(MemoryStore::new(), options);
    block_on(history.record(view("a", NOW - 2.0), NOW)).unwrap();
    block_on(history.record(view("b", NOW - 1.0), NOW)).unwrap();
    let err = block_on(history.record(view("ancient", NOW - 50.0), NOW)).unwrap_err();
    assert_eq!(err.field(), Some("timestamp"));
    // A late event that still fits displaces the oldest.
    block_on(history.record(view("late", NOW - 1.5), NOW)).unwrap();
    assert_eq!(history.events().iter().map(|e| e.item.as_deref().unwrap()).collect::<Vec<_>>(), ["late", "b"]);
}

#[test]
fn bad_events_are_rejected_naming_the_field_and_nothing_is_lost() {
    let mut history = open(MemoryStore::new(), OpenOptions { dim: Some(3), ..Default::default() });
    block_on(history.record(view("keep", NOW - 1.0), NOW)).unwrap();
    let cases: Vec<(EventInput, &str)> = vec![
        (EventInput { item: Some("x".into()), ..Default::default() }, "kind"),
        (view("", NOW), "item"),
        (view("   ", NOW), "item"),
        (EventInput { kind: Some(EventKind::View), ..Default::default() }, "item"),
        (EventInput { kind: Some(EventKind::Search), ..Default::default() }, "query"),
        (EventInput { kind: Some(EventKind::Search), query: Some("q".into()), item: Some("x".into()), ..Default::default() }, "item"),
        (EventInput { query: Some("q".into()), ..view("x", NOW) }, "query"),
        (view("x", f64::NAN), "timestamp"),
        (view("x", f64::INFINITY), "timestamp"),
        (view("x", -5.0), "timestamp"),
        (EventInput { price: Some(f64::NAN), ..view("x", NOW) }, "price"),
        (EventInput { price: Some(-1.0), ..view("x", NOW) }, "price"),
        (EventInput { vector: Some(vec![1.0, 2.0]), ..view("x", NOW) }, "vector"),
        (EventInput { vector: Some(vec![1.0, f32::NAN, 2.0]), ..view("x", NOW) }, "vector"),
        (EventInput { vector: Some(vec![]), ..view("x", NOW) }, "vector"),
        (EventInput { category: Some("".into()), ..view("x", NOW) }, "category"),
        (view(&"x".repeat(600), NOW), "item"),
    ];
    for (input, field) in cases {
        let err = block_on(history.record(input.clone(), NOW)).expect_err(&format!("{input:?} must be rejected"));
        assert!(matches!(err, LocalRankError::InvalidEvent { .. }), "{err:?}");
        assert_eq!(err.field(), Some(field), "{input:?}: {err}");
        assert!(err.to_string().contains(field), "message names the field: {err}");
    }
    assert_eq!(history.len(), 1, "rejections leave stored history untouched");
}

#[test]
fn search_events_carry_a_query() {
    let mut history = open(MemoryStore::new(), OpenOptions::default());
    let input = EventInput { kind: Some(EventKind::Search), query: Some("red shoes".into()), ..Default::default() };
    let stored = block_on(history.record(input, NOW)).unwrap();
    assert_eq!(stored.query.as_deref(), Some("red shoes"));
    assert_eq!(stored.item, None);
}

#[test]
fn vectors_are_cached_per_item_and_fix_the_dimension() {
    let mut history = open(MemoryStore::new(), OpenOptions::default());
    let input = EventInput { vector: Some(vec![0.5, 0.5]), category: Some("shoes".into()), ..view("s1", NOW) };
    block_on(history.record(input, NOW)).unwrap();
    assert_eq!(history.vectors().dim(), Some(2));
    let cached = history.vectors().get("s1").unwrap();
    assert_eq!((cached.vector.as_slice(), cached.category.as_deref()), (&[0.5, 0.5][..], Some("shoes")));
    let err = block_on(history.record(EventInput { vector: Some(vec![1.0; 3]), ..view("s2", NOW) }, NOW)).unwrap_err();
    assert_eq!(err.field(), Some("vector"));
    // The cache and its dimension survive reopening.
    let reopened = open(history.into_store(), OpenOptions::default());
    assert_eq!(reopened.vectors().dim(), Some(2));
    assert!(reopened.vectors().get("s1").is_some());
}

#[test]
fn a_new_dimension_at_open_drops_the_old_vectors_but_keeps_events() {
    let mut history = open(MemoryStore::new(), OpenOptions::default());
    block_on(history.record(EventInput { vector: Some(vec![0.5, 0.5]), ..view("s1", NOW) }, NOW)).unwrap();
    let reopened = open(history.into_store(), OpenOptions { dim: Some(4), ..Default::default() });
    assert_eq!(reopened.len(), 1);
    assert!(reopened.vectors().is_empty());
    assert_eq!(reopened.vectors().dim(), Some(4));
}

#[test]
fn the_vector_cache_is_bounded() {
    let options = OpenOptions { max_cached_vectors: Some(2.0), ..Default::default() };
    let mut history = open(MemoryStore::new(), options.clone());
    let pool = (0..5).map(|i| (format!("p{i}"), vec![i as f32, 1.0], None)).collect();
    block_on(history.cache_vectors(pool)).unwrap();
    assert_eq!(history.vectors().len(), 2);
    assert!(history.vectors().get("p4").is_some() && history.vectors().get("p0").is_none());
    let reopened = open(history.into_store(), options);
    assert_eq!(reopened.vectors().len(), 2);
}

#[test]
fn forget_erases_everything() {
    let mut history = open(MemoryStore::new(), OpenOptions::default());
    block_on(history.record(EventInput { vector: Some(vec![1.0]), ..view("a", NOW) }, NOW)).unwrap();
    block_on(history.forget()).unwrap();
    assert!(history.is_empty() && history.vectors().is_empty());
    let reopened = open(history.into_store(), OpenOptions::default());
    assert!(reopened.is_empty() && reopened.vectors().is_empty());
}

#[test]
fn corrupt_records_are_skipped_and_reported() {
    let mut store = MemoryStore::new();
    store.insert_corrupt("record 7: kind 42 is not a string");
    let history = open(store, OpenOptions::default());
    assert!(history.is_empty());
    let warning = &history.warnings()[0];
    assert_eq!(warning.code(), "CorruptRecords");
    assert!(warning.to_string().contains("record 7"), "{warning}");
}

#[test]
fn export_is_versioned_json_with_every_event() {
    let mut history = open(MemoryStore::new(), OpenOptions::default());
    block_on(history.record(view("a", NOW - 5.0), NOW)).unwrap();
    block_on(history.record(EventInput { kind: Some(EventKind::Purchase), price: Some(9.5), ..view("b", NOW) }, NOW)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&history.export(NOW).to_json()).unwrap();
    assert_eq!(json["format"], "localrank-history");
    assert_eq!(json["version"], 1);
    assert_eq!(json["events"].as_array().unwrap().len(), 2);
    assert_eq!(json["events"][1]["kind"], "purchase");
    assert_eq!(json["events"][1]["price"], 9.5);
    assert_eq!(json["maxEvents"], 500);
}

#[test]
fn invalid_open_options_are_rejected() {
    for (options, field) in [
        (OpenOptions { max_events: Some(-1.0), ..Default::default() }, "maxEvents"),
        (OpenOptions { max_age_days: Some(0.0), ..Default::default() }, "maxAgeDays"),
        (OpenOptions { max_cached_vectors: Some(0.5), ..Default::default() }, "maxCachedVectors"),
        (OpenOptions { dim: Some(0), ..Default::default() }, "dim"),
        (OpenOptions { database: Some(" ".into()), ..Default::default() }, "database"),
    ] {
        assert_eq!(options.validate().unwrap_err().field(), Some(field));
    }
}

#[test]
fn event_kinds_are_one_list() {
    assert_eq!(EventKind::names(), "view, click, cart, purchase, favorite, search");
    for (i, kind) in EventKind::ALL.into_iter().enumerate() {
        assert_eq!(kind.index(), i);
        assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
    }
    assert_eq!(EventKind::parse("teleport"), None);
}

#[test]
fn a_full_disk_trims_the_oldest_and_keeps_the_newest_event() {
    let mut history = open(MemoryStore::with_quota(20), OpenOptions::default());
    for i in 0..50 {
        block_on(history.record(view(&format!("i{i}"), NOW - 100.0 + i as f64), NOW)).expect("record despite the quota");
    }
    let items: Vec<_> = history.events().iter().map(|e| e.item.clone().unwrap()).collect();
    assert!(items.len() <= 20 && items.len() >= 10, "{items:?}");
    assert_eq!(items.last().unwrap(), "i49", "the newest event is kept");
    // Still time-ordered and contiguous: only the oldest went.
    let first: usize = items[0][1..].parse().unwrap();
    assert_eq!(items, (first..50).map(|i| format!("i{i}")).collect::<Vec<_>>());
    assert!(history.warnings().iter().any(|w| w.code() == "StorageFull"));
    // On disk too.
    let reopened = open(history.into_store(), OpenOptions::default());
    assert_eq!(reopened.events().last().unwrap().item.as_deref(), Some("i49"));
}

#[test]
fn an_experiment_keeps_its_arm_across_visits_tallies_the_day_and_reports_it_once() {
    use localrank_core::measure::tally::ExperimentConfig;
    use localrank_core::measure::{Arm, DayOutcome, FirstClick};
    let config = ExperimentConfig { id: "home-test".into(), split: 0.5, dap: None };
    let event = |kind, item: &str| EventInput { kind: Some(kind), item: Some(item.into()), ..Default::default() };
    let mut history = open(MemoryStore::new(), OpenOptions::default());
    assert_eq!(block_on(history.join_experiment(config.clone(), u32::MAX / 4)).unwrap(), Arm::Personalized);
    let order: Vec<String> = (0..20).map(|i| format!("sku-{i}")).collect();
    block_on(history.homepage_shown(&order, NOW)).unwrap();
    block_on(history.record(event(EventKind::View, "sku-4"), NOW + 1.0)).unwrap();
    block_on(history.record(event(EventKind::Click, "sku-4"), NOW + 2.0)).unwrap();
    block_on(history.record(event(EventKind::Click, "sku-1"), NOW + 3.0)).unwrap();

    // The next visit: the same experiment keeps the stored coin (a new draw near 2³² would be control).
    let mut history = open(history.into_store(), OpenOptions::default());
    assert_eq!(block_on(history.join_experiment(config.clone(), u32::MAX - 9)).unwrap(), Arm::Personalized);
    assert_eq!(history.experiment_arm(), Some(("home-test", Arm::Personalized)));
    block_on(history.record(event(EventKind::Purchase, "sku-9"), NOW + 4.0)).unwrap();
    assert_eq!(block_on(history.take_experiment_report(NOW + 5.0)).unwrap(), None, "the day is not over");
    let tomorrow = NOW + DAY_MS;
    let (_, outcome) = block_on(history.take_experiment_report(tomorrow)).unwrap().expect("yesterday's report");
    assert_eq!(outcome, DayOutcome { arm: Arm::Personalized, first_click: FirstClick::Slot(5), converted: true });
    // Reopened after the report: never the same day twice.
    let mut history = open(history.into_store(), OpenOptions::default());
    block_on(history.join_experiment(config.clone(), u32::MAX / 2)).unwrap();
    assert_eq!(block_on(history.take_experiment_report(tomorrow + 1.0)).unwrap(), None);

    // A report that cannot be made (sealing failed) leaves the day due; a made one marks it.
    let day_after = tomorrow + DAY_MS;
    block_on(history.homepage_shown(&order, tomorrow + 2.0)).unwrap();
    assert!(history.experiment_report_due(day_after), "a finished day with a homepage is due");
    let failed = block_on(history.take_experiment_report_with(day_after, |_, _| Err::<(), _>(LocalRankError::Internal("no randomness".into()))));
    assert!(failed.is_err());
    let retried = block_on(history.take_experiment_report_with(day_after + 1.0, |day, outcome| Ok((day, outcome)))).unwrap();
    assert_eq!(retried.map(|(day, _)| day), Some((tomorrow / DAY_MS).floor() as i64), "the failed day is retried, not lost");
    assert!(!history.experiment_report_due(day_after + 2.0), "a reported day is not due again");
    assert_eq!(block_on(history.take_experiment_report_with(day_after + 2.0, |day, _| Ok(day))).unwrap(), None);

    // A new experiment id draws a new coin; erasing the history forgets the experiment too.
    let other = ExperimentConfig { id: "home-test-2".into(), split: 0.5, dap: None };
    assert_eq!(block_on(history.join_experiment(other, u32::MAX - 9)).unwrap(), Arm::Control);
    block_on(history.forget()).unwrap();
    assert_eq!(history.experiment_arm(), None);
    let history = open(history.into_store(), OpenOptions::default());
    assert_eq!(history.experiment_arm(), None);
}
