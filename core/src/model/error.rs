//! What can be wrong with a model file or an encoder input. Every variant names the thing at
//! fault (the config field, the first bad tensor) so a storefront developer can fix the export.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// model.json is not valid JSON for this format, or a value is out of range.
    #[error("model config: `{field}` {reason}")]
    Config { field: String, reason: String },

    /// The safetensors container itself is unreadable (truncated, bad header, overlapping data).
    #[error("model weights are not a valid safetensors file: {0}")]
    Container(String),

    #[error("model weights: tensor `{name}` is missing")]
    MissingTensor { name: String },

    #[error("model weights: tensor `{name}` is not part of this model")]
    UnexpectedTensor { name: String },

    #[error("model weights: tensor `{name}` has dtype {found}, expected {expected}")]
    WrongDtype { name: String, found: String, expected: String },

    #[error("model weights: tensor `{name}` has shape {found:?}, expected {expected:?}")]
    WrongShape { name: String, found: Vec<usize>, expected: Vec<usize> },

    #[error("model weights: tensor `{name}` contains NaN or infinity")]
    NonFinite { name: String },

    /// The history handed to the encoder does not fit the model.
    #[error("encoder input: {0}")]
    Input(String),
}

impl ModelError {
    pub(crate) fn config(field: &str, reason: impl Into<String>) -> Self {
        ModelError::Config { field: field.to_owned(), reason: reason.into() }
    }

    /// Every value `code()` returns, in declaration order. The web crate's TypeScript type
    /// `ModelErrorCode` must list them all (a test there checks it).
    pub const CODES: [&'static str; 8] =
        ["ModelConfig", "ModelContainer", "MissingTensor", "UnexpectedTensor", "WrongDtype", "WrongShape", "NonFiniteWeights", "EncoderInput"];

    /// A stable, machine-readable name for the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            ModelError::Config { .. } => "ModelConfig",
            ModelError::Container(_) => "ModelContainer",
            ModelError::MissingTensor { .. } => "MissingTensor",
            ModelError::UnexpectedTensor { .. } => "UnexpectedTensor",
            ModelError::WrongDtype { .. } => "WrongDtype",
            ModelError::WrongShape { .. } => "WrongShape",
            ModelError::NonFinite { .. } => "NonFiniteWeights",
            ModelError::Input(_) => "EncoderInput",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ModelError;

    #[test]
    fn codes_lists_every_variant_once() {
        let s = String::new;
        let every = [
            ModelError::Config { field: s(), reason: s() },
            ModelError::Container(s()),
            ModelError::MissingTensor { name: s() },
            ModelError::UnexpectedTensor { name: s() },
            ModelError::WrongDtype { name: s(), found: s(), expected: s() },
            ModelError::WrongShape { name: s(), found: vec![], expected: vec![] },
            ModelError::NonFinite { name: s() },
            ModelError::Input(s()),
        ];
        let codes: Vec<&str> = every.iter().map(ModelError::code).collect();
        assert_eq!(codes, ModelError::CODES);
    }
}
