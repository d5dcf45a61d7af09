//! The DAP-09 upload, checked from the aggregators' side: each aggregator decodes the Report,
//! opens its own share with its private key (info and AAD spelled out in `common`, not taken
//! from the crate), and the prio aggregation of the opened shares gives exactly the
//! browsers' tallies. Shares are bound to their aggregator, task and metadata, and no
//! plaintext share travels in the clear. Janus 0.7's own message code decodes our bytes.

mod common;

use base64::Engine;
use common::{aad, aggregate, aggregator, info, input_share_of_plaintext, open, outcomes, Shares, HELPER, LEADER};
use localrank_core::measure::{Arm, DayOutcome, FirstClick, NUM_BUCKETS};
use localrank_report::{seal_day, seal_encoded, seal_sharded, shard_day_with_nonce, HpkeConfig, Report, ReportError, TaskConfig};
use prio::codec::{Decode, Encode};

const TASK: TaskConfig = TaskConfig { task_id: [0x5a; 32], time_precision_s: 3600 };
/// 2026-01-01T00:00:00Z, and times during the days after it.
const DAY0: u64 = 1_767_225_600;

fn day_time(i: usize) -> u64 {
    DAY0 + (i as u64 % 30) * 86_400 + (i as u64 * 7919) % 86_400
}

#[test]
fn aggregators_open_their_shares_and_the_aggregate_is_the_sum_of_the_tallies() {
    let leader = aggregator(3, 1);
    let helper = aggregator(7, 2);
    let days = outcomes(120);
    let task_path = format!("tasks/{}/reports", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(TASK.task_id));

    // What the aggregators hold after opening: (report id, public share, [leader input share, helper input share]).
    type Opened = ([u8; 16], Vec<u8>, [Vec<u8>; 2]);
    let mut opened: Vec<Opened> = Vec::new();
    for (i, day) in days.iter().enumerate() {
        let time = day_time(i);
        let upload = seal_day(&TASK, &leader.config, &helper.config, day, time).expect("seals");
        assert_eq!((upload.method, upload.content_type), ("PUT", "application/dap-report"));
        assert_eq!(upload.path, task_path);

        let report = Report::from_bytes(&upload.body).expect("the body is a Report");
        assert_eq!(report.metadata.time, time - time % 3600, "time rounded down to the precision");
        let aad = aad(&TASK.task_id, &report.metadata.report_id, report.metadata.time, &report.public_share);
        let mut shares = [Vec::new(), Vec::new()];
        for (slot, (agg, role, ct)) in
            [(&leader, LEADER, &report.leader_encrypted_input_share), (&helper, HELPER, &report.helper_encrypted_input_share)].into_iter().enumerate()
        {
            assert_eq!(ct.config_id, agg.config.id, "the ciphertext names the config it was sealed to");
            let plaintext = open(&agg.private_key, &ct.encapsulated_key, &ct.payload, &info(role), &aad).expect("the aggregator opens its share");
            shares[slot] = input_share_of_plaintext(&plaintext).to_vec();
        }
        opened.push((report.metadata.report_id, report.public_share.clone(), shares));
    }

    let views: Vec<Shares<'_>> = opened.iter().map(|(nonce, public, [l, h])| Shares { nonce: *nonce, public_share: public, input_shares: [l, h] }).collect();
    let mut expected = vec![0u128; NUM_BUCKETS];
    for day in &days {
        expected[day.bucket()] += 1;
    }
    assert_eq!(aggregate(&views), expected);
}

#[test]
fn each_share_opens_only_for_its_aggregator_and_only_with_its_task_and_metadata() {
    let leader = aggregator(1, 11);
    let helper = aggregator(2, 12);
    let day = DayOutcome { arm: Arm::Personalized, first_click: FirstClick::Slot(2), converted: true };
    let time = DAY0 + 5000;
    let upload = seal_day(&TASK, &leader.config, &helper.config, &day, time).unwrap();
    let report = Report::from_bytes(&upload.body).unwrap();
    let (id, t, public) = (report.metadata.report_id, report.metadata.time, report.public_share.as_slice());
    let l = &report.leader_encrypted_input_share;
    let h = &report.helper_encrypted_input_share;
    let right_aad = aad(&TASK.task_id, &id, t, public);

    // The control: with the right key, info and AAD both open.
    assert!(open(&leader.private_key, &l.encapsulated_key, &l.payload, &info(LEADER), &right_aad).is_ok());
    assert!(open(&helper.private_key, &h.encapsulated_key, &h.payload, &info(HELPER), &right_aad).is_ok());

    // The leader's share with the helper's key, or presented as the helper's share.
    assert!(open(&helper.private_key, &l.encapsulated_key, &l.payload, &info(LEADER), &right_aad).is_err());
    assert!(open(&leader.private_key, &l.encapsulated_key, &l.payload, &info(HELPER), &right_aad).is_err());
    assert!(open(&leader.private_key, &h.encapsulated_key, &h.payload, &info(HELPER), &right_aad).is_err());

    // Bound to the task and the metadata: another task, time, report id or public share fails.
    let mut other_task = TASK.task_id;
    other_task[0] ^= 1;
    let mut other_id = id;
    other_id[15] ^= 1;
    let mut other_public = public.to_vec();
    other_public[0] ^= 1;
    for wrong in [aad(&other_task, &id, t, public), aad(&TASK.task_id, &id, t + 3600, public), aad(&TASK.task_id, &other_id, t, public), aad(&TASK.task_id, &id, t, &other_public)] {
        assert!(open(&leader.private_key, &l.encapsulated_key, &l.payload, &info(LEADER), &wrong).is_err());
        assert!(open(&helper.private_key, &h.encapsulated_key, &h.payload, &info(HELPER), &wrong).is_err());
    }
}

#[test]
fn no_plaintext_share_leaves_the_browser() {
    let leader = aggregator(1, 21);
    let helper = aggregator(2, 22);
    let day = DayOutcome { arm: Arm::Control, first_click: FirstClick::None, converted: false };
    let sharded = shard_day_with_nonce(&day, [9u8; 16]).unwrap();
    let upload = seal_sharded(&TASK, &leader.config, &helper.config, &sharded, DAY0).unwrap();
    let report = Report::from_bytes(&upload.body).unwrap();
    let contains = |haystack: &[u8], needle: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
    for share in &sharded.input_shares {
        // Prio3's helper share is a 16-byte seed (plus blind); any 16-byte window of a share
        // appearing verbatim would be a leak.
        assert!(share.len() >= 16);
        for window in share.windows(16) {
            assert!(!contains(&upload.body, window), "a plaintext input-share fragment is in the upload");
        }
    }
    // The ciphertexts are the plaintext input shares' size plus framing and a 16-byte tag,
    // i.e. they do carry them, sealed: 6 bytes of PlaintextInputShare framing, 16 of GCM tag.
    assert_eq!(report.leader_encrypted_input_share.payload.len(), sharded.input_shares[0].len() + 6 + 16);
    assert_eq!(report.helper_encrypted_input_share.payload.len(), sharded.input_shares[1].len() + 6 + 16);
    assert_eq!(report.leader_encrypted_input_share.encapsulated_key.len(), 32);
    // The whole upload: metadata 24, public share 4 + 32, per share 1 + 2 + 32 + 4 + sealed
    // plaintext — 1478 bytes for the 48-bucket histogram (docs/measurement.md says ~1.5 KB).
    let per_share = 1 + 2 + 32 + 4 + 6 + 16;
    assert_eq!(upload.body.len(), 24 + 4 + sharded.public_share.len() + 2 * per_share + sharded.input_shares[0].len() + sharded.input_shares[1].len());
    assert_eq!(upload.body.len(), 1478);
    assert_ne!(report.leader_encrypted_input_share.encapsulated_key, report.helper_encrypted_input_share.encapsulated_key, "a fresh ephemeral key per share");
}

#[test]
fn sealing_needs_a_time_precision_and_supported_configs() {
    let leader = aggregator(1, 31);
    let helper = aggregator(2, 32);
    let day = DayOutcome { arm: Arm::Control, first_click: FirstClick::Slot(1), converted: false };
    let zero = TaskConfig { time_precision_s: 0, ..TASK };
    assert_eq!(seal_day(&zero, &leader.config, &helper.config, &day, DAY0), Err(ReportError::ZeroTimePrecision));
    let p256 = HpkeConfig { kem_id: 0x0010, ..helper.config.clone() };
    assert!(matches!(seal_day(&TASK, &leader.config, &p256, &day, DAY0), Err(ReportError::UnsupportedKem { config_id: 2, kem_id: 0x0010, .. })));
}

#[test]
fn the_report_modules_wire_form_seals_the_same_day() {
    // What the engine's wasm hands the report module's wasm (`sealDay`): the task id's
    // bytes, each aggregator's chosen config on its own, the day as its bucket.
    let leader = aggregator(4, 41);
    let helper = aggregator(5, 42);
    let day = DayOutcome { arm: Arm::Personalized, first_click: FirstClick::Slot(3), converted: true };
    let task_id = TASK.task_id;
    let (l, h) = (leader.config.to_bytes().unwrap(), helper.config.to_bytes().unwrap());
    let body = seal_encoded(&task_id, TASK.time_precision_s, &l, &h, DAY0 + 4000, day.bucket() as u32).expect("seals");
    let report = Report::from_bytes(&body).expect("the body is a Report");
    assert_eq!(report.metadata.time, DAY0 + 3600);
    let aad = aad(&TASK.task_id, &report.metadata.report_id, report.metadata.time, &report.public_share);
    let ct = &report.leader_encrypted_input_share;
    let leader_share = input_share_of_plaintext(&open(&leader.private_key, &ct.encapsulated_key, &ct.payload, &info(LEADER), &aad).unwrap()).to_vec();
    let ct = &report.helper_encrypted_input_share;
    let helper_share = input_share_of_plaintext(&open(&helper.private_key, &ct.encapsulated_key, &ct.payload, &info(HELPER), &aad).unwrap()).to_vec();
    let mut expected = vec![0u128; NUM_BUCKETS];
    expected[day.bucket()] = 1;
    let shares = Shares { nonce: report.metadata.report_id, public_share: &report.public_share, input_shares: [&leader_share, &helper_share] };
    assert_eq!(aggregate(&[shares]), expected, "the aggregate is exactly that day");

    // Mismatched versions or bytes are typed errors, not panics.
    assert_eq!(seal_encoded(&task_id, 3600, &l, &h, DAY0, NUM_BUCKETS as u32), Err(ReportError::InvalidBucket(NUM_BUCKETS as u32)));
    assert!(matches!(seal_encoded(&[1, 2, 3], 3600, &l, &h, DAY0, 0), Err(ReportError::InvalidTaskId(_))));
    assert!(matches!(seal_encoded(&task_id, 3600, &l[..10], &h, DAY0, 0), Err(ReportError::Truncated { .. })));
}

// ---------------------------------------------------------------------------------------
// Interop with Janus 0.7's message code (janus_messages, DAP-09, prio 0.16).

#[test]
fn janus_decodes_our_report_and_its_aad_and_plaintext_layouts_match() {
    use janus_messages::{HpkeAeadId, HpkeConfigId, HpkeKdfId, HpkeKemId, HpkePublicKey, InputShareAad, PlaintextInputShare, ReportMetadata, TaskId};

    let leader = aggregator(4, 41);
    let helper = aggregator(5, 42);
    let day = DayOutcome { arm: Arm::Personalized, first_click: FirstClick::Other, converted: true };
    let sharded = shard_day_with_nonce(&day, [0xc3; 16]).unwrap();
    let time = DAY0 + 12_345;
    let upload = seal_sharded(&TASK, &leader.config, &helper.config, &sharded, time).unwrap();

    let report = janus_messages::Report::get_decoded(&upload.body).expect("Janus decodes our Report");
    assert_eq!(report.metadata().id().as_ref(), &sharded.nonce);
    assert_eq!(report.metadata().time().as_seconds_since_epoch(), time - time % 3600);
    assert_eq!(report.public_share(), sharded.public_share.as_slice());
    assert_eq!(u8::from(*report.leader_encrypted_input_share().config_id()), 4);
    assert_eq!(u8::from(*report.helper_encrypted_input_share().config_id()), 5);
    assert_eq!(report.get_encoded().unwrap(), upload.body, "re-encoding gives our bytes back");

    let task_id = TaskId::from(TASK.task_id);
    assert_eq!(upload.path, format!("tasks/{task_id}/reports"), "Janus's client path for the task");
    assert_eq!(upload.content_type, janus_messages::Report::MEDIA_TYPE);

    // Janus's InputShareAad and PlaintextInputShare, with the info of Janus's core/src/hpke.rs.
    let janus_aad = InputShareAad::new(task_id, ReportMetadata::new(*report.metadata().id(), *report.metadata().time()), report.public_share().to_vec()).get_encoded().unwrap();
    for (agg, role, ct, share) in [
        (&leader, LEADER, report.leader_encrypted_input_share(), &sharded.input_shares[0]),
        (&helper, HELPER, report.helper_encrypted_input_share(), &sharded.input_shares[1]),
    ] {
        let plaintext = open(&agg.private_key, ct.encapsulated_key(), ct.payload(), &info(role), &janus_aad).expect("opens with Janus's AAD");
        let plain = PlaintextInputShare::get_decoded(&plaintext).expect("Janus decodes the plaintext");
        assert!(plain.extensions().is_empty());
        assert_eq!(plain.payload(), share.as_slice());
    }

    // A config list as Janus encodes it (an unsupported P-256 config first) parses to its
    // X25519 config.
    let janus_config = |id: u8, kem: HpkeKemId, key: &[u8]| janus_messages::HpkeConfig::new(HpkeConfigId::from(id), kem, HpkeKdfId::HkdfSha256, HpkeAeadId::Aes128Gcm, HpkePublicKey::from(key.to_vec()));
    let list = janus_messages::HpkeConfigList::new(vec![janus_config(9, HpkeKemId::P256HkdfSha256, &[4u8; 65]), janus_config(4, HpkeKemId::X25519HkdfSha256, &leader.config.public_key)]);
    assert_eq!(HpkeConfig::choose_from_list(&list.get_encoded().unwrap()), Ok(leader.config.clone()));
    assert_eq!(HpkeConfig::list_to_bytes(std::slice::from_ref(&leader.config)).unwrap(), janus_messages::HpkeConfigList::new(vec![janus_config(4, HpkeKemId::X25519HkdfSha256, &leader.config.public_key)]).get_encoded().unwrap());
}

#[test]
fn a_cut_or_padded_report_is_a_typed_error() {
    let leader = aggregator(1, 51);
    let helper = aggregator(2, 52);
    let day = DayOutcome { arm: Arm::Control, first_click: FirstClick::Slot(3), converted: true };
    let body = seal_day(&TASK, &leader.config, &helper.config, &day, DAY0).unwrap().body;
    for n in 0..body.len() {
        assert!(matches!(Report::from_bytes(&body[..n]), Err(ReportError::Truncated { message: localrank_report::Message::Report, .. })), "prefix of {n} bytes");
    }
    let mut padded = body.clone();
    padded.push(0);
    assert!(matches!(Report::from_bytes(&padded), Err(ReportError::TrailingBytes { extra: 1, .. })));
    // A public-share length of 2^32 - 1 (bytes 24..28) is a short read, not an allocation.
    let mut huge = body.clone();
    huge[24..28].copy_from_slice(&u32::MAX.to_be_bytes());
    let err = Report::from_bytes(&huge).unwrap_err();
    assert!(matches!(err, ReportError::Truncated { field: "public_share", .. }), "{err}");
    assert!(err.to_string().contains("dap-report"), "{err}");
}
