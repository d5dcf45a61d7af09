//! Why the demo leader refuses an upload, as DAP problem documents (RFC 7807,
//! `application/problem+json`, DAP-09 §3.2's error types) with the status Janus uses.
use axum::http::StatusCode;
use localrank_report::ReportError;
use localrank_report::aggregator::AggregationError;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the Content-Type is {0:?}; a DAP upload is application/dap-report")]
    MediaType(String),
    #[error(
        "no task {0:?} here: the demo's task id changes at every server start; fetch /api/experiment again"
    )]
    UnrecognizedTask(String),
    #[error("the body is not a DAP-09 Report: {0}")]
    InvalidMessage(ReportError),
    #[error(
        "the report's time {time} is in the future (server time {now}): check the client's clock"
    )]
    TooEarly { time: u64, now: u64 },
    #[error("report {0} was already uploaded: a report is counted once")]
    Duplicate(String),
    #[error("the report was rejected: {0}")]
    Rejected(AggregationError),
    #[error("the demo aggregators failed: {0}")]
    Internal(String),
}

impl UploadError {
    pub fn status(&self) -> StatusCode {
        match self {
            UploadError::MediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            UploadError::UnrecognizedTask(_) => StatusCode::NOT_FOUND,
            UploadError::Duplicate(_) => StatusCode::CONFLICT,
            UploadError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            UploadError::InvalidMessage(_)
            | UploadError::TooEarly { .. }
            | UploadError::Rejected(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// The DAP-09 error type (`urn:ietf:params:ppm:dap:error:…`); `None` where DAP has none.
    pub fn dap_type(&self) -> Option<&'static str> {
        Some(match self {
            UploadError::UnrecognizedTask(_) => "unrecognizedTask",
            UploadError::InvalidMessage(_) => "invalidMessage",
            UploadError::TooEarly { .. } => "reportTooEarly",
            UploadError::Rejected(AggregationError::OutdatedConfig { .. }) => "outdatedConfig",
            UploadError::Duplicate(_) | UploadError::Rejected(_) => "reportRejected",
            UploadError::MediaType(_) | UploadError::Internal(_) => return None,
        })
    }
}
