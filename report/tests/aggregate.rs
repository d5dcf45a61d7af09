//! Reports made by the browser's sharding code, aggregated in-process by the `prio` crate's
//! own aggregator code in both roles (leader and helper: prepare → aggregate → unshard), give
//! back exactly the tallies the browsers held; and one aggregator's shares alone do not.

mod common;

use common::{aggregate, outcomes, Shares};
use localrank_core::measure::{Arm, DayOutcome, FirstClick, NUM_BUCKETS};
use localrank_report::{histogram, shard_day, ShardedDay};
use prio::codec::ParameterizedDecode;
use prio::vdaf::prio3::{Prio3InputShare, Prio3PublicShare};
use prio::vdaf::Aggregator;

fn shares(report: &ShardedDay) -> Shares<'_> {
    Shares { nonce: report.nonce, public_share: &report.public_share, input_shares: [&report.input_shares[0], &report.input_shares[1]] }
}

#[test]
fn the_aggregate_is_exactly_the_sum_of_the_browsers_tallies() {
    let days = outcomes(300);
    let reports: Vec<ShardedDay> = days.iter().map(|d| shard_day(d).expect("shards")).collect();
    let mut expected = vec![0u128; NUM_BUCKETS];
    for day in &days {
        expected[day.bucket()] += 1;
    }
    assert_eq!(aggregate(&reports.iter().map(shares).collect::<Vec<_>>()), expected);
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
