//! "Buy it again": how due each item the shopper bought is, from their own purchase history.
//!
//! In grocery, pet, beauty and pharmacy stores most of the next basket is things the shopper
//! bought before, and the strongest simple predictor is their own purchase frequency weighted
//! towards recent purchases (P-TopFreq and its time-decayed variants in Li et al., "A Next
//! Basket Recommendation Reality Check", TOIS 2023). This module turns the local history into
//! that signal, the `repeat` part of an item's score, in [0, 1]:
//!
//! - **frequency × recency**: `f = Σ 0.5^(age_days / half_life_days)` over the item's purchase
//!   occasions, divided by the shopper's largest `f` — so the part does not depend on which
//!   items the pool happens to hold;
//! - **due-ness**: for an item bought on two or more occasions, with `usual` = the median gap
//!   between them, `c = exp(−ln²(days_since_last / usual) / 2)`: 1 when exactly one usual
//!   interval has passed, 0.61 at half or double it, falling for an item just bought or long
//!   abandoned; `c = 0.5` (no cycle known) for an item bought once;
//! - `repeat = f · ((1 − due_mix) + due_mix · c) · ((1 − rebuy_mix) + rebuy_mix · r)`, where
//!   `r` is the item's re-buy rate (the pool item's `rebuyRate`: the share of the store's
//!   buyers of the item who bought it again, a public catalogue statistic the trainer exports
//!   with the item table); an item without one gets the factor 1. Milk bought twice is more
//!   likely due than a barbecue bought twice.
//!
//! `half_life_days` and `due_mix` ([`RepeatParams`]) are tuned by `localrank eval --protocol
//! next-basket` on the validation baskets and shipped in model.json (`repeat`); without a model
//! the defaults below apply. The trainer scores with this same code.

use serde::{Deserialize, Serialize};
#[cfg(feature = "tsify")]
use tsify::Tsify;

use super::repeat_learned::{LearnedRepeat, DECAY_HALF_LIVES_DAYS, NUM_REPEAT_FEATURES, REBUY_FEATURE};
use crate::history::{EventKind, StoredEvent};

const MS_PER_DAY: f64 = 86_400_000.0;

/// Purchases of one item closer together than this are one occasion: the rows of one basket,
/// or a double tap on "buy", are not a habit.
pub const OCCASION_GAP_MS: f64 = 3_600_000.0;

/// The parameters of the repeat part (model.json `repeat`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
pub struct RepeatParams {
    /// A purchase this many days old counts half as much as one today.
    pub half_life_days: f64,
    /// How much of the part is due-ness (0: frequency × recency alone; 1: all of it scaled by
    /// how due the item is).
    pub due_mix: f64,
    /// How much of the part is the item's re-buy rate (0: ignored). Absent in model.json
    /// files written before it: 0.
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub rebuy_mix: f64,
}

impl Default for RepeatParams {
    /// The no-model rule: a month's half-life (a weekly staple keeps its place through a
    /// holiday; a one-off from last season fades), half of the part from due-ness.
    fn default() -> Self {
        RepeatParams { half_life_days: 30.0, due_mix: 0.5, rebuy_mix: 0.0 }
    }
}

/// The largest half-life accepted: ten years (a longer one means "never forget").
pub const MAX_HALF_LIFE_DAYS: f64 = 3650.0;

impl RepeatParams {
    /// Names the first parameter out of range, with its value.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(self.half_life_days.is_finite() && self.half_life_days > 0.0 && self.half_life_days <= MAX_HALF_LIFE_DAYS) {
            return Err(("half_life_days", format!("must be a number of days above 0 and at most {MAX_HALF_LIFE_DAYS}, got {}", self.half_life_days)));
        }
        if !(self.due_mix.is_finite() && (0.0..=1.0).contains(&self.due_mix)) {
            return Err(("due_mix", format!("must be a number from 0 to 1, got {}", self.due_mix)));
        }
        if !(self.rebuy_mix.is_finite() && (0.0..=1.0).contains(&self.rebuy_mix)) {
            return Err(("rebuy_mix", format!("must be a number from 0 to 1, got {}", self.rebuy_mix)));
        }
        Ok(())
    }

    /// What an item's re-buy rate (0..=1; `None`: unknown) multiplies its repeat part by.
    pub fn rebuy_factor(&self, rate: Option<f32>) -> f32 {
        match rate {
            Some(r) => (1.0 - self.rebuy_mix as f32) + self.rebuy_mix as f32 * r,
            None => 1.0,
        }
    }
}

/// What the shopper's history says about one item they bought: what explanations show
/// ("you buy this about every 2 weeks").
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(Tsify))]
#[serde(rename_all = "camelCase")]
pub struct RepeatInfo {
    /// Purchase occasions (purchases within an hour of each other are one).
    pub purchases: u32,
    /// The median number of days between occasions, when there are two or more.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub every_days: Option<f32>,
    /// Days since the last purchase.
    pub days_since: f32,
}

/// What the shopper's purchases in one category say.
#[derive(Debug, Clone, Copy, Default)]
struct CategoryStats<'h> {
    trips: u32,
    occasions: u32,
    last_ms: f64,
    last_item: &'h str,
}

/// The purchase occasions of one item, oldest first (ms since the epoch).
#[derive(Debug, Clone, Default)]
struct Occasions(Vec<f64>);

impl Occasions {
    fn usual_interval_ms(&self) -> Option<f64> {
        if self.0.len() < 2 {
            return None;
        }
        let mut gaps: Vec<f64> = self.0.windows(2).map(|w| w[1] - w[0]).collect();
        crate::sort::sort_by(&mut gaps, f64::total_cmp);
        let mid = gaps.len() / 2;
        Some(if gaps.len() % 2 == 1 { gaps[mid] } else { 0.5 * (gaps[mid - 1] + gaps[mid]) })
    }

    fn last(&self) -> f64 {
        self.0.last().copied().unwrap_or(0.0)
    }
}

/// The shopper's purchases, grouped by item: built once per ranking from the whole kept
/// history (a habit spans months, not the last 50 events).
#[derive(Debug, Clone, Default)]
pub struct RepeatProfile<'h> {
    /// Sorted by item id, for binary search: a sorted list costs the wasm far less code than
    /// another `HashMap` instantiation, and a shopper's distinct purchases are few.
    items: Vec<(&'h str, Occasions)>,
    /// Each bought item's category (the first its purchases carry), by the index in `items`.
    item_categories: Vec<Option<&'h str>>,
    /// When each shopping trip began, oldest first: purchases of any items less than
    /// [`OCCASION_GAP_MS`] after the previous purchase belong to its trip.
    trips: Vec<f64>,
    /// The newest event's time: "now" when the caller has no clock.
    newest_ms: f64,
}

impl<'h> RepeatProfile<'h> {
    /// Purchase events only; events without an item or with a non-finite time are skipped.
    /// The history need not be sorted.
    pub fn from_history(history: &'h [StoredEvent]) -> RepeatProfile<'h> {
        let mut purchases: Vec<(&'h str, f64, Option<&'h str>)> = Vec::new();
        let mut newest_ms = f64::NEG_INFINITY;
        for event in history {
            if !event.timestamp.is_finite() {
                continue;
            }
            newest_ms = newest_ms.max(event.timestamp);
            if event.kind != EventKind::Purchase {
                continue;
            }
            if let Some(item) = event.item.as_deref() {
                purchases.push((item, event.timestamp, event.category.as_deref()));
            }
        }
        let mut times: Vec<f64> = purchases.iter().map(|p| p.1).collect();
        crate::sort::sort_by(&mut times, f64::total_cmp);
        let mut trips: Vec<f64> = Vec::new();
        let mut previous = f64::NEG_INFINITY;
        for t in times {
            if t - previous >= OCCASION_GAP_MS {
                trips.push(t);
            }
            previous = t;
        }
        crate::sort::sort_by(&mut purchases, |a, b| a.0.cmp(b.0).then(a.1.total_cmp(&b.1)));
        let mut items: Vec<(&'h str, Occasions)> = Vec::new();
        let mut item_categories: Vec<Option<&'h str>> = Vec::new();
        for &(item, time, category) in &purchases {
            match items.last_mut() {
                Some((last_item, occasions)) if *last_item == item => {
                    if time - occasions.last() >= OCCASION_GAP_MS {
                        occasions.0.push(time);
                    }
                    if let (Some(slot @ None), Some(c)) = (item_categories.last_mut(), category) {
                        *slot = Some(c);
                    }
                }
                _ => {
                    items.push((item, Occasions(vec![time])));
                    item_categories.push(category);
                }
            }
        }
        RepeatProfile { items, item_categories, trips, newest_ms: if newest_ms.is_finite() { newest_ms } else { 0.0 } }
    }

    /// Where `id` is in `items`, if the shopper bought it.
    fn position(&self, id: &str) -> Option<usize> {
        self.items.binary_search_by(|(item, _)| (*item).cmp(id)).ok()
    }

    fn occasions(&self, id: &str) -> Option<&Occasions> {
        self.position(id).map(|k| &self.items[k].1)
    }

    /// `id`'s occasions, and its category's statistics from `categories` ([`category_stats`]).
    fn bought_item<'p>(&'p self, id: &str, categories: &'p [(&'h str, CategoryStats<'h>)]) -> Option<BoughtItem<'p, 'h>> {
        let k = self.position(id)?;
        let category = self.item_categories[k].and_then(|c| categories.binary_search_by(|(name, _)| (*name).cmp(c)).ok().map(|j| &categories[j].1));
        Some(BoughtItem { id: self.items[k].0, occasions: &self.items[k].1, category })
    }

    /// No purchases at all: the repeat part is 0 for every item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The time scores are measured to: `now_ms` when it is a usable clock reading, else the
    /// newest event's time. A clock behind the history (a device whose clock jumped back) is
    /// treated as the newest event's time, so no age is negative.
    fn clock(&self, now_ms: Option<f64>) -> f64 {
        match now_ms {
            Some(now) if now.is_finite() => now.max(self.newest_ms),
            _ => self.newest_ms,
        }
    }

    /// The repeat part of every item in `ids` (0 for items never bought), in [0, 1].
    pub fn scores<'a>(&self, ids: impl IntoIterator<Item = &'a str>, now_ms: Option<f64>, params: &RepeatParams) -> Vec<f32> {
        let scorer = self.scorer(now_ms, params, None);
        ids.into_iter().map(|id| scorer.part(id, None)).collect()
    }

    /// A scorer for many lookups at one time (the normaliser computed once). With `learned`
    /// (a model's `repeat_scorer`), that network gives the part and `params` only its clock.
    pub fn scorer<'s>(&'s self, now_ms: Option<f64>, params: &RepeatParams, learned: Option<&'s LearnedRepeat>) -> RepeatScorer<'s, 'h> {
        self.scorer_with(now_ms, params, learned, learned.is_some())
    }

    /// A scorer whose [`RepeatScorer::features_of`] gives the learned scorer's inputs (the
    /// trainer's examples), with the rule's default parameters.
    pub fn feature_scorer(&self, now_ms: Option<f64>) -> RepeatScorer<'_, 'h> {
        self.scorer_with(now_ms, &RepeatParams::default(), None, true)
    }

    fn scorer_with<'s>(&'s self, now_ms: Option<f64>, params: &RepeatParams, learned: Option<&'s LearnedRepeat>, features: bool) -> RepeatScorer<'s, 'h> {
        let now = self.clock(now_ms);
        let max = self.items.iter().map(|(_, o)| decayed_count(o, now, params.half_life_days)).fold(0.0f32, f32::max);
        // Only the features read the categories: the rule's rankings do not pay for them.
        let categories = if features { category_stats(&self.items, &self.item_categories, &self.trips) } else { Vec::new() };
        RepeatScorer { profile: self, now, params: *params, max, learned, categories }
    }

    /// What the history says about `id`, if the shopper bought it.
    pub fn info(&self, id: &str, now_ms: Option<f64>) -> Option<RepeatInfo> {
        let occasions = self.occasions(id)?;
        let now = self.clock(now_ms);
        Some(RepeatInfo {
            purchases: occasions.0.len() as u32,
            every_days: occasions.usual_interval_ms().map(|ms| (ms / MS_PER_DAY) as f32),
            days_since: ((now - occasions.last()) / MS_PER_DAY) as f32,
        })
    }
}

/// One bought item with its category's statistics.
struct BoughtItem<'p, 'h> {
    id: &'h str,
    occasions: &'p Occasions,
    category: Option<&'p CategoryStats<'h>>,
}

/// The trip (index into `trips`, trip start times oldest first) a purchase at `time` belongs to.
fn trip_of(trips: &[f64], time: f64) -> usize {
    trips.partition_point(|&t| t <= time).saturating_sub(1)
}

fn category_stats<'h>(items: &[(&'h str, Occasions)], item_categories: &[Option<&'h str>], trips: &[f64]) -> Vec<(&'h str, CategoryStats<'h>)> {
    // (category, trip, time, item) for every occasion of an item with a category.
    let mut rows: Vec<(&'h str, usize, f64, &'h str)> = Vec::new();
    for ((item, occasions), category) in items.iter().zip(item_categories) {
        if let Some(c) = category {
            rows.extend(occasions.0.iter().map(|&t| (*c, trip_of(trips, t), t, *item)));
        }
    }
    crate::sort::sort_by(&mut rows, |a, b| a.0.cmp(b.0).then(a.1.cmp(&b.1)).then(a.2.total_cmp(&b.2)));
    let mut out: Vec<(&'h str, CategoryStats<'h>)> = Vec::new();
    let mut last_trip = usize::MAX;
    for (c, trip, time, item) in rows {
        match out.last_mut() {
            Some((name, stats)) if *name == c => {
                stats.trips += u32::from(trip != last_trip);
                stats.occasions += 1;
                if time >= stats.last_ms {
                    (stats.last_ms, stats.last_item) = (time, item);
                }
            }
            _ => out.push((c, CategoryStats { trips: 1, occasions: 1, last_ms: time, last_item: item })),
        }
        last_trip = trip;
    }
    out
}

/// Scores items against one profile at one time.
pub struct RepeatScorer<'p, 'h> {
    profile: &'p RepeatProfile<'h>,
    now: f64,
    params: RepeatParams,
    max: f32,
    learned: Option<&'p LearnedRepeat>,
    /// Per category (sorted by name): in how many trips the shopper bought from it, on how many
    /// item occasions, and the time and item of the latest purchase.
    categories: Vec<(&'h str, CategoryStats<'h>)>,
}

impl RepeatScorer<'_, '_> {
    /// The repeat part of `id` (0 for an item never bought), given its re-buy rate when the
    /// pool carries one: the learned network's, or the rule's scaled by the re-buy factor.
    pub fn part(&self, id: &str, rebuy_rate: Option<f32>) -> f32 {
        let Some(bought) = self.profile.bought_item(id, &self.categories) else { return 0.0 };
        match self.learned {
            Some(learned) => learned.part(&self.features(&bought, rebuy_rate.unwrap_or(learned.mean[REBUY_FEATURE]))),
            None => self.score_occasions(bought.occasions) * self.params.rebuy_factor(rebuy_rate),
        }
    }

    /// The learned scorer's inputs for a bought `id` (None: never bought), in the order of
    /// [`super::repeat_learned::REPEAT_FEATURES`]: what the trainer fits on. The category
    /// features are neutral unless the scorer came from [`RepeatProfile::feature_scorer`] or
    /// with a learned scorer.
    pub fn features_of(&self, id: &str, rebuy_rate: f32) -> Option<[f32; NUM_REPEAT_FEATURES]> {
        self.profile.bought_item(id, &self.categories).map(|b| self.features(&b, rebuy_rate))
    }

    /// The items the shopper bought: a ranking visits these few instead of looking up each of
    /// the pool's items here.
    pub fn bought(&self) -> impl Iterator<Item = &str> + '_ {
        self.profile.items.iter().map(|(id, _)| *id)
    }

    fn features(&self, bought: &BoughtItem<'_, '_>, rebuy_rate: f32) -> [f32; NUM_REPEAT_FEATURES] {
        let occasions = bought.occasions;
        let trips = &self.profile.trips;
        let n = occasions.0.len() as f32;
        let days = |ms: f64| (ms / MS_PER_DAY) as f32;
        let since = days((self.now - occasions.last()).max(OCCASION_GAP_MS));
        let last_trip = trips.last().copied().unwrap_or(0.0);
        let fifth_last_trip = trips.get(trips.len().saturating_sub(5)).copied().unwrap_or(0.0);
        let recent = occasions.0.iter().filter(|&&t| t >= fifth_last_trip).count().min(5) as f32;
        // ln(1 + x) with `ln`, not `ln_1p`: the wasm carries `ln` already, and x ≥ 0 here.
        let log1 = |x: f32| (1.0 + x).ln();
        let (due, log_ratio, usual_log) = match occasions.usual_interval_ms() {
            Some(usual) => {
                let ratio = (since / days(usual)).ln();
                ((-0.5 * ratio * ratio).exp(), ratio.clamp(-3.0, 3.0), log1(days(usual)))
            }
            None => (0.0, 0.0, 0.0),
        };
        let decayed = |k: usize| log1(decayed_count(occasions, self.now, DECAY_HALF_LIVES_DAYS[k]));
        // In trips rather than days: the next basket is exactly one trip on, whatever the
        // shopper's pace.
        let first_trip = trip_of(trips, occasions.0.first().copied().unwrap_or(0.0));
        let latest_trip = trip_of(trips, occasions.last());
        let trips_since = trips.len().saturating_sub(latest_trip + 1) as f32;
        let due_trips = if occasions.0.len() >= 2 {
            let usual_trips = ((latest_trip - first_trip) as f32 / (n - 1.0)).max(1.0);
            ((trips_since + 1.0) / usual_trips).ln().clamp(-3.0, 3.0)
        } else {
            0.0
        };
        let second_last_trip = trips.len().checked_sub(2).map(|k| (trips[k], trips[k + 1]));
        let in_second_last = second_last_trip.is_some_and(|(from, to)| occasions.0.iter().any(|&t| t >= from && t < to));
        let (category_trip_share, category_item_share, switched) = match bought.category {
            Some(c) => (
                c.trips as f32 / (trips.len() as f32).max(1.0),
                n / (c.occasions as f32).max(1.0),
                f32::from(u8::from(c.last_item != bought.id && c.last_ms > occasions.last())),
            ),
            None => (0.0, 1.0, 0.0),
        };
        [
            log1(trips.len() as f32),
            rebuy_rate,
            log1(n),
            decayed(0),
            decayed(1),
            decayed(2),
            decayed(3),
            log1(since),
            due,
            log_ratio,
            n / (trips.len() as f32).max(1.0),
            f32::from(u8::from(occasions.last() >= last_trip)),
            recent / 5.0,
            usual_log,
            log1(trips_since),
            due_trips,
            f32::from(u8::from(in_second_last)),
            log1(days((self.now - last_trip).max(0.0))),
            category_trip_share,
            category_item_share,
            switched,
        ]
    }

    fn score_occasions(&self, occasions: &Occasions) -> f32 {
        if self.max <= 0.0 {
            return 0.0;
        }
        let frequency = decayed_count(occasions, self.now, self.params.half_life_days) / self.max;
        let due = match occasions.usual_interval_ms() {
            Some(usual) => {
                // Both terms are at least an hour (occasions are), so the ratio is finite and > 0.
                let ratio = (((self.now - occasions.last()).max(OCCASION_GAP_MS) / usual) as f32).ln();
                (-0.5 * ratio * ratio).exp()
            }
            None => 0.5,
        };
        let mix = self.params.due_mix as f32;
        frequency * ((1.0 - mix) + mix * due)
    }
}

/// Σ 0.5^(age / half-life) over the occasions. In f32, whose `exp` the engine already carries
/// (f64's `powf` would add its own ~6 KB to the wasm); a ranking part needs no more digits.
fn decayed_count(occasions: &Occasions, now: f64, half_life_days: f64) -> f32 {
    let rate = -std::f32::consts::LN_2 / (half_life_days * MS_PER_DAY) as f32;
    occasions.0.iter().map(|&t| (rate * (now - t).max(0.0) as f32).exp()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: f64 = MS_PER_DAY;

    fn purchase(item: &str, day: f64) -> StoredEvent {
        StoredEvent { seq: 0, kind: EventKind::Purchase, item: Some(item.into()), query: None, timestamp: day * DAY, category: None, price: None }
    }

    fn view(item: &str, day: f64) -> StoredEvent {
        StoredEvent { kind: EventKind::View, ..purchase(item, day) }
    }

    #[test]
    fn frequency_and_recency_order_items_and_views_do_not_count() {
        let history = vec![
            purchase("milk", 0.0),
            purchase("milk", 7.0),
            purchase("milk", 14.0),
            purchase("candle", 13.0),
            view("tv", 14.0),
            view("tv", 14.5),
        ];
        let profile = RepeatProfile::from_history(&history);
        let frequency_only = RepeatParams { half_life_days: 30.0, due_mix: 0.0, rebuy_mix: 0.0 };
        let s = profile.scores(["milk", "candle", "tv", "never"], Some(15.0 * DAY), &frequency_only);
        assert_eq!(s[0], 1.0, "the most-bought item is the shopper's maximum");
        assert!(s[1] > 0.0 && s[1] < s[0], "bought once, recently: below the staple, above zero ({s:?})");
        assert_eq!((s[2], s[3]), (0.0, 0.0), "viewed or never seen items have no repeat part");
    }

    #[test]
    fn an_item_is_most_due_one_usual_interval_after_its_last_purchase() {
        let history = vec![purchase("coffee", 0.0), purchase("coffee", 14.0), purchase("coffee", 28.0), purchase("tea", 27.0), purchase("tea", 28.0)];
        let profile = RepeatProfile::from_history(&history);
        let due_only = RepeatParams { half_life_days: MAX_HALF_LIFE_DAYS, due_mix: 1.0, rebuy_mix: 0.0 };
        let coffee = |day: f64| profile.scores(["coffee"], Some(day * DAY), &due_only)[0];
        let early = coffee(29.0);
        let due = coffee(42.0);
        let late = coffee(120.0);
        assert!(due > early && due > late, "due {due} should beat just bought {early} and long abandoned {late}");
        let info = profile.info("coffee", Some(42.0 * DAY)).expect("bought");
        assert_eq!(info.purchases, 3);
        assert_eq!(info.every_days, Some(14.0));
        assert_eq!(info.days_since, 14.0);
    }

    #[test]
    fn rows_of_one_basket_are_one_occasion() {
        let mut history = vec![purchase("eggs", 3.0), purchase("eggs", 3.0), purchase("eggs", 3.0 + 0.5 / 24.0)];
        let profile = RepeatProfile::from_history(&history);
        assert_eq!(profile.info("eggs", None).map(|i| (i.purchases, i.every_days)), Some((1, None)));
        history.push(purchase("eggs", 10.0));
        let profile = RepeatProfile::from_history(&history);
        assert_eq!(profile.info("eggs", None).map(|i| i.purchases), Some(2));
    }

    #[test]
    fn a_clock_behind_the_history_or_not_a_number_measures_from_the_newest_event() {
        let history = vec![purchase("rice", 10.0), purchase("rice", 20.0), view("x", 30.0)];
        let profile = RepeatProfile::from_history(&history);
        let p = RepeatParams::default();
        let at_newest = profile.scores(["rice"], None, &p);
        assert_eq!(profile.scores(["rice"], Some(5.0 * DAY), &p), at_newest);
        assert_eq!(profile.scores(["rice"], Some(f64::NAN), &p), at_newest);
        assert!(at_newest[0] > 0.0 && at_newest[0] <= 1.0);
    }

    #[test]
    fn no_purchases_and_odd_timestamps_give_zero_not_nan() {
        let history = vec![view("a", 1.0), StoredEvent { timestamp: f64::NAN, ..purchase("b", 0.0) }];
        let profile = RepeatProfile::from_history(&history);
        assert!(profile.is_empty());
        assert_eq!(profile.scores(["a", "b"], Some(2.0 * DAY), &RepeatParams::default()), vec![0.0, 0.0]);
        // Purchases far apart in time stay finite.
        let history = vec![purchase("a", -1e7), purchase("a", 1e7)];
        let s = RepeatProfile::from_history(&history).scores(["a"], Some(1e9 * DAY), &RepeatParams::default());
        assert!(s[0].is_finite() && (0.0..=1.0).contains(&s[0]), "{s:?}");
    }

    fn in_category(item: &str, category: &str, day: f64) -> StoredEvent {
        StoredEvent { category: Some(category.into()), ..purchase(item, day) }
    }

    #[test]
    fn trip_and_category_features_say_what_the_trips_show() {
        use crate::rank::REPEAT_FEATURES;
        // Milk on the first three weekly trips, then a switch to oat milk; bread only on the last.
        let history = vec![
            in_category("milk", "dairy", 0.0),
            in_category("milk", "dairy", 7.0),
            in_category("milk", "dairy", 14.0),
            in_category("oat milk", "dairy", 21.0),
            in_category("bread", "bakery", 21.0 + 0.1 / 24.0),
            purchase("candle", 14.0 + 0.2 / 24.0),
        ];
        let profile = RepeatProfile::from_history(&history);
        let scorer = profile.feature_scorer(Some(28.0 * DAY));
        let feature = |id: &str, name: &str| scorer.features_of(id, 0.3).expect("bought")[REPEAT_FEATURES.iter().position(|f| *f == name).expect("a feature")];
        assert_eq!(feature("milk", "trips_since_log"), 2f32.ln(), "one trip since milk's last");
        assert_eq!(feature("oat milk", "trips_since_log"), 0.0);
        assert_eq!(feature("milk", "in_second_last_trip"), 1.0);
        assert_eq!(feature("bread", "in_second_last_trip"), 0.0);
        assert_eq!(feature("milk", "due_trips_log_ratio"), 2f32.ln(), "bought every trip, one trip missed");
        assert_eq!(feature("milk", "category_switched"), 1.0, "oat milk replaced it");
        assert_eq!(feature("oat milk", "category_switched"), 0.0);
        assert_eq!(feature("milk", "category_trip_share"), 1.0, "dairy on all 4 trips");
        assert_eq!(feature("bread", "category_trip_share"), 0.25);
        assert_eq!(feature("milk", "category_item_share"), 0.75);
        assert_eq!((feature("candle", "category_item_share"), feature("candle", "category_switched")), (1.0, 0.0), "no category: neutral values");
        assert_eq!(feature("bread", "last_trip_days_log"), (1.0 + 7.0f32).ln(), "a week since the last trip");
    }

    #[test]
    fn params_out_of_range_are_named() {
        assert!(RepeatParams::default().check().is_ok());
        assert_eq!(RepeatParams { half_life_days: 0.0, due_mix: 0.5, rebuy_mix: 0.0 }.check().map_err(|e| e.0), Err("half_life_days"));
        assert_eq!(RepeatParams { half_life_days: 7.0, due_mix: 1.5, rebuy_mix: 0.0 }.check().map_err(|e| e.0), Err("due_mix"));
        assert_eq!(RepeatParams { half_life_days: f64::NAN, due_mix: 0.5, rebuy_mix: 0.0 }.check().map_err(|e| e.0), Err("half_life_days"));
        assert_eq!(RepeatParams { rebuy_mix: -0.1, ..RepeatParams::default() }.check().map_err(|e| e.0), Err("rebuy_mix"));
        let p = RepeatParams { rebuy_mix: 0.5, ..RepeatParams::default() };
        assert_eq!((p.rebuy_factor(None), p.rebuy_factor(Some(1.0)), p.rebuy_factor(Some(0.2))), (1.0, 1.0, 0.6));
    }
}
