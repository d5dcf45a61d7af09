//! localrank-report: one browser-day of a lift experiment as a Prio3Histogram report.
//!
//! The day's outcome ([`localrank_core::measure::DayOutcome`]) is one bucket of a 48-bucket
//! histogram. [`shard_day`] splits its one-hot vector into two input shares (leader, helper)
//! and a public share with the `prio` crate's Prio3Histogram (draft-irtf-cfrg-vdaf-08, the VDAF
//! of draft-ietf-ppm-dap-09 that Janus's 0.7 release line speaks). Each input share alone is
//! uniformly random: only the two aggregators together, over a batch, learn the sum.
//!
//! Not here yet (docs/measurement.md): sealing each input share with HPKE to its aggregator's
//! config and framing the DAP `Report` message; the engine's `takeReport()`.

use localrank_core::measure::{DayOutcome, NUM_BUCKETS};
use prio::codec::Encode;
use prio::vdaf::prio3::{optimal_chunk_length, Prio3Histogram};
use prio::vdaf::Client;

/// Two aggregators: DAP's leader and helper.
pub const AGGREGATORS: u8 = 2;

/// The VDAF every report of an experiment uses: the aggregators' task must be configured
/// with the same length (48) and chunk length.
pub fn histogram() -> Result<Prio3Histogram, ReportError> {
    Prio3Histogram::new_histogram(AGGREGATORS, NUM_BUCKETS, chunk_length()).map_err(|e| ReportError::Vdaf(e.to_string()))
}

/// The ParallelSum chunk length the VDAF draft recommends for 48 buckets (√48 rounded: 7).
pub fn chunk_length() -> usize {
    optimal_chunk_length(NUM_BUCKETS)
}

/// One day's report before sealing: the encoded public share and the two input shares.
#[derive(Debug, Clone)]
pub struct ShardedDay {
    /// The report id (DAP's nonce): random, 16 bytes.
    pub nonce: [u8; 16],
    pub public_share: Vec<u8>,
    /// `[leader, helper]`, each in the VDAF's encoding.
    pub input_shares: [Vec<u8>; 2],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the Prio3 histogram could not shard this day: {0}")]
    Vdaf(String),
    #[error("no random numbers were available for the report's nonce: {0}")]
    Random(String),
    #[error("a share could not be encoded: {0}")]
    Encoding(String),
}

/// Shards one day with a fresh random nonce.
pub fn shard_day(outcome: &DayOutcome) -> Result<ShardedDay, ReportError> {
    let mut nonce = [0u8; 16];
    getrandom::getrandom(&mut nonce).map_err(|e| ReportError::Random(e.to_string()))?;
    shard_day_with_nonce(outcome, nonce)
}

/// Shards one day with the given nonce (tests; production uses [`shard_day`]).
pub fn shard_day_with_nonce(outcome: &DayOutcome, nonce: [u8; 16]) -> Result<ShardedDay, ReportError> {
    let vdaf = histogram()?;
    let (public_share, input_shares) = vdaf.shard(&outcome.bucket(), &nonce).map_err(|e| ReportError::Vdaf(e.to_string()))?;
    let encode = |e: Result<Vec<u8>, prio::codec::CodecError>| e.map_err(|e| ReportError::Encoding(e.to_string()));
    let [leader, helper]: [_; 2] = input_shares.try_into().map_err(|_| ReportError::Vdaf("expected two input shares".into()))?;
    Ok(ShardedDay { nonce, public_share: encode(public_share.get_encoded())?, input_shares: [encode(leader.get_encoded())?, encode(helper.get_encoded())?] })
}
