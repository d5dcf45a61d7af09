//! From a raw log to a [`Dataset`]: stable chronological order with a fixed tie-break,
//! optional first-occurrence de-duplication, iterative k-core filtering, and for the
//! next-basket protocol the grouping of each user's events into baskets.
use std::collections::{HashMap, HashSet};

use super::dataset::{Dataset, Event, Protocol};
use super::readers::{BasketKey, Interner, RawEvent, RawLog};
use crate::error::{ModelError, Result};

/// Next-basket protocol on a log without a basket column: a user's events less than this far
/// apart (30 minutes, measured from the previous event) are one basket — one visit's shopping.
pub const SESSION_GAP_SECS: i64 = 30 * 60;

/// Baskets a user needs under the next-basket protocol: training, validation and test.
pub const MIN_BASKETS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dedupe {
    /// Keep every event.
    None,
    /// Keep only the first event of each (user, item) pair, e.g. a household's first purchase
    /// of a product: repeat purchases of staples would otherwise dominate the next-item task.
    FirstPerUserItem,
}

#[derive(Debug, Clone)]
pub struct PrepareOptions {
    /// Users and items with fewer events than this are removed, repeatedly, until none remain.
    pub k_core: usize,
    pub dedupe: Dedupe,
    pub protocol: Protocol,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions { k_core: 5, dedupe: Dedupe::None, protocol: Protocol::LeaveOneOut }
    }
}

/// One basket of a user: its rows (indices into the log) in time order, and the timestamp its
/// events take (a basket-column basket: its last event's, so the sequence stays in time order
/// even when an order's rows carry slightly different times; a session: None, each event
/// keeps its own).
#[derive(Debug, Clone, PartialEq)]
struct Basket {
    rows: Vec<u32>,
    ts: Option<i64>,
}

/// Groups one user's rows (sorted by time, then input row) into baskets: by the basket id when
/// `by_column` (rows without one are left out and counted), else by [`SESSION_GAP_SECS`].
/// Baskets are ordered by time, then by their first row.
fn group_baskets(rows: &[u32], events: &[RawEvent], by_column: bool) -> (Vec<Basket>, usize) {
    if !by_column {
        let mut baskets: Vec<Basket> = Vec::new();
        let mut last_ts = None;
        for &i in rows {
            let ts = events[i as usize].timestamp;
            match (baskets.last_mut(), last_ts) {
                (Some(b), Some(prev)) if ts - prev <= SESSION_GAP_SECS => b.rows.push(i),
                _ => baskets.push(Basket { rows: vec![i], ts: None }),
            }
            last_ts = Some(ts);
        }
        return (baskets, 0);
    }
    let mut index: HashMap<BasketKey, usize> = HashMap::new();
    let mut baskets: Vec<Basket> = Vec::new();
    let mut without_id = 0;
    for &i in rows {
        let Some(id) = events[i as usize].basket else {
            without_id += 1;
            continue;
        };
        let b = *index.entry(id).or_insert_with(|| {
            baskets.push(Basket { rows: Vec::new(), ts: None });
            baskets.len() - 1
        });
        baskets[b].rows.push(i);
        // Rows come in time order, so the last one seen is the basket's latest.
        baskets[b].ts = Some(events[i as usize].timestamp);
    }
    baskets.sort_by_key(|b| (b.ts, b.rows[0]));
    (baskets, without_id)
}

/// Each interned id's position in the sorted order of the ids' text, so that the prepared
/// data set does not depend on the input's row order.
fn sorted_ranks(ids: &Interner) -> Vec<u32> {
    let mut by_name: Vec<u32> = (0..ids.len() as u32).collect();
    by_name.sort_unstable_by(|&a, &b| ids.name(a).cmp(ids.name(b)));
    let mut rank = vec![0u32; ids.len()];
    for (r, &id) in by_name.iter().enumerate() {
        rank[id as usize] = r as u32;
    }
    rank
}

/// The runs of `order` (sorted by user) that belong to one user each.
fn user_runs<'a>(order: &'a [u32], events: &'a [RawEvent]) -> impl Iterator<Item = &'a [u32]> + 'a {
    order.chunk_by(move |&a, &b| events[a as usize].user == events[b as usize].user)
}

/// Prepares a raw log. Memory: the log, plus 4 bytes per event for the order and the final
/// sequences (16 bytes per kept event); nothing per event is copied as text.
pub fn prepare(name: &str, log: &RawLog, opts: &PrepareOptions) -> Result<Dataset> {
    if opts.protocol == Protocol::NextBasket && opts.dedupe != Dedupe::None {
        return Err(ModelError::BadConfig("the next-basket protocol keeps repeat purchases; do not combine it with first-only de-duplication".into()));
    }
    let events = &log.events;
    if events.len() > u32::MAX as usize {
        return Err(ModelError::BadConfig(format!("{} events is more than one preparation handles (2^32); prepare a sample or split the log by user upstream", events.len())));
    }
    // Order: by user (their id's text), then timestamp, then the row's position in the input.
    // The last key makes the order of same-timestamp events (a basket, a MovieLens rating
    // burst) fixed and reproducible instead of depending on the sort algorithm.
    let user_rank = sorted_ranks(&log.users);
    let mut order: Vec<u32> = (0..events.len() as u32).collect();
    order.sort_unstable_by_key(|&i| {
        let e = &events[i as usize];
        (user_rank[e.user as usize], e.timestamp, i)
    });

    if opts.dedupe == Dedupe::FirstPerUserItem {
        // One user at a time, so the set holds one history, not the whole log.
        let mut keep = Vec::with_capacity(order.len());
        let mut seen: HashSet<u32> = HashSet::new();
        for run in user_runs(&order, events) {
            seen.clear();
            keep.extend(run.iter().copied().filter(|&i| seen.insert(events[i as usize].item)));
        }
        order = keep;
    }
    let after_dedupe = order.len();

    // Iterative k-core: removing an item can push a user below k and vice versa.
    let k = opts.k_core.max(1);
    let (mut user_count, mut item_count) = (vec![0u32; log.users.len()], vec![0u32; log.items.len()]);
    loop {
        user_count.iter_mut().for_each(|c| *c = 0);
        item_count.iter_mut().for_each(|c| *c = 0);
        for &i in &order {
            let e = &events[i as usize];
            user_count[e.user as usize] += 1;
            item_count[e.item as usize] += 1;
        }
        let before = order.len();
        order.retain(|&i| {
            let e = &events[i as usize];
            user_count[e.user as usize] as usize >= k && item_count[e.item as usize] as usize >= k
        });
        if order.len() == before {
            break;
        }
    }
    if order.is_empty() {
        return Err(ModelError::EmptyDataset { stage: empty_after_k_core(log, k) });
    }

    // Leave-one-out needs a training, a validation and a test event per user; next-basket a
    // training, a validation and a test basket.
    let mut notes = vec![
        format!("{} rows read, {} malformed", log.rows_read, log.malformed_rows),
        format!("{} events after de-duplication ({:?})", after_dedupe, opts.dedupe),
    ];
    notes.extend(log.notes.iter().cloned());
    // Per kept user: its run of `order`, and under next-basket its baskets.
    let mut users: Vec<(&[u32], Option<Vec<Basket>>)> = Vec::new();
    match opts.protocol {
        Protocol::LeaveOneOut => {
            let mut short_users = 0;
            for run in user_runs(&order, events) {
                if run.len() >= 3 {
                    users.push((run, None));
                } else {
                    short_users += 1;
                }
            }
            if users.is_empty() {
                return Err(ModelError::EmptyDataset { stage: "leave-one-out (every user has fewer than 3 events: a training, a validation and a test event each)".into() });
            }
            notes.push(format!("{}-core filter; {} users dropped for having fewer than 3 events", k, short_users));
        }
        Protocol::NextBasket => {
            let by_column = events.iter().any(|e| e.basket.is_some());
            let (mut without_id, mut short_users) = (0, 0);
            for run in user_runs(&order, events) {
                let (baskets, missing) = group_baskets(run, events, by_column);
                without_id += missing;
                if baskets.len() >= MIN_BASKETS {
                    users.push((run, Some(baskets)));
                } else {
                    short_users += 1;
                }
            }
            if users.is_empty() {
                return Err(ModelError::EmptyDataset { stage: format!("next-basket (every user has fewer than {MIN_BASKETS} baskets)") });
            }
            notes.push(if by_column {
                format!("baskets: the log's basket column (compared as text); {without_id} events without a basket id left out")
            } else {
                format!("baskets: no basket column, so a user's events less than {} minutes apart form one basket", SESSION_GAP_SECS / 60)
            });
            notes.push(format!("{}-core filter (on events, repeats counted); {} users dropped for having fewer than {MIN_BASKETS} baskets", k, short_users));
        }
    }

    // Dense item index in sorted id order, so it does not depend on the input's row order.
    let mut kept_item = vec![false; log.items.len()];
    for (run, _) in &users {
        for &i in run.iter() {
            kept_item[events[i as usize].item as usize] = true;
        }
    }
    let mut kept: Vec<u32> = (0..log.items.len() as u32).filter(|&i| kept_item[i as usize]).collect();
    kept.sort_unstable_by(|&a, &b| log.items.name(a).cmp(log.items.name(b)));
    let mut dense = vec![u32::MAX; log.items.len()];
    for (d, &i) in kept.iter().enumerate() {
        dense[i as usize] = d as u32;
    }
    let item_ids: Vec<String> = kept.iter().map(|&i| log.items.name(i).to_string()).collect();
    let item_category: Vec<Option<String>> = kept.iter().map(|&i| log.item_category[i as usize].clone()).collect();
    let mut price_sum = vec![(0.0f64, 0u32); item_ids.len()];

    let mut user_ids = Vec::with_capacity(users.len());
    let mut sequences = Vec::with_capacity(users.len());
    let mut basket_starts = Vec::new();
    let mut to_event = |i: u32, ts: Option<i64>| {
        let e = &events[i as usize];
        let item = dense[e.item as usize];
        if let Some(p) = e.price() {
            price_sum[item as usize].0 += f64::from(p);
            price_sum[item as usize].1 += 1;
        }
        Event { item, kind: e.kind.index() as u8, ts: ts.unwrap_or(e.timestamp) }
    };
    for (run, baskets) in &users {
        user_ids.push(log.users.name(events[run[0] as usize].user).to_string());
        match baskets {
            None => sequences.push(run.iter().map(|&i| to_event(i, None)).collect::<Vec<Event>>()),
            Some(baskets) => {
                let mut seq = Vec::with_capacity(run.len());
                let mut starts = Vec::with_capacity(baskets.len());
                for b in baskets {
                    starts.push(seq.len() as u32);
                    seq.extend(b.rows.iter().map(|&i| to_event(i, b.ts)));
                }
                sequences.push(seq);
                basket_starts.push(starts);
            }
        }
    }
    // The item's price is its mean observed unit price over the kept events.
    let item_price = price_sum.iter().map(|&(s, n)| (n > 0).then(|| (s / f64::from(n)) as f32)).collect();

    notes.push("order: user, timestamp, input row (stable tie-break); an item's category: the first the log gives it".to_string());
    if !basket_starts.is_empty() {
        let baskets: usize = basket_starts.iter().map(Vec::len).sum();
        let events: usize = sequences.iter().map(Vec::len).sum();
        notes.push(format!("{} baskets, {:.1} events per basket; last basket = test, the one before = validation", baskets, events as f64 / baskets.max(1) as f64));
    }
    let ds = Dataset { name: name.to_string(), item_ids, item_category, item_price, user_ids, sequences, notes, basket_starts, item_text: Vec::new(), catalogue_text: Vec::new() };
    ds.validate().map_err(|m| ModelError::EmptyDataset { stage: m })?;
    Ok(ds)
}

/// Why nothing survived the k-core filter, in numbers a store can act on.
fn empty_after_k_core(log: &RawLog, k: usize) -> String {
    if log.events.is_empty() {
        return format!("the log has no usable rows: {} read, {} malformed", log.rows_read, log.malformed_rows);
    }
    let mut per_user = vec![0u32; log.users.len()];
    for e in &log.events {
        per_user[e.user as usize] += 1;
    }
    let longest = per_user.iter().copied().max().unwrap_or(0);
    let at_least_k = per_user.iter().filter(|&&n| n as usize >= k).count();
    format!(
        "{k}-core filter: {} users, {} of them with {k}+ events (the longest history has {longest}); every user and item needs {k} events after filtering",
        log.users.len(),
        at_least_k
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dataset::SplitPart;
    use crate::data::Event;
    use crate::data::event_kind::EventKind;
    use crate::data::readers::RowFields;

    /// A test row: user, item, time, basket.
    #[derive(Clone)]
    struct Ev(&'static str, &'static str, i64, Option<&'static str>);

    fn ev(user: &'static str, item: &'static str, ts: i64) -> Ev {
        Ev(user, item, ts, None)
    }

    fn log(events: Vec<Ev>) -> RawLog {
        let mut l = RawLog::default();
        for Ev(user, item, timestamp, basket) in events {
            l.rows_read += 1;
            l.push(RowFields { user, item, timestamp, kind: EventKind::Purchase, category: None, price: Some(2.0), basket });
        }
        l
    }

    #[test]
    fn ties_keep_input_order_and_split_is_leave_one_out() {
        // u1 buys b and a in one basket (same timestamp): input order b, a must be kept.
        let l = log(vec![ev("u1", "c", 30), ev("u1", "b", 10), ev("u1", "a", 10), ev("u1", "d", 40), ev("u1", "e", 20)]);
        let ds = prepare("t", &l, &PrepareOptions { k_core: 1, dedupe: Dedupe::None, ..PrepareOptions::default() }).expect("prepares");
        let names: Vec<&str> = ds.sequences[0].iter().map(|e| ds.item_ids[e.item as usize].as_str()).collect();
        assert_eq!(names, vec!["b", "a", "e", "c", "d"]);
        let (hist, target) = ds.history_and_target(0, SplitPart::Test);
        assert_eq!((hist.len(), ds.item_ids[target.item as usize].as_str()), (4, "d"));
        let (hist, target) = ds.history_and_target(0, SplitPart::Validation);
        assert_eq!((hist.len(), ds.item_ids[target.item as usize].as_str()), (3, "c"));
        assert_eq!(ds.train_sequence(0).len(), 3);
        assert_eq!(ds.item_price[0], Some(2.0));
    }

    #[test]
    fn first_purchase_dedupe_keeps_earliest() {
        let l = log(vec![ev("u", "a", 5), ev("u", "a", 1), ev("u", "b", 2), ev("u", "c", 3), ev("u", "b", 9)]);
        let ds = prepare("t", &l, &PrepareOptions { k_core: 1, dedupe: Dedupe::FirstPerUserItem, ..PrepareOptions::default() }).expect("prepares");
        let seq: Vec<(String, i64)> = ds.sequences[0].iter().map(|e| (ds.item_ids[e.item as usize].clone(), e.ts)).collect();
        assert_eq!(seq, vec![("a".into(), 1), ("b".into(), 2), ("c".into(), 3)]);
    }

    #[test]
    fn k_core_is_iterative() {
        // Items x,y,z are each used by 2 users; item "rare" by one. With k=2, dropping "rare"
        // leaves u3 with one event, so u3 goes too, which drops z below 2 and then u1/u2 shrink.
        let mut events = vec![];
        for (u, items) in [("u1", vec!["x", "y", "z"]), ("u2", vec!["x", "y"]), ("u3", vec!["z", "rare"])] {
            for (t, i) in items.into_iter().enumerate() {
                events.push(ev(u, i, t as i64));
            }
        }
        let l = log(events.clone());
        let ds = prepare("t", &l, &PrepareOptions { k_core: 2, dedupe: Dedupe::None, ..PrepareOptions::default() });
        // After the cascade u1 and u2 keep only x,y: two events each, too few for leave-one-out.
        assert!(matches!(ds, Err(ModelError::EmptyDataset { .. })));
        let mut more = events;
        more.push(ev("u1", "w", 10));
        more.push(ev("u2", "w", 10));
        let ds = prepare("t", &log(more), &PrepareOptions { k_core: 2, dedupe: Dedupe::None, ..PrepareOptions::default() }).expect("prepares");
        assert_eq!(ds.item_ids, vec!["w", "x", "y"]);
        assert_eq!(ds.user_ids, vec!["u1", "u2"]);
    }

    #[test]
    fn a_log_where_every_user_has_one_event_is_a_clear_error() {
        let name = |prefix: &str, i: usize| -> &'static str { Box::leak(format!("{prefix}{i}").into_boxed_str()) };
        let l = log((0..50).map(|u| ev(name("u", u), name("p", u % 7), u as i64)).collect());
        let err = prepare("t", &l, &PrepareOptions::default()).unwrap_err().to_string();
        assert!(err.contains("5-core filter: 50 users, 0 of them with 5+ events (the longest history has 1)"), "{err}");
        let err = prepare("t", &l, &PrepareOptions { k_core: 1, ..PrepareOptions::default() }).unwrap_err().to_string();
        assert!(err.contains("every user has fewer than 3 events"), "{err}");
        let err = prepare("t", &RawLog { rows_read: 3, malformed_rows: 3, ..RawLog::default() }, &PrepareOptions::default()).unwrap_err().to_string();
        assert!(err.contains("no usable rows: 3 read, 3 malformed"), "{err}");
    }

    fn bev(user: &'static str, item: &'static str, ts: i64, basket: Option<&'static str>) -> Ev {
        Ev(user, item, ts, basket)
    }

    fn next_basket(l: &RawLog) -> Result<Dataset> {
        prepare("t", l, &PrepareOptions { k_core: 1, dedupe: Dedupe::None, protocol: Protocol::NextBasket })
    }

    fn baskets_of(ds: &Dataset, u: usize) -> Vec<Vec<&str>> {
        let starts = &ds.basket_starts[u];
        let s = &ds.sequences[u];
        (0..starts.len())
            .map(|b| {
                let end = starts.get(b + 1).map_or(s.len(), |&e| e as usize);
                s[starts[b] as usize..end].iter().map(|e| ds.item_ids[e.item as usize].as_str()).collect()
            })
            .collect()
    }

    #[test]
    fn baskets_from_the_basket_column_and_the_split() {
        // Basket ids mixed with text; "7" has a row a minute later than its first (it takes the
        // later time); repeats are kept; basket "x" holds one item.
        let l = log(vec![
            bev("u", "milk", 100, Some("7")),
            bev("u", "bread", 100, Some("7")),
            bev("u", "milk", 5_000, Some("A-2")),
            bev("u", "eggs", 160, Some("7")),
            bev("u", "milk", 9_000, Some("x")),
            bev("u", "jam", 12_000, Some("A-3")),
            bev("u", "milk", 12_000, Some("A-3")),
        ]);
        let ds = next_basket(&l).expect("prepares");
        assert_eq!(baskets_of(&ds, 0), vec![vec!["milk", "bread", "eggs"], vec!["milk"], vec!["milk"], vec!["jam", "milk"]]);
        assert!(ds.sequences[0][..3].iter().all(|e| e.ts == 160), "one basket, one time");
        // Test = the last basket, validation = the one before, training = the rest.
        let names = |evs: &[Event]| evs.iter().map(|e| ds.item_ids[e.item as usize].clone()).collect::<Vec<_>>();
        assert_eq!(names(ds.target_events(0, SplitPart::Test)), vec!["jam", "milk"]);
        assert_eq!(names(ds.target_events(0, SplitPart::Validation)), vec!["milk"]);
        assert_eq!(ds.train_sequence(0).len(), 4);
        let (hist, target) = ds.history_and_target(0, SplitPart::Test);
        assert_eq!((hist.len(), target.ts), (5, 12_000));
        // The prepared file round-trips, and leave-one-out files (no basket field) still load.
        let json = serde_json::to_string(&ds).expect("json");
        assert_eq!(serde_json::from_str::<Dataset>(&json).expect("reads back"), ds);
        let loo = prepare("t", &l, &PrepareOptions { k_core: 1, ..PrepareOptions::default() }).expect("prepares");
        assert!(!serde_json::to_string(&loo).expect("json").contains("basket_starts"));
        assert_eq!(loo.protocol(), Protocol::LeaveOneOut);
    }

    #[test]
    fn baskets_from_the_session_gap_without_a_column() {
        // Gaps: 10 min (same basket), 31 min (new), 29 min (same), 2 days (new).
        let l = log(vec![ev("u", "a", 0), ev("u", "b", 600), ev("u", "c", 600 + 31 * 60), ev("u", "a", 600 + 60 * 60), ev("u", "d", 200_000)]);
        let ds = next_basket(&l).expect("prepares");
        assert_eq!(baskets_of(&ds, 0), vec![vec!["a", "b"], vec!["c", "a"], vec!["d"]]);
        // Each event keeps its own time inside a session.
        assert_eq!(ds.sequences[0][1].ts, 600);
        assert!(ds.notes.iter().any(|n| n.contains("30 minutes")), "{:?}", ds.notes);
    }

    #[test]
    fn households_with_fewer_than_three_baskets_are_dropped_and_counted() {
        let l = log(vec![
            bev("one", "a", 1, Some("1")),
            bev("one", "b", 1, Some("1")),
            bev("two", "a", 1, Some("1")),
            bev("two", "a", 2, Some("2")),
            bev("ok", "a", 1, Some("1")),
            bev("ok", "b", 2, Some("2")),
            bev("ok", "a", 3, Some("3")),
            ev("ok", "c", 4),
        ]);
        let ds = next_basket(&l).expect("prepares");
        assert_eq!(ds.user_ids, vec!["ok"]);
        assert!(ds.notes.iter().any(|n| n.contains("2 users dropped for having fewer than 3 baskets")), "{:?}", ds.notes);
        assert!(ds.notes.iter().any(|n| n.contains("1 events without a basket id")), "{:?}", ds.notes);
        // Nobody with three baskets: an error that says why, not a panic.
        let err = next_basket(&log(vec![bev("one", "a", 1, Some("1"))])).unwrap_err();
        assert!(err.to_string().contains("fewer than 3 baskets"), "{err}");
        // First-only de-duplication would drop the repeats the protocol is about.
        let err = prepare("t", &l, &PrepareOptions { k_core: 1, dedupe: Dedupe::FirstPerUserItem, protocol: Protocol::NextBasket }).unwrap_err();
        assert!(matches!(err, ModelError::BadConfig(_)), "{err}");
    }
}
