//! The aggregators' side of a report, for demos and tests only (feature `aggregator`): an
//! aggregator's X25519 key pair, opening its input share of a [`Report`], and the Prio3
//! preparation and aggregation of both shares.
//!
//! **Not a DAP deployment.** [`DemoAggregation`] runs the leader's and the helper's VDAF work
//! in one process that holds both private keys and the shared verify key: whoever runs it can
//! read every report. DAP's privacy rests on two aggregators run by parties that do not
//! collude (docs/measurement.md, "Running the aggregators"): production uses Janus. This module
//! exists so the Fresh Basket demo and the tests can show the whole path — browser → sealed
//! report → aggregate → lift — on one machine.
//!
//! Behind a feature so the browser's wasm (which only seals) never carries it; it adds no
//! dependency the sealing code does not already have.

use hpke::{Deserializable, Kem as _, Serializable};
use prio::codec::ParameterizedDecode;
use prio::field::Field128;
use prio::vdaf::prio3::{Prio3InputShare, Prio3PublicShare};
use prio::vdaf::{AggregateShare, Aggregatable, Aggregator, Collector, PrepareTransition};
use rand_core::SeedableRng;

use crate::dap::{self, HpkeConfig, PlaintextInputShare, Report, Role, TASK_ID_LEN};
use crate::{histogram, ReportError};

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::AesGcm128;

/// Why a report cannot be counted. Each names the role whose check failed and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggregationError {
    #[error("no random numbers for the aggregator's keys: {0}")]
    Random(String),
    #[error("the {role:?}'s input share is sealed to HPKE config {got}, but this aggregator's config is {expected}: the client has an outdated config; fetch /hpke_config again")]
    OutdatedConfig { role: Role, got: u8, expected: u8 },
    #[error("the {role:?}'s input share does not open with the {role:?}'s key: it was sealed to another key or role, for another task, or its metadata or public share was changed")]
    Decrypt { role: Role },
    #[error("the {role:?}'s decrypted input share is malformed: {source}")]
    Plaintext { role: Role, source: ReportError },
    #[error("the {role:?}'s plaintext carries {0} extensions; this task accepts none", .count)]
    Extensions { role: Role, count: usize },
    #[error("the {what} is not a Prio3Histogram(48, chunk 7) share: {message}")]
    Decode { what: &'static str, message: String },
    #[error("the report failed verification ({0}): its shares do not add up to one valid bucket")]
    Verify(String),
    #[error("the aggregate could not be computed: {0}")]
    Vdaf(String),
}

/// One aggregator's HPKE key pair (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM: what
/// the browser seals with) and the config it serves.
#[derive(Clone)]
pub struct AggregatorKeys {
    pub config: HpkeConfig,
    private_key: Vec<u8>,
}

impl std::fmt::Debug for AggregatorKeys {
    // Never print a private key, even in a demo's logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AggregatorKeys").field("config", &self.config).finish_non_exhaustive()
    }
}

impl AggregatorKeys {
    /// A fresh key pair from the operating system's randomness.
    pub fn generate(config_id: u8) -> Result<AggregatorKeys, AggregationError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| AggregationError::Random(e.to_string()))?;
        Ok(AggregatorKeys::from_seed(config_id, seed))
    }

    /// A key pair derived from `seed` (tests that need the same keys twice).
    pub fn from_seed(config_id: u8, seed: [u8; 32]) -> AggregatorKeys {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
        let (private_key, public_key) = Kem::gen_keypair(&mut rng);
        AggregatorKeys {
            config: HpkeConfig {
                id: config_id,
                kem_id: dap::KEM_X25519_HKDF_SHA256,
                kdf_id: dap::KDF_HKDF_SHA256,
                aead_id: dap::AEAD_AES_128_GCM,
                public_key: public_key.to_bytes().to_vec(),
            },
            private_key: private_key.to_bytes().to_vec(),
        }
    }

    /// The `HpkeConfigList` body of `GET /hpke_config`: this one config.
    pub fn config_list(&self) -> Result<Vec<u8>, ReportError> {
        HpkeConfig::list_to_bytes(std::slice::from_ref(&self.config))
    }

    /// Opens `role`'s input share of `report` for `task_id` (with the DAP-09 `info` and
    /// `InputShareAad`) and returns the VDAF input share it carries.
    pub fn open(&self, role: Role, task_id: &[u8; TASK_ID_LEN], report: &Report) -> Result<Vec<u8>, AggregationError> {
        let ciphertext = report.encrypted_input_share(role).ok_or(AggregationError::Decrypt { role })?;
        if ciphertext.config_id != self.config.id {
            return Err(AggregationError::OutdatedConfig { role, got: ciphertext.config_id, expected: self.config.id });
        }
        let aad = dap::input_share_aad(task_id, &report.metadata, &report.public_share).map_err(|source| AggregationError::Plaintext { role, source })?;
        let private_key = <Kem as hpke::Kem>::PrivateKey::from_bytes(&self.private_key).map_err(|_| AggregationError::Decrypt { role })?;
        let encapsulated = <Kem as hpke::Kem>::EncappedKey::from_bytes(&ciphertext.encapsulated_key).map_err(|_| AggregationError::Decrypt { role })?;
        let plaintext = hpke::single_shot_open::<Aead, Kdf, Kem>(
            &hpke::OpModeR::Base,
            &private_key,
            &encapsulated,
            &dap::input_share_info(role),
            &ciphertext.payload,
            &aad,
        )
        .map_err(|_| AggregationError::Decrypt { role })?;
        let share = PlaintextInputShare::from_bytes(&plaintext).map_err(|source| AggregationError::Plaintext { role, source })?;
        if !share.extensions.is_empty() {
            return Err(AggregationError::Extensions { role, count: share.extensions.len() });
        }
        Ok(share.payload)
    }
}

/// Both aggregators' running aggregate shares of one task, in one process (see the module
/// doc: a demo stand-in for two parties). Reports are prepared one at a time and added to
/// both shares only when both verify, as DAP's leader and helper do in an aggregation job.
pub struct DemoAggregation {
    verify_key: [u8; 16],
    shares: [AggregateShare<Field128>; 2],
    reports: u64,
}

impl DemoAggregation {
    /// `verify_key` is the VDAF verification key the two aggregators share (16 random bytes).
    pub fn new(verify_key: [u8; 16]) -> Result<DemoAggregation, AggregationError> {
        let zero = || AggregateShare::from(vec![Field128::from(0u128); localrank_core::measure::NUM_BUCKETS]);
        // Fail here, not at the first report, if the VDAF itself cannot be built.
        histogram().map_err(|e| AggregationError::Vdaf(e.to_string()))?;
        Ok(DemoAggregation { verify_key, shares: [zero(), zero()], reports: 0 })
    }

    /// Reports aggregated so far.
    pub fn reports(&self) -> u64 {
        self.reports
    }

    /// Prepares one report in both roles from its nonce (report id), encoded public share and
    /// decrypted input shares `[leader, helper]`, and adds its output shares to the aggregate.
    /// On any error nothing is added.
    pub fn add(&mut self, nonce: &[u8; 16], public_share: &[u8], input_shares: [&[u8]; 2]) -> Result<(), AggregationError> {
        let vdaf = histogram().map_err(|e| AggregationError::Vdaf(e.to_string()))?;
        let public = Prio3PublicShare::get_decoded_with_param(&vdaf, public_share)
            .map_err(|e| AggregationError::Decode { what: "public share", message: e.to_string() })?;
        let mut states = Vec::with_capacity(2);
        let mut prepare_shares = Vec::with_capacity(2);
        for (agg_id, bytes) in input_shares.iter().enumerate() {
            let what = if agg_id == 0 { "leader's input share" } else { "helper's input share" };
            let share = Prio3InputShare::get_decoded_with_param(&(&vdaf, agg_id), bytes)
                .map_err(|e| AggregationError::Decode { what, message: e.to_string() })?;
            let (state, prepare_share) =
                vdaf.prepare_init(&self.verify_key, agg_id, &(), nonce, &public, &share).map_err(|e| AggregationError::Verify(e.to_string()))?;
            states.push(state);
            prepare_shares.push(prepare_share);
        }
        let message = vdaf.prepare_shares_to_prepare_message(&(), prepare_shares).map_err(|e| AggregationError::Verify(e.to_string()))?;
        let mut outputs = Vec::with_capacity(2);
        for state in states {
            match vdaf.prepare_next(state, message.clone()).map_err(|e| AggregationError::Verify(e.to_string()))? {
                PrepareTransition::Finish(output) => outputs.push(output),
                PrepareTransition::Continue(..) => return Err(AggregationError::Vdaf("Prio3 prepared in more than one round".into())),
            }
        }
        // Both verified: only now touch the running shares, so a failure leaves them as they were.
        let mut next = self.shares.clone();
        for (share, output) in next.iter_mut().zip(&outputs) {
            share.accumulate(output).map_err(|e| AggregationError::Vdaf(e.to_string()))?;
        }
        self.shares = next;
        self.reports += 1;
        Ok(())
    }

    /// What a collector gets from the two aggregate shares: the 48 bucket counts.
    pub fn unshard(&self) -> Result<Vec<u64>, AggregationError> {
        let vdaf = histogram().map_err(|e| AggregationError::Vdaf(e.to_string()))?;
        let reports = usize::try_from(self.reports).map_err(|e| AggregationError::Vdaf(e.to_string()))?;
        let counts = vdaf.unshard(&(), self.shares.clone(), reports.max(1)).map_err(|e| AggregationError::Vdaf(e.to_string()))?;
        counts.into_iter().map(|c| u64::try_from(c).map_err(|e| AggregationError::Vdaf(e.to_string()))).collect()
    }
}
