//! The demo's lift experiment: the task the storefront's engine reports to, and two DAP
//! aggregators **run in this one process** (a stand-in for Janus, for the demo only).
//!
//! What this is not: a private deployment. DAP keeps a report unreadable only because the
//! leader and the helper are run by parties that do not collude; here one process holds both
//! private keys and the shared verify key, so whoever runs it could open every report. It
//! exists so `npm start` shows the whole path — browser → sealed report → aggregate → lift —
//! on one machine (docs/measurement.md, "The demo"). A store runs Janus (same docs, "Running
//! the aggregators") and points the page at its leader instead.
//!
//! Keys, the task id and the verify key are drawn fresh at every start, and the aggregate
//! lives in memory only: a restart is a new task, and a page still holding the old configs
//! gets a clear `unrecognizedTask` / `outdatedConfig` answer for its next upload. No private
//! key is ever written to disk or the repository (a fixed seed would have put one there).

mod routes;
mod simulate;
mod upload;

use std::collections::HashSet;
use std::sync::Mutex;

use localrank_core::base64::{self, Alphabet};
use localrank_core::measure::estimate::{LiftReport, estimate};
use localrank_report::aggregator::{AggregatorKeys, DemoAggregation};
use localrank_report::{Report, Role, TaskConfig};

pub(crate) use routes::routes;
pub use simulate::{MAX_SIMULATED, SimulatedTruth};
pub use upload::UploadError;

/// The experiment id the engine keys its stored coin with: fixed, so a browser keeps its arm
/// across server restarts (only the DAP task changes).
pub const EXPERIMENT_ID: &str = "fresh-basket-demo";
/// Reports are rounded down to the day: one report per browser per day fits in one interval.
pub const TIME_PRECISION_S: u64 = 86_400;
/// Janus's default: an upload may be at most this far in the future.
pub const TOLERABLE_CLOCK_SKEW_S: u64 = 60;
/// The smallest batch the demo's collector unshards. 1, so the demo shows a single browser's
/// report; a real task sets hundreds or thousands (the page says so).
pub const DEMO_MIN_BATCH_SIZE: u64 = 1;
const LEADER_CONFIG_ID: u8 = 1;
const HELPER_CONFIG_ID: u8 = 2;

/// Startup failures of the demo experiment.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("--experiment-split must be from 0 to 1 (the personalized arm's share), got {0}")]
    Split(f64),
    #[error("the demo aggregators could not start: {0}")]
    Aggregator(String),
}

/// Where a report came from: the server made it itself (the page's "simulate" control) or a
/// browser uploaded it. The aggregate cannot tell them apart; the counters can, because the
/// server counts what it made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Browser,
    Simulated,
}

struct Tally {
    aggregation: DemoAggregation,
    /// Report ids seen (accepted or not yet): DAP's replay protection.
    seen: HashSet<[u8; 16]>,
    uploaded: u64,
    simulated: u64,
    rejected: u64,
    /// Microseconds spent opening + preparing + aggregating accepted reports (for the page).
    aggregate_us: u128,
}

pub struct DemoExperiment {
    pub split: f64,
    task: TaskConfig,
    leader: AggregatorKeys,
    helper: AggregatorKeys,
    tally: Mutex<Tally>,
}

fn random<const N: usize>() -> Result<[u8; N], ExperimentError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| ExperimentError::Aggregator(format!("no random numbers: {e}")))?;
    Ok(bytes)
}

impl DemoExperiment {
    pub fn new(split: f64) -> Result<DemoExperiment, ExperimentError> {
        if !(split.is_finite() && (0.0..=1.0).contains(&split)) {
            return Err(ExperimentError::Split(split));
        }
        let aggregator = |e: localrank_report::aggregator::AggregationError| {
            ExperimentError::Aggregator(e.to_string())
        };
        Ok(DemoExperiment {
            split,
            task: TaskConfig {
                task_id: random()?,
                time_precision_s: TIME_PRECISION_S,
            },
            leader: AggregatorKeys::generate(LEADER_CONFIG_ID).map_err(aggregator)?,
            helper: AggregatorKeys::generate(HELPER_CONFIG_ID).map_err(aggregator)?,
            tally: Mutex::new(Tally {
                aggregation: DemoAggregation::new(random()?).map_err(aggregator)?,
                seen: HashSet::new(),
                uploaded: 0,
                simulated: 0,
                rejected: 0,
                aggregate_us: 0,
            }),
        })
    }

    pub fn task(&self) -> &TaskConfig {
        &self.task
    }

    pub fn task_id(&self) -> String {
        self.task.task_id_base64url()
    }

    /// The `HpkeConfigList` an aggregator serves at `/hpke_config`.
    pub fn config_list(&self, role: Role) -> Result<Vec<u8>, UploadError> {
        let keys = match role {
            Role::Helper => &self.helper,
            _ => &self.leader,
        };
        keys.config_list()
            .map_err(|e| UploadError::Internal(e.to_string()))
    }

    /// What the storefront passes to `open({ experiment })`, plus where to send the reports.
    pub fn to_json(&self) -> Result<serde_json::Value, UploadError> {
        let b64 = |bytes: Vec<u8>| base64::encode(&bytes, Alphabet::UrlSafe, false);
        Ok(serde_json::json!({
            "id": EXPERIMENT_ID,
            "split": self.split,
            "dap": {
                "taskId": self.task_id(),
                "timePrecision": TIME_PRECISION_S,
                "leaderConfig": b64(self.config_list(Role::Leader)?),
                "helperConfig": b64(self.config_list(Role::Helper)?),
            },
            "leader": "/dap/leader/",
            "helper": "/dap/helper/",
            "demo": "Both aggregators run inside this demo server, which therefore could read every report. A real deployment uses two non-colluding aggregators (Janus): docs/measurement.md.",
        }))
    }

    /// Takes one upload body for task `task_id` (as in the URL): checks the task, decodes the
    /// `Report`, rejects a report id already seen or a time in the future, opens both input
    /// shares with both roles' keys, prepares and aggregates them. `now_s` is the server's clock.
    pub fn upload(
        &self,
        task_id: &str,
        body: &[u8],
        source: Source,
        now_s: u64,
    ) -> Result<(), UploadError> {
        let result = self.try_upload(task_id, body, source, now_s);
        if result.is_err() {
            self.lock().rejected += 1;
        }
        result
    }

    fn try_upload(
        &self,
        task_id: &str,
        body: &[u8],
        source: Source,
        now_s: u64,
    ) -> Result<(), UploadError> {
        if task_id != self.task_id() {
            return Err(UploadError::UnrecognizedTask(task_id.to_string()));
        }
        let started = std::time::Instant::now();
        let report = Report::from_bytes(body).map_err(UploadError::InvalidMessage)?;
        if report.metadata.time > now_s.saturating_add(TOLERABLE_CLOCK_SKEW_S) {
            return Err(UploadError::TooEarly {
                time: report.metadata.time,
                now: now_s,
            });
        }
        // Each role opens only its own ciphertext with its own key (one process here, two
        // parties in a deployment).
        let leader = self
            .leader
            .open(Role::Leader, &self.task.task_id, &report)
            .map_err(UploadError::Rejected)?;
        let helper = self
            .helper
            .open(Role::Helper, &self.task.task_id, &report)
            .map_err(UploadError::Rejected)?;
        let report_id = report.metadata.report_id;
        let mut tally = self.lock();
        if !tally.seen.insert(report_id) {
            return Err(UploadError::Duplicate(
                base64::encode(&report_id, Alphabet::UrlSafe, false),
            ));
        }
        tally
            .aggregation
            .add(&report_id, &report.public_share, [&leader, &helper])
            .map_err(UploadError::Rejected)?;
        match source {
            Source::Browser => tally.uploaded += 1,
            Source::Simulated => tally.simulated += 1,
        }
        tally.aggregate_us += started.elapsed().as_micros();
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tally> {
        // A panic while holding the lock cannot leave the tally half-updated (`add` commits
        // last), so a poisoned lock is still consistent.
        self.tally
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What the collector sees: the unsharded bucket counts, and the estimate from them.
    pub fn lift(&self) -> Result<LiftView, UploadError> {
        let tally = self.lock();
        let buckets = tally
            .aggregation
            .unshard()
            .map_err(|e| UploadError::Internal(e.to_string()))?;
        let estimate = estimate(&buckets).map_err(|e| UploadError::Internal(e.to_string()))?;
        let reports = tally.aggregation.reports();
        Ok(LiftView {
            reports,
            uploaded: tally.uploaded,
            simulated: tally.simulated,
            rejected: tally.rejected,
            mean_aggregate_ms: if reports > 0 {
                tally.aggregate_us as f64 / 1000.0 / reports as f64
            } else {
                0.0
            },
            buckets,
            estimate,
        })
    }
}

/// `GET /api/lift`'s content.
#[derive(Debug, serde::Serialize)]
pub struct LiftView {
    /// Reports in the aggregate.
    pub reports: u64,
    /// Of those, uploaded by browsers / made by the simulate control.
    pub uploaded: u64,
    pub simulated: u64,
    /// Uploads refused (bad bytes, wrong task, duplicate, failed decryption or verification).
    pub rejected: u64,
    /// Opening both shares + Prio3 prepare in both roles + aggregating, per accepted report.
    pub mean_aggregate_ms: f64,
    /// The collection result: 48 counts (docs/measurement.md, "The report layout").
    pub buckets: Vec<u64>,
    /// The same JSON as `localrank lift --json`.
    pub estimate: LiftReport,
}
