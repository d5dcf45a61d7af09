//! Each item's re-buy rate: of the shoppers who bought it, the share who bought it again on a
//! later occasion. A public catalogue statistic (no shopper's history in it, only counts over
//! the store's log), exported with the item table and carried by pool items as `rebuyRate`;
//! the repeat part multiplies by it (`RepeatParams::rebuy_factor`): a staple bought twice is
//! more likely due than a one-off bought twice.
use localrank_core::rank::OCCASION_GAP_MS;

use super::{Dataset, EventKind};

/// The engine's occasion rule, in the prepared data's seconds: purchases of one item closer
/// together than this are one occasion (the rows of one basket are not a habit).
const OCCASION_GAP_SECONDS: i64 = (OCCASION_GAP_MS / 1000.0) as i64;

/// How many buyers' worth of the catalogue-wide rate an item's own count is blended with, so
/// an item with two buyers does not get a rate of 0 or 1.
pub const PRIOR_BUYERS: f64 = 5.0;

/// Rates per item index, over the training events only (never a validation or test target).
/// Items nobody bought get the catalogue-wide rate; a log without purchases gives all zeros.
pub fn rebuy_rates(ds: &Dataset) -> Vec<f32> {
    rates_over(ds, |u| ds.train_sequence(u))
}

/// The rates over each user's training events before their last `baskets` training baskets
/// (next-basket data; leave-one-out data: all training events): what a scorer fitted on those
/// baskets may know without seeing its own targets.
pub fn rebuy_rates_before_last_baskets(ds: &Dataset, baskets: usize) -> Vec<f32> {
    rates_over(ds, |u| {
        let train = ds.train_sequence(u);
        let starts: Vec<usize> = ds.basket_starts.get(u).map_or(Vec::new(), |s| s.iter().map(|&s| s as usize).filter(|&s| s < train.len()).collect());
        // The first target basket, as the scorer's examples count them (never basket 0).
        let end = starts.get(starts.len().saturating_sub(baskets).max(1)).copied().unwrap_or(train.len());
        &train[..end]
    })
}

fn rates_over<'a>(ds: &'a Dataset, events: impl Fn(usize) -> &'a [super::Event]) -> Vec<f32> {
    let purchase = EventKind::Purchase.index() as u8;
    let n = ds.num_items();
    let (mut buyers, mut repeaters) = (vec![0u32; n], vec![0u32; n]);
    // Per user: the item's first purchase time, then whether a later occasion followed.
    let mut first: Vec<Option<i64>> = vec![None; n];
    let mut again = vec![false; n];
    let mut touched = Vec::new();
    for u in 0..ds.num_users() {
        for e in events(u).iter().filter(|e| e.kind == purchase) {
            let i = e.item as usize;
            match first[i] {
                None => {
                    first[i] = Some(e.ts);
                    touched.push(i);
                }
                Some(t) if e.ts - t >= OCCASION_GAP_SECONDS => again[i] = true,
                Some(_) => {}
            }
        }
        for &i in &touched {
            buyers[i] += 1;
            repeaters[i] += u32::from(again[i]);
            first[i] = None;
            again[i] = false;
        }
        touched.clear();
    }
    let (b, r): (u64, u64) = buyers.iter().zip(&repeaters).fold((0, 0), |(b, r), (&x, &y)| (b + u64::from(x), r + u64::from(y)));
    let overall = if b > 0 { r as f64 / b as f64 } else { 0.0 };
    buyers.iter().zip(&repeaters).map(|(&b, &r)| ((f64::from(r) + PRIOR_BUYERS * overall) / (f64::from(b) + PRIOR_BUYERS)) as f32).collect()
}
