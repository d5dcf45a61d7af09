//! The DAP-09 messages a client sends or reads, in DAP's TLS-style presentation encoding.
//!
//! Checked against draft-ietf-ppm-dap-09 as Janus 0.7.135 implements it
//! (`messages/src/lib.rs`, `core/src/hpke.rs`, `client/src/lib.rs`): field order, length
//! prefixes, the HPKE `info` label and the upload request. Hand-written rather than taken
//! from `janus_messages` so the browser's wasm carries only these few encoders; the
//! `janus_messages` interop test (`tests/seal.rs`) decodes our bytes with Janus's own code.

use crate::ReportError;

/// The DAP draft every message here follows; the HPKE `info` label is derived from it, so
/// a move to another draft changes one place (and must change the encodings below too).
macro_rules! dap_version {
    () => {
        "dap-09"
    };
}

/// `draft-ietf-ppm-dap-09`, as named in its HPKE labels.
pub const DAP_VERSION: &str = dap_version!();

/// The label of an input share's HPKE `info` (DAP-09 §4.4.2; Janus `Label::InputShare`).
const INPUT_SHARE_LABEL: &[u8] = concat!(dap_version!(), " input share").as_bytes();

/// The media type of an upload's body (Janus `Report::MEDIA_TYPE`).
pub const REPORT_MEDIA_TYPE: &str = "application/dap-report";

/// The media type of a leader's `GET /hpke_config` answer (Janus `HpkeConfigList::MEDIA_TYPE`).
pub const HPKE_CONFIG_LIST_MEDIA_TYPE: &str = "application/dap-hpke-config-list";

/// The HTTP method of an upload: DAP-09 uploads with PUT (later drafts moved to POST with
/// the report id in the path; Janus 0.7 routes `PUT tasks/:task_id/reports`).
pub const UPLOAD_METHOD: &str = "PUT";

/// The length of a DAP task id.
pub const TASK_ID_LEN: usize = 32;

/// The length of a DAP report id, which is also the VDAF nonce.
pub const REPORT_ID_LEN: usize = 16;

/// A DAP participant's role; its byte value is part of the HPKE `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Role {
    Collector = 0,
    Client = 1,
    Leader = 2,
    Helper = 3,
}

/// The HPKE `info` a client seals an input share for `recipient` with:
/// `"dap-09 input share" || Role::Client || recipient`. Binding the recipient's role means the
/// leader's ciphertext cannot be replayed to the helper as if it were the helper's share.
pub fn input_share_info(recipient: Role) -> Vec<u8> {
    let mut info = Vec::with_capacity(INPUT_SHARE_LABEL.len() + 2);
    info.extend_from_slice(INPUT_SHARE_LABEL);
    info.push(Role::Client as u8);
    info.push(recipient as u8);
    info
}

// ---------------------------------------------------------------------------------------
// Algorithms

/// HPKE KEM, KDF and AEAD ids (RFC 9180 §7), the ones this crate can seal with.
pub const KEM_X25519_HKDF_SHA256: u16 = 0x0020;
pub const KDF_HKDF_SHA256: u16 = 0x0001;
pub const AEAD_AES_128_GCM: u16 = 0x0001;

/// An X25519 public key is 32 bytes (RFC 9180 §7.1: Npk).
pub(crate) const X25519_PUBLIC_KEY_LEN: usize = 32;

/// A readable name for an HPKE algorithm id, for error messages.
pub(crate) fn kem_name(id: u16) -> &'static str {
    match id {
        0x0010 => "DHKEM(P-256, HKDF-SHA256)",
        0x0011 => "DHKEM(P-384, HKDF-SHA384)",
        0x0012 => "DHKEM(P-521, HKDF-SHA512)",
        0x0020 => "DHKEM(X25519, HKDF-SHA256)",
        0x0021 => "DHKEM(X448, HKDF-SHA512)",
        _ => "an unknown KEM",
    }
}

pub(crate) fn kdf_name(id: u16) -> &'static str {
    match id {
        0x0001 => "HKDF-SHA256",
        0x0002 => "HKDF-SHA384",
        0x0003 => "HKDF-SHA512",
        _ => "an unknown KDF",
    }
}

pub(crate) fn aead_name(id: u16) -> &'static str {
    match id {
        0x0001 => "AES-128-GCM",
        0x0002 => "AES-256-GCM",
        0x0003 => "ChaCha20Poly1305",
        0xFFFF => "export-only",
        _ => "an unknown AEAD",
    }
}

// ---------------------------------------------------------------------------------------
// Reading and writing

/// Which message a decoding error is about, so the error can say what to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    HpkeConfig,
    HpkeConfigList,
    Report,
    PlaintextInputShare,
}

impl Message {
    /// What to check when this message does not decode.
    pub fn hint(self) -> &'static str {
        match self {
            Message::HpkeConfig | Message::HpkeConfigList => {
                "Pass the raw body of the aggregator's GET {aggregator}/hpke_config response \
                 (application/dap-hpke-config-list), not base64, JSON or a truncated copy"
            }
            Message::Report => "An application/dap-report body is binary: check it was not cut or re-encoded on the way",
            Message::PlaintextInputShare => "The share decrypted but is not a DAP-09 PlaintextInputShare: is the client on another DAP draft?",
        }
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Message::HpkeConfig => "HpkeConfig",
            Message::HpkeConfigList => "HpkeConfigList",
            Message::Report => "Report",
            Message::PlaintextInputShare => "PlaintextInputShare",
        })
    }
}

/// A cursor over one message's bytes; every read names its field so a short input says
/// where it ended.
struct Reader<'a> {
    bytes: &'a [u8],
    message: Message,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], message: Message) -> Self {
        Reader { bytes, message }
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], ReportError> {
        if self.bytes.len() < n {
            return Err(ReportError::Truncated { message: self.message, field, needed: n, available: self.bytes.len() });
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], ReportError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, ReportError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, ReportError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, ReportError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, ReportError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// `opaque field<0..2^16-1>`
    fn opaque16(&mut self, field: &'static str) -> Result<&'a [u8], ReportError> {
        let len = self.u16(field)?;
        self.take(usize::from(len), field)
    }

    /// `opaque field<0..2^32-1>`
    fn opaque32(&mut self, field: &'static str) -> Result<&'a [u8], ReportError> {
        let len = self.u32(field)?;
        // A length that does not fit usize cannot fit the input either.
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        self.take(len, field)
    }

    fn finish(self) -> Result<(), ReportError> {
        if self.bytes.is_empty() { Ok(()) } else { Err(ReportError::TrailingBytes { message: self.message, extra: self.bytes.len() }) }
    }
}

fn put_opaque16(out: &mut Vec<u8>, bytes: &[u8], field: &'static str) -> Result<(), ReportError> {
    let len = u16::try_from(bytes.len()).map_err(|_| ReportError::TooLong { field, len: bytes.len(), max: u16::MAX as usize })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

fn put_opaque32(out: &mut Vec<u8>, bytes: &[u8], field: &'static str) -> Result<(), ReportError> {
    let len = u32::try_from(bytes.len()).map_err(|_| ReportError::TooLong { field, len: bytes.len(), max: u32::MAX as usize })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// HpkeConfig

/// An aggregator's HPKE configuration (DAP-09 §4.5.1):
///
/// ```text
/// struct {
///   HpkeConfigId id;          // u8
///   HpkeKemId kem_id;         // u16
///   HpkeKdfId kdf_id;         // u16
///   HpkeAeadId aead_id;       // u16
///   HpkePublicKey public_key; // opaque<1..2^16-1>
/// } HpkeConfig;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HpkeConfig {
    pub id: u8,
    pub kem_id: u16,
    pub kdf_id: u16,
    pub aead_id: u16,
    pub public_key: Vec<u8>,
}

impl HpkeConfig {
    /// Parses one `HpkeConfig` and checks this crate can seal to it.
    pub fn from_bytes(bytes: &[u8]) -> Result<HpkeConfig, ReportError> {
        let mut reader = Reader::new(bytes, Message::HpkeConfig);
        let config = HpkeConfig::read(&mut reader)?;
        reader.finish()?;
        config.check_supported()?;
        Ok(config)
    }

    /// Parses the `HpkeConfigList` a DAP-09 aggregator serves at `GET {aggregator}/hpke_config`
    /// (`HpkeConfig configs<0..2^16-1>`) and picks the first config this crate supports, as
    /// Janus's own client does. An aggregator may list configs for algorithms we lack (say
    /// P-256) beside one we have; only when none fits is that an error, naming the first.
    pub fn choose_from_list(bytes: &[u8]) -> Result<HpkeConfig, ReportError> {
        let configs = HpkeConfig::list_from_bytes(bytes)?;
        let mut first_error = None;
        for config in configs {
            match config.check_supported() {
                Ok(()) => return Ok(config),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or(ReportError::EmptyConfigList))
    }

    /// Parses an `HpkeConfigList` without judging its algorithms.
    pub fn list_from_bytes(bytes: &[u8]) -> Result<Vec<HpkeConfig>, ReportError> {
        let mut outer = Reader::new(bytes, Message::HpkeConfigList);
        let body = outer.opaque16("configs")?;
        outer.finish()?;
        let mut reader = Reader::new(body, Message::HpkeConfigList);
        let mut configs = Vec::new();
        while !reader.bytes.is_empty() {
            configs.push(HpkeConfig::read(&mut reader)?);
        }
        Ok(configs)
    }

    fn read(reader: &mut Reader<'_>) -> Result<HpkeConfig, ReportError> {
        let id = reader.u8("id")?;
        let kem_id = reader.u16("kem_id")?;
        let kdf_id = reader.u16("kdf_id")?;
        let aead_id = reader.u16("aead_id")?;
        let public_key = reader.opaque16("public_key")?.to_vec();
        if public_key.is_empty() {
            // opaque<1..2^16-1>: an empty key is a broken config, not a short read.
            return Err(ReportError::InvalidPublicKey { config_id: id, len: 0, expected: X25519_PUBLIC_KEY_LEN });
        }
        Ok(HpkeConfig { id, kem_id, kdf_id, aead_id, public_key })
    }

    /// The config's encoding; the inverse of [`HpkeConfig::from_bytes`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, ReportError> {
        let mut out = Vec::with_capacity(9 + self.public_key.len());
        out.push(self.id);
        out.extend_from_slice(&self.kem_id.to_be_bytes());
        out.extend_from_slice(&self.kdf_id.to_be_bytes());
        out.extend_from_slice(&self.aead_id.to_be_bytes());
        put_opaque16(&mut out, &self.public_key, "public_key")?;
        Ok(out)
    }

    /// Encodes configs as an `HpkeConfigList` (what an aggregator serves; tests and tools).
    pub fn list_to_bytes(configs: &[HpkeConfig]) -> Result<Vec<u8>, ReportError> {
        let mut body = Vec::new();
        for config in configs {
            body.extend_from_slice(&config.to_bytes()?);
        }
        let mut out = Vec::with_capacity(2 + body.len());
        put_opaque16(&mut out, &body, "configs")?;
        Ok(out)
    }

    /// Ok when this crate can seal to the config: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
    /// AES-128-GCM (Janus's default for new keys), with a 32-byte public key.
    pub fn check_supported(&self) -> Result<(), ReportError> {
        if self.kem_id != KEM_X25519_HKDF_SHA256 {
            return Err(ReportError::UnsupportedKem { config_id: self.id, kem_id: self.kem_id, name: kem_name(self.kem_id) });
        }
        if self.kdf_id != KDF_HKDF_SHA256 {
            return Err(ReportError::UnsupportedKdf { config_id: self.id, kdf_id: self.kdf_id, name: kdf_name(self.kdf_id) });
        }
        if self.aead_id != AEAD_AES_128_GCM {
            return Err(ReportError::UnsupportedAead { config_id: self.id, aead_id: self.aead_id, name: aead_name(self.aead_id) });
        }
        if self.public_key.len() != X25519_PUBLIC_KEY_LEN {
            return Err(ReportError::InvalidPublicKey { config_id: self.id, len: self.public_key.len(), expected: X25519_PUBLIC_KEY_LEN });
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Report

/// `ReportMetadata`: `ReportID report_id` (16 bytes) `|| Time time` (u64 seconds since the
/// epoch, rounded down to the task's time precision).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportMetadata {
    pub report_id: [u8; REPORT_ID_LEN],
    pub time: u64,
}

impl ReportMetadata {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.report_id);
        out.extend_from_slice(&self.time.to_be_bytes());
    }

    fn read(reader: &mut Reader<'_>) -> Result<ReportMetadata, ReportError> {
        Ok(ReportMetadata { report_id: reader.array("report_id")?, time: reader.u64("time")? })
    }
}

/// `HpkeCiphertext`: `HpkeConfigId config_id || opaque enc<0..2^16-1> || opaque payload<0..2^32-1>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HpkeCiphertext {
    pub config_id: u8,
    pub encapsulated_key: Vec<u8>,
    pub payload: Vec<u8>,
}

impl HpkeCiphertext {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), ReportError> {
        out.push(self.config_id);
        put_opaque16(out, &self.encapsulated_key, "encapsulated_key")?;
        put_opaque32(out, &self.payload, "payload")
    }

    fn read(reader: &mut Reader<'_>) -> Result<HpkeCiphertext, ReportError> {
        Ok(HpkeCiphertext {
            config_id: reader.u8("config_id")?,
            encapsulated_key: reader.opaque16("encapsulated_key")?.to_vec(),
            payload: reader.opaque32("payload")?.to_vec(),
        })
    }
}

/// The DAP-09 upload body:
///
/// ```text
/// struct {
///   ReportMetadata report_metadata;
///   opaque public_share<0..2^32-1>;
///   HpkeCiphertext leader_encrypted_input_share;
///   HpkeCiphertext helper_encrypted_input_share;
/// } Report;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub metadata: ReportMetadata,
    pub public_share: Vec<u8>,
    pub leader_encrypted_input_share: HpkeCiphertext,
    pub helper_encrypted_input_share: HpkeCiphertext,
}

impl Report {
    pub fn to_bytes(&self) -> Result<Vec<u8>, ReportError> {
        let mut out = Vec::new();
        self.metadata.write(&mut out);
        put_opaque32(&mut out, &self.public_share, "public_share")?;
        self.leader_encrypted_input_share.write(&mut out)?;
        self.helper_encrypted_input_share.write(&mut out)?;
        Ok(out)
    }

    /// Decodes an upload body, as an aggregator would (tests, tools).
    pub fn from_bytes(bytes: &[u8]) -> Result<Report, ReportError> {
        let mut reader = Reader::new(bytes, Message::Report);
        let report = Report {
            metadata: ReportMetadata::read(&mut reader)?,
            public_share: reader.opaque32("public_share")?.to_vec(),
            leader_encrypted_input_share: HpkeCiphertext::read(&mut reader)?,
            helper_encrypted_input_share: HpkeCiphertext::read(&mut reader)?,
        };
        reader.finish()?;
        Ok(report)
    }

    /// The ciphertext addressed to `role` (leader or helper).
    pub fn encrypted_input_share(&self, role: Role) -> Option<&HpkeCiphertext> {
        match role {
            Role::Leader => Some(&self.leader_encrypted_input_share),
            Role::Helper => Some(&self.helper_encrypted_input_share),
            Role::Collector | Role::Client => None,
        }
    }
}

/// `InputShareAad`: `TaskID task_id (32 bytes) || ReportMetadata || opaque public_share<0..2^32-1>`,
/// the associated data both input shares are sealed with. It binds each ciphertext to its
/// task, report id, time and public share: an aggregator that is handed the ciphertext with
/// any of them changed cannot open it.
pub fn input_share_aad(task_id: &[u8; TASK_ID_LEN], metadata: &ReportMetadata, public_share: &[u8]) -> Result<Vec<u8>, ReportError> {
    let mut out = Vec::with_capacity(TASK_ID_LEN + REPORT_ID_LEN + 8 + 4 + public_share.len());
    out.extend_from_slice(task_id);
    metadata.write(&mut out);
    put_opaque32(&mut out, public_share, "public_share")?;
    Ok(out)
}

/// `PlaintextInputShare`: `Extension extensions<0..2^16-1> || opaque payload<0..2^32-1>`,
/// what each ciphertext holds. The browser sends no extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaintextInputShare {
    /// `(extension_type u16, extension_data opaque<0..2^16-1>)` pairs.
    pub extensions: Vec<(u16, Vec<u8>)>,
    /// The VDAF input share.
    pub payload: Vec<u8>,
}

impl PlaintextInputShare {
    pub fn to_bytes(&self) -> Result<Vec<u8>, ReportError> {
        let mut extensions = Vec::new();
        for (kind, data) in &self.extensions {
            extensions.extend_from_slice(&kind.to_be_bytes());
            put_opaque16(&mut extensions, data, "extension_data")?;
        }
        let mut out = Vec::with_capacity(2 + extensions.len() + 4 + self.payload.len());
        put_opaque16(&mut out, &extensions, "extensions")?;
        put_opaque32(&mut out, &self.payload, "payload")?;
        Ok(out)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<PlaintextInputShare, ReportError> {
        let mut reader = Reader::new(bytes, Message::PlaintextInputShare);
        let mut list = Reader::new(reader.opaque16("extensions")?, Message::PlaintextInputShare);
        let mut extensions = Vec::new();
        while !list.bytes.is_empty() {
            extensions.push((list.u16("extension_type")?, list.opaque16("extension_data")?.to_vec()));
        }
        let payload = reader.opaque32("payload")?.to_vec();
        reader.finish()?;
        Ok(PlaintextInputShare { extensions, payload })
    }
}
