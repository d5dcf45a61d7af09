//! localrank-report: one browser-day of a lift experiment as a Prio3Histogram report.
//!
//! The day's outcome ([`localrank_core::measure::DayOutcome`]) is one bucket of a 48-bucket
//! histogram. [`shard_day`] splits its one-hot vector into two input shares (leader, helper)
//! and a public share with the `prio` crate's Prio3Histogram (draft-irtf-cfrg-vdaf-08, the VDAF
//! of draft-ietf-ppm-dap-09 that Janus's 0.7 release line speaks). Each input share alone is
//! uniformly random: only the two aggregators together, over a batch, learn the sum.
//!
//! [`seal_day`] then builds the DAP-09 upload: each input share wrapped as a
//! `PlaintextInputShare`, HPKE-sealed (RFC 9180 base mode) to its aggregator's config and
//! bound to the task and report metadata, framed as a `Report` ([`dap`]). The crate does no
//! I/O: the caller fetches the configs and sends the [`Upload`].
//!
//! The engine's `takeReport()` (crate `localrank`, `src/report.rs`) checks the storefront's
//! task and configs at `open()`; the report module (`localrank-report-web`, a second wasm the
//! page loads when a day is due) seals it with [`seal_encoded`] (docs/measurement.md).

pub mod dap;
#[cfg(feature = "aggregator")]
pub mod aggregator;

pub use dap::{HpkeConfig, Message, Report, Role};
use dap::{HpkeCiphertext, PlaintextInputShare, ReportMetadata, TASK_ID_LEN};
use hpke::{Deserializable, Serializable};
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
    #[error("no random numbers were available for the report: {0}")]
    Random(String),
    #[error("a share could not be encoded: {0}")]
    Encoding(String),
    #[error("the {message} ends early: its {field} needs {needed} more bytes but {available} are left. {}", .message.hint())]
    Truncated { message: Message, field: &'static str, needed: usize, available: usize },
    #[error("the {message} has {extra} bytes after its end (a single HpkeConfig where a list is expected, or the reverse? two bodies concatenated?). {}", .message.hint())]
    TrailingBytes { message: Message, extra: usize },
    #[error("the aggregator's HpkeConfigList is empty: the aggregator has no active HPKE key yet; create one (Janus: aggregator API or janus_cli) and fetch /hpke_config again")]
    EmptyConfigList,
    #[error("HPKE config {config_id} uses KEM {kem_id:#06x} ({name}); this client seals only with DHKEM(X25519, HKDF-SHA256) (0x0020): give the aggregator an X25519 key (Janus's default)")]
    UnsupportedKem { config_id: u8, kem_id: u16, name: &'static str },
    #[error("HPKE config {config_id} uses KDF {kdf_id:#06x} ({name}); this client supports only HKDF-SHA256 (0x0001)")]
    UnsupportedKdf { config_id: u8, kdf_id: u16, name: &'static str },
    #[error("HPKE config {config_id} uses AEAD {aead_id:#06x} ({name}); this client supports only AES-128-GCM (0x0001, Janus's default)")]
    UnsupportedAead { config_id: u8, aead_id: u16, name: &'static str },
    #[error("HPKE config {config_id} has a {len}-byte public key; an X25519 key is {expected} bytes: the config is corrupt")]
    InvalidPublicKey { config_id: u8, len: usize, expected: usize },
    #[error("the {field} is {len} bytes, more than the {max} its DAP length prefix can carry")]
    TooLong { field: &'static str, len: usize, max: usize },
    #[error("the task's time precision is 0 seconds; use the task's configured time_precision (e.g. 3600)")]
    ZeroTimePrecision,
    #[error("the task id {0:?} is not 32 bytes of unpadded base64url (43 characters), as the aggregator shows it")]
    InvalidTaskId(String),
    #[error("HPKE sealing failed ({0}): the aggregator's public key is unusable (e.g. a low-order X25519 point); fetch its config again")]
    Hpke(String),
    #[error("bucket {0} is not a day outcome (the histogram has {len} buckets): the engine and the report module are from different localrank versions", len = localrank_core::measure::NUM_BUCKETS)]
    InvalidBucket(u32),
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

/// The DAP task a report is for: its id and time precision must be the ones the leader and
/// helper were given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskConfig {
    pub task_id: [u8; TASK_ID_LEN],
    /// Report times are rounded down to a multiple of this (seconds), so a report's time
    /// says no more than the batch interval it falls in.
    pub time_precision_s: u64,
}

impl TaskConfig {
    /// A task from its id as aggregators and Divvi Up display it: unpadded base64url.
    pub fn from_base64url(task_id: &str, time_precision_s: u64) -> Result<TaskConfig, ReportError> {
        let bytes = localrank_core::base64::decode(task_id, localrank_core::base64::Alphabet::UrlSafe).map_err(|_| ReportError::InvalidTaskId(task_id.to_string()))?;
        let task_id_bytes: [u8; TASK_ID_LEN] = bytes.try_into().map_err(|_| ReportError::InvalidTaskId(task_id.to_string()))?;
        Ok(TaskConfig { task_id: task_id_bytes, time_precision_s })
    }

    /// The id as it appears in DAP URLs.
    pub fn task_id_base64url(&self) -> String {
        localrank_core::base64::encode(&self.task_id, localrank_core::base64::Alphabet::UrlSafe, false)
    }

    /// `time_s` rounded down to the task's time precision, as DAP requires of a report's time.
    pub fn round_time(&self, time_s: u64) -> Result<u64, ReportError> {
        let rem = time_s.checked_rem(self.time_precision_s).ok_or(ReportError::ZeroTimePrecision)?;
        Ok(time_s - rem)
    }
}

/// One request for the storefront to send to the leader: `method` `{leader_url}{path}` with
/// header `Content-Type: content_type` and `body`. `path` is relative (no leading slash), to
/// be resolved against the leader's URL as Janus's client does (`new URL(path, leaderUrl)`,
/// the leader URL ending in `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub method: &'static str,
    pub path: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Shards `outcome`, seals its input shares to the leader's and helper's HPKE configs, and
/// frames the DAP-09 upload. `time_s` is the report's time in seconds since the Unix epoch
/// (the day it describes); it is rounded down to the task's time precision.
pub fn seal_day(task: &TaskConfig, leader: &HpkeConfig, helper: &HpkeConfig, outcome: &DayOutcome, time_s: u64) -> Result<Upload, ReportError> {
    Ok(Upload::for_task(task, seal_report(task, leader, helper, &shard_day(outcome)?, time_s)?))
}

/// [`seal_day`] for an already sharded day (tests use it to know the plaintext shares).
pub fn seal_sharded(task: &TaskConfig, leader: &HpkeConfig, helper: &HpkeConfig, day: &ShardedDay, time_s: u64) -> Result<Upload, ReportError> {
    Ok(Upload::for_task(task, seal_report(task, leader, helper, day, time_s)?))
}

/// The sealed `Report`'s bytes (the upload's body), without the URL: the report module needs
/// no base64 or formatting for it.
fn seal_report(task: &TaskConfig, leader: &HpkeConfig, helper: &HpkeConfig, day: &ShardedDay, time_s: u64) -> Result<Vec<u8>, ReportError> {
    // Check both configs before any sealing, so a bad helper config is reported as such
    // rather than after work on the leader's share.
    leader.check_supported()?;
    helper.check_supported()?;
    let metadata = ReportMetadata { report_id: day.nonce, time: task.round_time(time_s)? };
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| ReportError::Random(e.to_string()))?;
    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::from_seed(seed);
    let aad = dap::input_share_aad(&task.task_id, &metadata, &day.public_share)?;
    let [leader_share, helper_share] = &day.input_shares;
    let report = Report {
        metadata,
        public_share: day.public_share.clone(),
        leader_encrypted_input_share: seal_input_share(leader, Role::Leader, leader_share, &aad, &mut rng)?,
        helper_encrypted_input_share: seal_input_share(helper, Role::Helper, helper_share, &aad, &mut rng)?,
    };
    report.to_bytes()
}

impl Upload {
    /// The upload of a sealed report `body` for `task`.
    pub fn for_task(task: &TaskConfig, body: Vec<u8>) -> Upload {
        Upload { method: dap::UPLOAD_METHOD, path: format!("tasks/{}/reports", task.task_id_base64url()), content_type: dap::REPORT_MEDIA_TYPE, body }
    }
}

/// [`seal_day`] from the forms the browser's two wasm modules hand each other (the engine
/// decides that a day is due; the report module, `localrank-report-web`, seals it): the
/// task id's 32 bytes, each aggregator's one chosen `HpkeConfig` encoded on its own (not a
/// list), the day as its histogram bucket ([`DayOutcome::bucket`]). Returns the report body.
pub fn seal_encoded(task_id: &[u8], time_precision_s: u64, leader_config: &[u8], helper_config: &[u8], time_s: u64, bucket: u32) -> Result<Vec<u8>, ReportError> {
    let task_id: [u8; TASK_ID_LEN] = task_id.try_into().map_err(|_| ReportError::InvalidTaskId(format!("{} bytes", task_id.len())))?;
    let task = TaskConfig { task_id, time_precision_s };
    let leader = HpkeConfig::from_bytes(leader_config)?;
    let helper = HpkeConfig::from_bytes(helper_config)?;
    let outcome = usize::try_from(bucket).ok().and_then(DayOutcome::from_bucket).ok_or(ReportError::InvalidBucket(bucket))?;
    seal_report(&task, &leader, &helper, &shard_day(&outcome)?, time_s)
}

/// The one HPKE suite this crate seals with (see [`HpkeConfig::check_supported`]).
type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::AesGcm128;

/// Seals one VDAF input share for `recipient` in HPKE base mode. A fresh HPKE context per
/// share: DAP gives sender and receiver no way to keep sequence numbers in step.
fn seal_input_share(config: &HpkeConfig, recipient: Role, input_share: &[u8], aad: &[u8], rng: &mut rand_chacha::ChaCha20Rng) -> Result<HpkeCiphertext, ReportError> {
    config.check_supported()?;
    let public_key = <<Kem as hpke::Kem>::PublicKey as Deserializable>::from_bytes(&config.public_key)
        .map_err(|_| ReportError::InvalidPublicKey { config_id: config.id, len: config.public_key.len(), expected: dap::X25519_PUBLIC_KEY_LEN })?;
    let plaintext = PlaintextInputShare { extensions: Vec::new(), payload: input_share.to_vec() }.to_bytes()?;
    let info = dap::input_share_info(recipient);
    let (encapsulated_key, payload) =
        hpke::single_shot_seal::<Aead, Kdf, Kem, _>(&hpke::OpModeS::Base, &public_key, &info, &plaintext, aad, rng)
            .map_err(|e| ReportError::Hpke(e.to_string()))?;
    Ok(HpkeCiphertext { config_id: config.id, encapsulated_key: encapsulated_key.to_bytes().to_vec(), payload })
}
