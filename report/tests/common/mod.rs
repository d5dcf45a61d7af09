//! Shared by the report tests: synthetic browser-days, both aggregators' VDAF work
//! in-process, and an aggregator's HPKE side written from the DAP-09 text (Janus 0.7's
//! layout), independently of the crate's own encoders.
#![allow(dead_code)] // each test binary uses a different part

use hpke::{Deserializable, Kem as _, Serializable};
use localrank_core::measure::{Arm, DayOutcome, FirstClick};
use localrank_report::{histogram, HpkeConfig};
use prio::codec::ParameterizedDecode;
use prio::vdaf::prio3::{Prio3InputShare, Prio3PublicShare};
use prio::vdaf::{Aggregator, Collector, PrepareTransition};
use rand_core::SeedableRng;

pub fn outcomes(n: usize) -> Vec<DayOutcome> {
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

/// What the two aggregators hold of one report after decryption: the nonce (report id),
/// the encoded public share and the encoded input shares `[leader, helper]`.
pub struct Shares<'a> {
    pub nonce: [u8; 16],
    pub public_share: &'a [u8],
    pub input_shares: [&'a [u8]; 2],
}

/// Both aggregators, in one process: prepare → aggregate → unshard.
pub fn aggregate(reports: &[Shares<'_>]) -> Vec<u128> {
    let vdaf = histogram().unwrap();
    let verify_key = [7u8; 16];
    let mut out_shares = [Vec::new(), Vec::new()];
    for report in reports {
        let public = Prio3PublicShare::get_decoded_with_param(&vdaf, report.public_share).expect("public share");
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

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::AesGcm128;

pub const LEADER: u8 = 2;
pub const HELPER: u8 = 3;

/// An aggregator's key pair: the config it would serve and its private key bytes.
pub struct AggregatorKeys {
    pub config: HpkeConfig,
    pub private_key: Vec<u8>,
}

pub fn aggregator(config_id: u8, seed: u64) -> AggregatorKeys {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let (sk, pk) = Kem::gen_keypair(&mut rng);
    AggregatorKeys {
        config: HpkeConfig { id: config_id, kem_id: 0x0020, kdf_id: 0x0001, aead_id: 0x0001, public_key: pk.to_bytes().to_vec() },
        private_key: sk.to_bytes().to_vec(),
    }
}

/// DAP-09 `info` for an input share sent to `recipient_role`, spelled out as in Janus 0.7's
/// `HpkeApplicationInfo::new(&Label::InputShare, &Role::Client, recipient)`.
pub fn info(recipient_role: u8) -> Vec<u8> {
    [b"dap-09 input share".as_slice(), &[1u8, recipient_role]].concat()
}

/// DAP-09 `InputShareAad`, spelled out: task id || report id || time (u64 BE) || u32 length || public share.
pub fn aad(task_id: &[u8; 32], report_id: &[u8; 16], time: u64, public_share: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(task_id);
    out.extend_from_slice(report_id);
    out.extend_from_slice(&time.to_be_bytes());
    out.extend_from_slice(&(public_share.len() as u32).to_be_bytes());
    out.extend_from_slice(public_share);
    out
}

/// HPKE base-mode open, as an aggregator does it.
pub fn open(private_key: &[u8], encapsulated_key: &[u8], payload: &[u8], info: &[u8], aad: &[u8]) -> Result<Vec<u8>, hpke::HpkeError> {
    let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(private_key)?;
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(encapsulated_key)?;
    hpke::single_shot_open::<Aead, Kdf, Kem>(&hpke::OpModeR::Base, &sk, &enc, info, payload, aad)
}

/// Reads a `PlaintextInputShare` by hand: it must carry no extensions (`00 00`), then the
/// VDAF input share behind a u32 length. Returns the input share.
pub fn input_share_of_plaintext(plaintext: &[u8]) -> &[u8] {
    assert_eq!(&plaintext[..2], &[0, 0], "the browser sends no extensions");
    let len = u32::from_be_bytes(plaintext[2..6].try_into().unwrap()) as usize;
    assert_eq!(plaintext.len(), 6 + len, "the payload fills the plaintext");
    &plaintext[6..]
}
