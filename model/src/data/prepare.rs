//! From a raw log to a [`Dataset`]: stable chronological order with a fixed tie-break,
//! optional first-occurrence de-duplication, iterative k-core filtering.
use std::collections::{BTreeMap, HashMap, HashSet};

use super::dataset::{Dataset, Event};
use super::readers::RawLog;
use crate::error::{ModelError, Result};

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
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions { k_core: 5, dedupe: Dedupe::None }
    }
}

pub fn prepare(name: &str, log: &RawLog, opts: &PrepareOptions) -> Result<Dataset> {
    // Order: by user, then timestamp, then the row's position in the input. The last key makes
    // the order of same-timestamp events (a basket, a MovieLens rating burst) fixed and
    // reproducible instead of depending on the sort algorithm.
    let mut order: Vec<usize> = (0..log.events.len()).collect();
    order.sort_by(|&a, &b| {
        let (ea, eb) = (&log.events[a], &log.events[b]);
        (ea.user.as_str(), ea.timestamp, a).cmp(&(eb.user.as_str(), eb.timestamp, b))
    });

    if opts.dedupe == Dedupe::FirstPerUserItem {
        let mut seen: HashSet<(&str, &str)> = HashSet::new();
        order.retain(|&i| seen.insert((log.events[i].user.as_str(), log.events[i].item.as_str())));
    }
    let after_dedupe = order.len();

    // Iterative k-core: removing an item can push a user below k and vice versa.
    let k = opts.k_core.max(1);
    loop {
        let mut user_count: HashMap<&str, usize> = HashMap::new();
        let mut item_count: HashMap<&str, usize> = HashMap::new();
        for &i in &order {
            *user_count.entry(log.events[i].user.as_str()).or_default() += 1;
            *item_count.entry(log.events[i].item.as_str()).or_default() += 1;
        }
        let before = order.len();
        order.retain(|&i| user_count[log.events[i].user.as_str()] >= k && item_count[log.events[i].item.as_str()] >= k);
        if order.len() == before {
            break;
        }
    }
    if order.is_empty() {
        return Err(ModelError::EmptyDataset { stage: format!("{k}-core filter") });
    }

    // Leave-one-out needs a training, a validation and a test event per user.
    let mut per_user: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &i in &order {
        per_user.entry(log.events[i].user.as_str()).or_default().push(i);
    }
    let short_users = per_user.values().filter(|v| v.len() < 3).count();
    per_user.retain(|_, v| v.len() >= 3);
    if per_user.is_empty() {
        return Err(ModelError::EmptyDataset { stage: "leave-one-out (every user has fewer than 3 events)".into() });
    }

    // Dense item index in sorted id order, so it does not depend on the input's row order.
    let item_set: std::collections::BTreeSet<&str> = per_user.values().flatten().map(|&i| log.events[i].item.as_str()).collect();
    let item_ids: Vec<String> = item_set.iter().map(|s| s.to_string()).collect();
    let item_index: HashMap<&str, u32> = item_set.iter().enumerate().map(|(i, s)| (*s, i as u32)).collect();
    let mut item_category: Vec<Option<String>> = vec![None; item_ids.len()];
    let mut price_sum = vec![(0.0f64, 0u32); item_ids.len()];

    let mut user_ids = Vec::with_capacity(per_user.len());
    let mut sequences = Vec::with_capacity(per_user.len());
    for (user, rows) in &per_user {
        user_ids.push(user.to_string());
        let seq: Vec<Event> = rows
            .iter()
            .map(|&i| {
                let e = &log.events[i];
                let item = item_index[e.item.as_str()];
                if item_category[item as usize].is_none() {
                    item_category[item as usize] = e.category.clone();
                }
                if let Some(p) = e.price {
                    price_sum[item as usize].0 += f64::from(p);
                    price_sum[item as usize].1 += 1;
                }
                Event { item, kind: e.kind.index() as u8, ts: e.timestamp }
            })
            .collect();
        sequences.push(seq);
    }
    // The item's price is its mean observed unit price.
    let item_price = price_sum.iter().map(|&(s, n)| (n > 0).then(|| (s / f64::from(n)) as f32)).collect();

    let notes = vec![
        format!("{} rows read, {} malformed", log.rows_read, log.malformed.len()),
        format!("{} events after de-duplication ({:?})", after_dedupe, opts.dedupe),
        format!("{}-core filter; {} users dropped for having fewer than 3 events", k, short_users),
        "order: user, timestamp, input row (stable tie-break)".to_string(),
    ];
    let ds = Dataset { name: name.to_string(), item_ids, item_category, item_price, user_ids, sequences, notes };
    ds.validate().map_err(|m| ModelError::EmptyDataset { stage: m })?;
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dataset::SplitPart;
    use crate::data::event_kind::EventKind;
    use crate::data::readers::RawEvent;

    fn ev(user: &str, item: &str, ts: i64) -> RawEvent {
        RawEvent { user: user.into(), item: item.into(), timestamp: ts, kind: EventKind::Purchase, category: None, price: Some(2.0) }
    }

    fn log(events: Vec<RawEvent>) -> RawLog {
        RawLog { rows_read: events.len(), events, malformed: vec![] }
    }

    #[test]
    fn ties_keep_input_order_and_split_is_leave_one_out() {
        // u1 buys b and a in one basket (same timestamp): input order b, a must be kept.
        let l = log(vec![ev("u1", "c", 30), ev("u1", "b", 10), ev("u1", "a", 10), ev("u1", "d", 40), ev("u1", "e", 20)]);
        let ds = prepare("t", &l, &PrepareOptions { k_core: 1, dedupe: Dedupe::None }).expect("prepares");
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
        let ds = prepare("t", &l, &PrepareOptions { k_core: 1, dedupe: Dedupe::FirstPerUserItem }).expect("prepares");
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
        let l = log(events);
        let ds = prepare("t", &l, &PrepareOptions { k_core: 2, dedupe: Dedupe::None });
        // After the cascade u1 and u2 keep only x,y: two events each, too few for leave-one-out.
        assert!(matches!(ds, Err(ModelError::EmptyDataset { .. })));
        let mut more = l.events.clone();
        more.push(ev("u1", "w", 10));
        more.push(ev("u2", "w", 10));
        let ds = prepare("t", &log(more), &PrepareOptions { k_core: 2, dedupe: Dedupe::None }).expect("prepares");
        assert_eq!(ds.item_ids, vec!["w", "x", "y"]);
        assert_eq!(ds.user_ids, vec!["u1", "u2"]);
    }
}
