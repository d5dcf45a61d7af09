//! Reports made by the browser's sharding code, aggregated in-process by the `prio` crate's
//! own aggregator code in both roles (leader and helper: prepare → aggregate → unshard), give
//! back exactly the tallies the browsers held; and one aggregator's shares alone do not.

use localrank_core::measure::{Arm, DayOutcome, FirstClick, NUM_BUCKETS};
use localrank_report::{histogram, shard_day, ShardedDay};
use prio::codec::ParameterizedDecode;
use prio::vdaf::prio3::{Prio3InputShare, Prio3PublicShare};
use prio::vdaf::{Aggregator, Collector, PrepareTransition};

fn outcomes(n: usize) -> Vec<DayOutcome> {
    (0..n)
        .map(|i| DayOutcome {
            arm: if i % 3 == 0 { Arm::Control } else { Arm::Personalized },
            first_click: match i % 7 {
                0 => FirstClick::None,
                1 => FirstClick::Other,
                k => FirstClick::Slot(k as u8),
            },
            converted: i % 5 == 0,
        })
        .collect()
}

/// Both aggregators, in one process, on decoded reports.
fn aggregate(reports: &[ShardedDay]) -> Vec<u128> {
    let vdaf = histogram().unwrap();
    let verify_key = [7u8; 16];
    let mut out_shares = [Vec::new(), Vec::new()];
    for report in reports {
        let public = Prio3PublicShare::get_decoded_with_param(&vdaf, &report.public_share).expect("public share");
        let mut states = Vec::new();
        let mut prep_shares = Vec::new();
        for (agg_id, bytes) in report.input_shares.iter().enumerate() {
            let share = Prio3InputShare::get_decoded_with_param(&(&vdaf, agg_id), bytes).expect("input share");
            let (state, prep_share) = vdaf.prepare_init(&verify_key, agg_id, &(), &report.nonce, &public, &share).expect("a valid report prepares");
            states.push(state);
            prep_shares.push(prep_share);
        }
        let message = vdaf.prepare_shares_to_prepare_message(&(), prep_shares).expect("prepare message");
        for (agg_id, state) in states.into_iter().enumerate() {
            match vdaf.prepare_next(state, message.clone()).expect("prepare next") {
                PrepareTransition::Finish(out) => out_shares[agg_id].push(out),
                PrepareTransition::Continue(..) => panic!("Prio3 prepares in one round"),
            }
        }
    }
    let [leader, helper] = out_shares;
    let agg_leader = vdaf.aggregate(&(), leader).expect("leader aggregates");
    let agg_helper = vdaf.aggregate(&(), helper).expect("helper aggregates");
    vdaf.unshard(&(), [agg_leader, agg_helper], reports.len()).expect("collector unshards")
}

#[test]
fn the_aggregate_is_exactly_the_sum_of_the_browsers_tallies() {
    let days = outcomes(300);
    let reports: Vec<ShardedDay> = days.iter().map(|d| shard_day(d).expect("shards")).collect();
    let mut expected = vec![0u128; NUM_BUCKETS];
    for day in &days {
        expected[day.bucket()] += 1;
    }
    assert_eq!(aggregate(&reports), expected);
}

#[test]
fn one_aggregators_share_alone_is_not_the_tally() {
    // The same day, sharded twice: the leader's shares differ (fresh randomness), and the
    // leader's share decoded as field elements is not the one-hot vector.
    let day = DayOutcome { arm: Arm::Personalized, first_click: FirstClick::Slot(1), converted: true };
    let a = shard_day(&day).unwrap();
    let b = shard_day(&day).unwrap();
    assert_ne!(a.input_shares[0], b.input_shares[0], "a leader share carries no fixed pattern of the measurement");
    assert_ne!(a.nonce, b.nonce);
    // Aggregating only the leader's view is impossible: a report whose helper share is
    // replaced by another report's does not prepare into the original tally.
    let mut mixed = a.clone();
    mixed.input_shares[1] = b.input_shares[1].clone();
    let vdaf = histogram().unwrap();
    let public = Prio3PublicShare::get_decoded_with_param(&vdaf, &mixed.public_share).unwrap();
    let shares: Vec<_> = mixed.input_shares.iter().enumerate().map(|(i, s)| Prio3InputShare::get_decoded_with_param(&(&vdaf, i), s).unwrap()).collect();
    let preps: Vec<_> = shares.iter().enumerate().map(|(i, s)| vdaf.prepare_init(&[7u8; 16], i, &(), &mixed.nonce, &public, s)).collect();
    let rejected = match preps.into_iter().collect::<Result<Vec<_>, _>>() {
        Err(_) => true,
        Ok(parts) => {
            let (_, prep_shares): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
            vdaf.prepare_shares_to_prepare_message(&(), prep_shares).is_err()
        }
    };
    assert!(rejected, "mismatched shares fail verification instead of decoding to a tally");
}
