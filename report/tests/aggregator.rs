//! The `aggregator` feature's demo aggregators against this crate's sealing and the tests'
//! independent aggregator code (tests/common, written from the DAP-09 text): what
//! `AggregatorKeys::open` returns is what the independent HPKE open returns, and
//! `DemoAggregation` counts exactly, refusing mismatched shares without touching its sums.
//! Runs with `cargo test -p localrank-report --features aggregator` (and in `--workspace`).
#![cfg(feature = "aggregator")]

mod common;

use common::{aad, info, input_share_of_plaintext, open, outcomes, LEADER};
use localrank_core::measure::NUM_BUCKETS;
use localrank_report::aggregator::{AggregationError, AggregatorKeys, DemoAggregation};
use localrank_report::{seal_day, HpkeConfig, Report, Role, TaskConfig};

fn task() -> TaskConfig {
    TaskConfig { task_id: [5; 32], time_precision_s: 3600 }
}

#[test]
fn demo_keys_open_what_the_client_sealed_and_the_sums_are_exact() {
    let leader = AggregatorKeys::from_seed(1, [1; 32]);
    let helper = AggregatorKeys::from_seed(2, [2; 32]);
    assert_eq!(HpkeConfig::choose_from_list(&leader.config_list().unwrap()).unwrap(), leader.config);
    let mut aggregation = DemoAggregation::new([3; 16]).unwrap();
    let mut expected = vec![0u64; NUM_BUCKETS];
    for day in outcomes(90) {
        let upload = seal_day(&task(), &leader.config, &helper.config, &day, 1_767_225_600).unwrap();
        let report = Report::from_bytes(&upload.body).unwrap();
        let leader_share = leader.open(Role::Leader, &task().task_id, &report).unwrap();
        let helper_share = helper.open(Role::Helper, &task().task_id, &report).unwrap();
        assert_eq!(helper.open(Role::Leader, &task().task_id, &report).unwrap_err(), AggregationError::OutdatedConfig { role: Role::Leader, got: 1, expected: 2 });
        // The independent open (tests/common) agrees on the leader's share.
        let m = &report.metadata;
        let ct = &report.leader_encrypted_input_share;
        let plain = open(&leader_private_key_of_seed([1; 32]), &ct.encapsulated_key, &ct.payload, &info(LEADER), &aad(&task().task_id, &m.report_id, m.time, &report.public_share)).unwrap();
        assert_eq!(input_share_of_plaintext(&plain), leader_share.as_slice());
        aggregation.add(&m.report_id, &report.public_share, [&leader_share, &helper_share]).unwrap();
        expected[day.bucket()] += 1;
    }
    assert_eq!(aggregation.reports(), 90);
    assert_eq!(aggregation.unshard().unwrap(), expected);
}

/// The private key `AggregatorKeys::from_seed` derives (the same ChaCha20 seed → X25519
/// keygen), re-derived here because the type never exposes it: the key is the same, the
/// HPKE open and the DAP `info` / AAD bytes are tests/common's own.
fn leader_private_key_of_seed(seed: [u8; 32]) -> Vec<u8> {
    use hpke::{Kem as _, Serializable};
    use rand_core::SeedableRng;
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
    let (sk, _) = hpke::kem::X25519HkdfSha256::gen_keypair(&mut rng);
    sk.to_bytes().to_vec()
}

#[test]
fn mismatched_shares_are_refused_and_leave_the_sums_alone() {
    let leader = AggregatorKeys::from_seed(1, [1; 32]);
    let helper = AggregatorKeys::from_seed(2, [2; 32]);
    let days = outcomes(2);
    let reports: Vec<Report> = days
        .iter()
        .map(|d| Report::from_bytes(&seal_day(&task(), &leader.config, &helper.config, d, 1_767_225_600).unwrap().body).unwrap())
        .collect();
    let shares: Vec<[Vec<u8>; 2]> = reports
        .iter()
        .map(|r| [leader.open(Role::Leader, &task().task_id, r).unwrap(), helper.open(Role::Helper, &task().task_id, r).unwrap()])
        .collect();
    let mut aggregation = DemoAggregation::new([3; 16]).unwrap();
    aggregation.add(&reports[0].metadata.report_id, &reports[0].public_share, [&shares[0][0], &shares[0][1]]).unwrap();
    // Report 0's leader share with report 1's helper share: verification fails.
    let mixed = aggregation.add(&reports[0].metadata.report_id, &reports[0].public_share, [&shares[0][0], &shares[1][1]]);
    assert!(matches!(mixed, Err(AggregationError::Verify(_))), "{mixed:?}");
    let garbage = aggregation.add(&reports[0].metadata.report_id, b"xx", [&shares[0][0], &shares[0][1]]);
    assert!(matches!(garbage, Err(AggregationError::Decode { .. })), "{garbage:?}");
    assert_eq!(aggregation.reports(), 1);
    let mut expected = vec![0u64; NUM_BUCKETS];
    expected[days[0].bucket()] = 1;
    assert_eq!(aggregation.unshard().unwrap(), expected);
}
