//! The lift experiment's daily report in the engine (docs/measurement.md): the storefront's
//! DAP task settings checked once at `open()`, and a finished day turned into the opaque
//! upload `takeReport()` hands back. The sealing itself (Prio3 sharding, HPKE) runs in a
//! second wasm module, `localrank-report-web`, that the JS layer loads only when a day is
//! due; this module gives it a [`SealRequest`] and frames what comes back. Platform-free
//! (tested natively, sealing in-process). Nothing here makes a request.

use localrank_core::base64::{self as b64, Alphabet};
use localrank_core::json_tree::Node;
use localrank_core::measure::DayOutcome;
use localrank_report::{HpkeConfig, TaskConfig, Upload};

use crate::LocalRankError;

/// Seconds per day: a report's time is the start (UTC) of the day it describes.
const SECONDS_PER_DAY: u64 = 86_400;

/// The largest time precision accepted: whole seconds a JS number holds exactly (2⁵³).
const MAX_TIME_PRECISION: f64 = 9_007_199_254_740_992.0;

/// A checked DAP task: where and how a finished day is sealed.
#[derive(Debug, Clone, PartialEq)]
pub struct DapTask {
    task: TaskConfig,
    leader: HpkeConfig,
    helper: HpkeConfig,
}

fn invalid(name: &str, reason: impl Into<String>) -> LocalRankError {
    LocalRankError::invalid_option(&format!("experiment.dap.{name}"), reason)
}

impl DapTask {
    /// Checks `experiment.dap` as given to `open()`: `{ taskId, timePrecision, leaderConfig,
    /// helperConfig }`. The error names the first field at fault and says what to pass.
    pub fn from_options(dap: &Node) -> Result<DapTask, LocalRankError> {
        if !matches!(dap, Node::Object(_)) {
            return Err(LocalRankError::invalid_option(
                "experiment.dap",
                format!("must be an object {{ taskId, timePrecision, leaderConfig, helperConfig }}, got {}", dap.describe()),
            ));
        }
        let field = |name: &str| dap.get(name).ok_or_else(|| invalid(name, "is missing (or null)"));
        let time_precision_s = match field("timePrecision")? {
            Node::Number(n) if n.fract() == 0.0 && (1.0..=MAX_TIME_PRECISION).contains(n) => *n as u64,
            Node::Number(n) => {
                return Err(invalid("timePrecision", format!("must be the task's time_precision, a whole number of seconds ≥ 1 (e.g. 86400), got {n}")));
            }
            other => return Err(invalid("timePrecision", format!("must be a number of seconds (e.g. 86400), got {}", other.describe()))),
        };
        let task = match field("taskId")? {
            Node::Text(id) => TaskConfig::from_base64url(id, time_precision_s).map_err(|e| invalid("taskId", e.to_string()))?,
            other => return Err(invalid("taskId", format!("must be the task id as a string (43 characters of unpadded base64url), got {}", other.describe()))),
        };
        let leader = hpke_config(field("leaderConfig")?, "leaderConfig")?;
        let helper = hpke_config(field("helperConfig")?, "helperConfig")?;
        if leader.public_key == helper.public_key {
            // One key for both shares would let whoever holds it read every report.
            return Err(invalid(
                "helperConfig",
                "has the same public key as leaderConfig: fetch each config from its own aggregator (GET {leader}/hpke_config and GET {helper}/hpke_config)",
            ));
        }
        Ok(DapTask { task, leader, helper })
    }

    /// Seals the outcome of `day` (days since 1970, UTC) as the DAP upload, with `seal`: the
    /// report module's `sealDay` in the browser (a second wasm, loaded only when a day is due:
    /// `localrank-report-web`), [`localrank_report::seal_encoded`] natively. The report's time
    /// is the day's start, rounded down to the task's time precision.
    pub fn seal(&self, day: i64, outcome: &DayOutcome, seal: impl FnOnce(&SealRequest) -> Result<Vec<u8>, String>) -> Result<Upload, LocalRankError> {
        let time_s = u64::try_from(day)
            .ok()
            .and_then(|d| d.checked_mul(SECONDS_PER_DAY))
            .ok_or_else(|| LocalRankError::Internal(format!("day {day} has no DAP time (before 1970?); the day is skipped")))?;
        let encode = |config: &HpkeConfig| config.to_bytes().map_err(|e| LocalRankError::Internal(format!("could not encode an aggregator's config: {e}")));
        let request = SealRequest {
            task_id: self.task.task_id,
            time_precision_s: self.task.time_precision_s,
            leader_config: encode(&self.leader)?,
            helper_config: encode(&self.helper)?,
            time_s,
            // u32: a JS number either way; NUM_BUCKETS is 48.
            bucket: outcome.bucket() as u32,
        };
        let body = seal(&request).map_err(|e| LocalRankError::Internal(format!("could not seal the day's report: {e}")))?;
        Ok(Upload::for_task(&self.task, body))
    }

    /// The task id as it appears in the upload's path.
    pub fn task_id(&self) -> String {
        self.task.task_id_base64url()
    }
}

/// What the report module needs to seal one day: the task and both aggregators' chosen
/// configs (public), the day's time and its histogram bucket (the private part, which never
/// leaves the page in clear: the module returns it secret-shared and encrypted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealRequest {
    pub task_id: [u8; localrank_report::dap::TASK_ID_LEN],
    pub time_precision_s: u64,
    /// The leader's chosen `HpkeConfig`, encoded on its own (not as a list).
    pub leader_config: Vec<u8>,
    pub helper_config: Vec<u8>,
    /// The day's start, seconds since 1970 (UTC).
    pub time_s: u64,
    pub bucket: u32,
}

impl SealRequest {
    /// Seals in this process with `localrank-report` (native code and tests; the browser
    /// calls the same function inside the report module).
    pub fn seal_here(&self) -> Result<Vec<u8>, String> {
        localrank_report::seal_encoded(&self.task_id, self.time_precision_s, &self.leader_config, &self.helper_config, self.time_s, self.bucket).map_err(|e| e.to_string())
    }
}

/// An aggregator's `HpkeConfigList`: the raw bytes, or base64url text of them.
fn hpke_config(value: &Node, name: &str) -> Result<HpkeConfig, LocalRankError> {
    let bytes = match (value, value.as_bytes()) {
        (_, Some(bytes)) => bytes,
        // Padded or not: base64url tools differ on padding, and it carries no information.
        (Node::Text(text), None) => b64::decode(text, Alphabet::UrlSafe).map_err(|_| {
            invalid(name, "is a string but not base64url: pass the raw body of GET {aggregator}/hpke_config as a Uint8Array, or its base64url text")
        })?,
        (other, None) => {
            return Err(invalid(name, format!("must be the aggregator's HpkeConfigList as a Uint8Array or a base64url string, got {}", other.describe())));
        }
    };
    HpkeConfig::choose_from_list(&bytes).map_err(|e| invalid(name, format!("is not a usable HpkeConfigList: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use localrank_core::measure::{Arm, FirstClick};

    const TASK_ID: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"; // bytes 0..32

    /// An `HpkeConfigList` with one X25519 / HKDF-SHA256 / AES-128-GCM config. The key is any
    /// valid point: these tests only seal.
    fn config_list(id: u8, key_byte: u8) -> Vec<u8> {
        let mut public_key = vec![key_byte; 32];
        public_key[0] = 9; // keep it away from the low-order points
        HpkeConfig::list_to_bytes(&[HpkeConfig { id, kem_id: 0x20, kdf_id: 1, aead_id: 1, public_key }]).unwrap()
    }

    fn options(fields: Vec<(&str, Node)>) -> Node {
        Node::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// Bytes as they arrive from JS: a `Uint8Array` crosses as a list of numbers.
    fn bytes(b: Vec<u8>) -> Node {
        Node::List(b.into_iter().map(|x| Node::Number(f64::from(x))).collect())
    }

    fn good() -> Vec<(&'static str, Node)> {
        vec![
            ("taskId", Node::Text(TASK_ID.into())),
            ("timePrecision", Node::Number(3600.0)),
            ("leaderConfig", bytes(config_list(1, 7))),
            ("helperConfig", Node::Text(b64::encode(&config_list(2, 8), Alphabet::UrlSafe, false))),
        ]
    }

    #[test]
    fn a_good_task_seals_a_day_at_the_days_start() {
        let task = DapTask::from_options(&options(good())).unwrap();
        let outcome = DayOutcome { arm: Arm::Control, first_click: FirstClick::Slot(2), converted: true };
        let upload = task.seal(20_000, &outcome, SealRequest::seal_here).unwrap();
        assert_eq!(upload.method, "PUT");
        assert_eq!(upload.path, format!("tasks/{TASK_ID}/reports"));
        assert_eq!(upload.content_type, "application/dap-report");
        assert_eq!(upload.body.len(), 1478, "the size report/tests/seal.rs pins");
        let report = localrank_report::Report::from_bytes(&upload.body).unwrap();
        assert_eq!(report.metadata.time, 20_000 * 86_400);
        assert_eq!((report.leader_encrypted_input_share.config_id, report.helper_encrypted_input_share.config_id), (1, 2));
        assert!(task.seal(-1, &outcome, SealRequest::seal_here).is_err(), "a day before 1970 is an error, not a panic");
        let failed = task.seal(20_000, &outcome, |_| Err("the report module did not load".into())).unwrap_err();
        assert!(failed.to_string().contains("the report module did not load"), "{failed}");
    }

    #[test]
    fn each_mistake_names_its_field() {
        // The good options with `name` set to `value`, or left out (`None`).
        let case = |name: &'static str, value: Option<Node>| {
            let mut fields = good();
            fields.retain(|(k, _)| *k != name);
            fields.extend(value.map(|v| (name, v)));
            DapTask::from_options(&options(fields)).unwrap_err()
        };
        let field = |e: LocalRankError| e.field().map(str::to_owned);
        assert_eq!(field(case("taskId", Some(Node::Text("short".into())))).as_deref(), Some("experiment.dap.taskId"));
        assert_eq!(field(case("taskId", Some(Node::Number(3.0)))).as_deref(), Some("experiment.dap.taskId"));
        assert_eq!(field(case("timePrecision", Some(Node::Number(0.0)))).as_deref(), Some("experiment.dap.timePrecision"));
        assert_eq!(field(case("timePrecision", Some(Node::Number(1.5)))).as_deref(), Some("experiment.dap.timePrecision"));
        assert_eq!(field(case("timePrecision", None)).as_deref(), Some("experiment.dap.timePrecision"));
        assert_eq!(field(case("leaderConfig", Some(bytes(vec![0, 5, 1])))).as_deref(), Some("experiment.dap.leaderConfig"));
        assert_eq!(field(case("leaderConfig", Some(Node::Text("not base64!".into())))).as_deref(), Some("experiment.dap.leaderConfig"));
        assert_eq!(field(case("helperConfig", Some(Node::Null))).as_deref(), Some("experiment.dap.helperConfig"));
        let same = case("helperConfig", Some(bytes(config_list(2, 7))));
        assert_eq!(field(same.clone()).as_deref(), Some("experiment.dap.helperConfig"));
        assert!(same.to_string().contains("same public key"), "{same}");
        let p256 = HpkeConfig::list_to_bytes(&[HpkeConfig { id: 3, kem_id: 0x10, kdf_id: 1, aead_id: 1, public_key: vec![4; 65] }]).unwrap();
        let unsupported = case("leaderConfig", Some(bytes(p256)));
        assert!(unsupported.to_string().contains("X25519"), "says what to change: {unsupported}");
        let not_object = DapTask::from_options(&Node::Text("x".into())).unwrap_err();
        assert_eq!(not_object.field(), Some("experiment.dap"));
    }
}
