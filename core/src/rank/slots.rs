//! Slot rules: which items drop, which sink, which hold a fixed slot, and the order of the rest.

use crate::hash::FastHashSet;

use super::SlotRule;
use super::mmr::diversify;
use super::options::RankSettings;
use crate::pool::CandidatePool;

pub struct Layout {
    /// Pool indices in display order, with the rule that placed each (if any).
    pub order: Vec<(usize, Option<SlotRule>)>,
    /// Pool indices of unavailable items.
    pub dropped: Vec<usize>,
}

pub fn arrange(
    pool: &CandidatePool,
    blended: &[f32],
    bought: &FastHashSet<&str>,
    settings: &RankSettings,
    personalized: bool,
) -> Layout {
    let dropped: Vec<usize> = (0..pool.len()).filter(|&i| !pool.items[i].available).collect();
    let available: Vec<usize> = (0..pool.len()).filter(|&i| pool.items[i].available).collect();
    let slots = available.len();

    // Fixed slots: pinned items at their slot, sponsored items at their server position
    // (among available items). A pinned slot beyond the end means "last".
    let mut fixed: Vec<(usize, usize, SlotRule)> = Vec::new(); // (slot, pool index, rule)
    for (server_slot, &i) in available.iter().enumerate() {
        let item = &pool.items[i];
        if let Some(slot) = item.pinned {
            fixed.push((slot, i, SlotRule::Pinned));
        } else if item.sponsored {
            fixed.push((server_slot, i, SlotRule::Sponsored));
        }
    }
    // Pinned before sponsored on the same slot; a displaced sponsored item takes the next slot.
    crate::sort::sort_by_key(&mut fixed, |&(slot, i, rule)| (slot, rule != SlotRule::Pinned, i));

    let is_fixed: FastHashSet<usize> = fixed.iter().map(|&(_, i, _)| i).collect();
    let mut free: Vec<usize> = available.iter().copied().filter(|i| !is_fixed.contains(i)).collect();
    // Best first; ties keep the server order (free is in server order, and the sort is stable).
    crate::sort::sort_positions_by_score_desc(&mut free, blended);
    let (sunk, fresh): (Vec<usize>, Vec<usize>) =
        free.into_iter().partition(|&i| personalized && !pool.items[i].repeat && bought.contains(pool.items[i].id.as_str()));

    let mut ranked_free: Vec<(usize, Option<SlotRule>)> = if personalized && settings.lambda < 1.0 {
        let relevance = normalized(&fresh, blended);
        diversify(&relevance, &|i| (pool.vector(i), pool.norm(i)), settings.lambda, settings.diversify_top)
            .into_iter()
            .map(|i| (i, None))
            .collect()
    } else {
        fresh.into_iter().map(|i| (i, None)).collect()
    };
    ranked_free.extend(sunk.into_iter().map(|i| (i, Some(SlotRule::Purchased))));

    let mut order: Vec<Option<(usize, Option<SlotRule>)>> = vec![None; slots];
    let mut overflow = Vec::new();
    for (slot, i, rule) in fixed {
        match (slot..slots).find(|&s| order[s].is_none()) {
            Some(s) => order[s] = Some((i, Some(rule))),
            None => overflow.push((i, Some(rule))),
        }
    }
    let mut rest = ranked_free.into_iter();
    let mut order: Vec<(usize, Option<SlotRule>)> =
        order.into_iter().filter_map(|slot| slot.or_else(|| rest.next())).collect();
    order.extend(rest);
    order.extend(overflow);
    Layout { order, dropped }
}

/// Relevance rescaled to [0, 1] over the candidates, so MMR's λ trades like against like.
fn normalized(items: &[usize], blended: &[f32]) -> Vec<(usize, f32)> {
    let (lo, hi) = items.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &i| (l.min(blended[i]), h.max(blended[i])));
    let span = if hi > lo { hi - lo } else { 1.0 };
    items.iter().map(|&i| (i, (blended[i] - lo) / span)).collect()
}
