//! Malformed or unsupported aggregator configs give typed errors (never a panic), each
//! naming what is wrong.

use localrank_report::{HpkeConfig, Message, ReportError, TaskConfig};

fn x25519(id: u8) -> HpkeConfig {
    HpkeConfig { id, kem_id: 0x0020, kdf_id: 0x0001, aead_id: 0x0001, public_key: vec![0x42; 32] }
}

#[test]
fn a_good_config_and_list_round_trip() {
    let config = x25519(7);
    let bytes = config.to_bytes().unwrap();
    // id, kem, kdf, aead, then the key behind a u16 length.
    assert_eq!(&bytes[..9], &[7, 0x00, 0x20, 0x00, 0x01, 0x00, 0x01, 0x00, 32]);
    assert_eq!(HpkeConfig::from_bytes(&bytes), Ok(config.clone()));
    let list = HpkeConfig::list_to_bytes(std::slice::from_ref(&config)).unwrap();
    assert_eq!(&list[..2], &(bytes.len() as u16).to_be_bytes());
    assert_eq!(HpkeConfig::choose_from_list(&list), Ok(config));
}

#[test]
fn truncated_configs_say_which_field_ended_early() {
    let bytes = x25519(1).to_bytes().unwrap();
    assert!(matches!(HpkeConfig::from_bytes(&bytes[..bytes.len() - 1]), Err(ReportError::Truncated { message: Message::HpkeConfig, field: "public_key", needed: 32, available: 31 })));
    assert!(matches!(HpkeConfig::from_bytes(&bytes[..4]), Err(ReportError::Truncated { field: "kdf_id", .. })));
    assert!(matches!(HpkeConfig::from_bytes(&[]), Err(ReportError::Truncated { field: "id", .. })));
    // Every strict prefix is an error, not a panic.
    for n in 0..bytes.len() {
        assert!(HpkeConfig::from_bytes(&bytes[..n]).is_err(), "prefix of {n} bytes");
    }
    let message = HpkeConfig::from_bytes(&bytes[..4]).unwrap_err().to_string();
    assert!(message.contains("HpkeConfig") && message.contains("/hpke_config"), "{message}");
}

#[test]
fn wrong_lengths_are_errors() {
    // The key's length prefix claims one byte more than there is.
    let mut bytes = x25519(1).to_bytes().unwrap();
    bytes[8] = 33;
    assert!(matches!(HpkeConfig::from_bytes(&bytes), Err(ReportError::Truncated { field: "public_key", needed: 33, available: 32, .. })));
    // A 31-byte key, consistently framed.
    let short = HpkeConfig { public_key: vec![1; 31], ..x25519(3) };
    assert_eq!(HpkeConfig::from_bytes(&short.to_bytes().unwrap()), Err(ReportError::InvalidPublicKey { config_id: 3, len: 31, expected: 32 }));
    // An empty key violates opaque<1..2^16-1>.
    let empty = HpkeConfig { public_key: Vec::new(), ..x25519(4) };
    assert!(matches!(HpkeConfig::from_bytes(&empty.to_bytes().unwrap()), Err(ReportError::InvalidPublicKey { len: 0, .. })));
    // A byte after the config.
    let mut long = x25519(1).to_bytes().unwrap();
    long.push(0);
    assert_eq!(HpkeConfig::from_bytes(&long), Err(ReportError::TrailingBytes { message: Message::HpkeConfig, extra: 1 }));
    // A single config where a list is expected: its first two bytes read as a list length.
    assert!(HpkeConfig::choose_from_list(&x25519(1).to_bytes().unwrap()).is_err());
}

#[test]
fn unsupported_algorithms_are_named() {
    let p256 = HpkeConfig { kem_id: 0x0010, public_key: vec![4; 65], ..x25519(5) };
    let err = HpkeConfig::from_bytes(&p256.to_bytes().unwrap()).unwrap_err();
    assert_eq!(err, ReportError::UnsupportedKem { config_id: 5, kem_id: 0x0010, name: "DHKEM(P-256, HKDF-SHA256)" });
    assert!(err.to_string().contains("0x0010") && err.to_string().contains("P-256"), "{err}");
    let sha512 = HpkeConfig { kdf_id: 0x0003, ..x25519(6) };
    assert_eq!(HpkeConfig::from_bytes(&sha512.to_bytes().unwrap()), Err(ReportError::UnsupportedKdf { config_id: 6, kdf_id: 3, name: "HKDF-SHA512" }));
    let chacha = HpkeConfig { aead_id: 0x0003, ..x25519(7) };
    assert_eq!(HpkeConfig::from_bytes(&chacha.to_bytes().unwrap()), Err(ReportError::UnsupportedAead { config_id: 7, aead_id: 3, name: "ChaCha20Poly1305" }));
}

#[test]
fn a_list_yields_its_first_supported_config_or_a_typed_error() {
    let p256 = HpkeConfig { kem_id: 0x0010, public_key: vec![4; 65], ..x25519(1) };
    let chacha = HpkeConfig { aead_id: 0x0003, ..x25519(2) };
    let good = x25519(3);
    let also_good = x25519(4);
    let list = HpkeConfig::list_to_bytes(&[p256.clone(), chacha, good.clone(), also_good]).unwrap();
    assert_eq!(HpkeConfig::choose_from_list(&list), Ok(good));
    // None supported: the first config's problem.
    let list = HpkeConfig::list_to_bytes(&[p256]).unwrap();
    assert!(matches!(HpkeConfig::choose_from_list(&list), Err(ReportError::UnsupportedKem { config_id: 1, .. })));
    // Empty list, empty body, list length beyond the body, a config cut inside the list.
    assert_eq!(HpkeConfig::choose_from_list(&[0, 0]), Err(ReportError::EmptyConfigList));
    assert!(matches!(HpkeConfig::choose_from_list(&[]), Err(ReportError::Truncated { message: Message::HpkeConfigList, field: "configs", .. })));
    let mut over = HpkeConfig::list_to_bytes(&[x25519(1)]).unwrap();
    over[1] += 1;
    assert!(matches!(HpkeConfig::choose_from_list(&over), Err(ReportError::Truncated { message: Message::HpkeConfigList, .. })));
    let inner = x25519(1).to_bytes().unwrap();
    let cut = [&((inner.len() - 3) as u16).to_be_bytes()[..], &inner[..inner.len() - 3]].concat();
    assert!(matches!(HpkeConfig::choose_from_list(&cut), Err(ReportError::Truncated { message: Message::HpkeConfigList, field: "public_key", .. })));
}

#[test]
fn task_ids_are_unpadded_base64url_of_32_bytes() {
    let task = TaskConfig::from_base64url("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", 3600).unwrap();
    assert_eq!(task.task_id, std::array::from_fn(|i| i as u8));
    assert_eq!(task.task_id_base64url(), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
    assert!(matches!(TaskConfig::from_base64url("AAEC", 3600), Err(ReportError::InvalidTaskId(_))));
    assert!(matches!(TaskConfig::from_base64url("not base64!", 3600), Err(ReportError::InvalidTaskId(_))));
    assert_eq!(task.round_time(7201), Ok(7200));
}
