//! The one error type of the crate.

use thiserror::Error;

/// What can go wrong when compiling or running an operator.
#[derive(Debug, Error)]
pub enum Error {
    /// The operator, plan or lowering failed.
    #[error(transparent)]
    Codegen(#[from] kas_codegen::Error),
    /// The operator itself is invalid for the request.
    #[error(transparent)]
    Primitives(#[from] kas_primitives::Error),
    /// A CUDA library cannot be loaded (no driver, no NVRTC): a missing prerequisite.
    #[error("{0}")]
    Missing(String),
    /// NVRTC rejected a kernel.
    #[error("NVRTC failed to compile `{name}`: {log}")]
    Compile {
        /// Program name.
        name: String,
        /// The compiler's log (first lines).
        log: String,
    },
    /// The tch plan cannot be built for this operator.
    #[error("tch plan: {0}")]
    Plan(String),
    /// A CUDA driver call failed (launch, copy, module load).
    #[error("CUDA driver: {0}")]
    Driver(String),
    /// An operator does not fit a host model's slot.
    #[error("{0}")]
    Slot(String),
    /// A host model, training or spec configuration is invalid.
    #[error("{0}")]
    Config(String),
    /// A campaign file is malformed or its spec cannot be read.
    #[error(transparent)]
    Campaign(#[from] kas_campaign::CampaignError),
    /// A device string that is neither `cpu` nor `cuda:K`.
    #[error("unknown device `{0}` (use cpu or cuda:K)")]
    UnknownDevice(String),
    /// A CUDA device that libtorch does not see.
    #[error("device {device} is not available ({visible} CUDA devices visible to libtorch)")]
    DeviceUnavailable {
        /// The device asked for.
        device: String,
        /// How many CUDA devices libtorch sees.
        visible: i64,
    },
    /// An error while setting up the evaluator of one device.
    #[error("device {device}: {source}")]
    OnDevice {
        /// The device.
        device: String,
        /// What failed.
        source: Box<Error>,
    },
    /// A model size too large for libtorch's sizes.
    #[error("{field} = {value} is out of range")]
    ModelSize {
        /// The campaign field.
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// An image size given for a model that takes no images.
    #[error("{0} has no image size")]
    NoImageSize(crate::models::ModelKind),
    /// The Tch evaluator trains image classifiers only.
    #[error(
        "the Tch evaluator trains image classifiers (resnet18 or cnn on fashion-mnist or mnist), not {model} on {data}"
    )]
    NotImageClassifier {
        /// The model asked for.
        model: crate::models::ModelKind,
        /// The dataset asked for.
        data: crate::data::DatasetName,
    },
    /// A campaign's slot spec lacks a binding with the sizes of one of the model's slots.
    #[error(
        "campaign `{campaign}`: spec `{spec}` does not fit model {model}: slot `{slot}` ({sizes}) has no binding with its sizes; drop `spec` to generate it from the model (`kas spec --model {model}`)"
    )]
    SpecMismatch {
        /// The campaign's name.
        campaign: String,
        /// The spec's name.
        spec: String,
        /// The host model.
        model: crate::models::ModelKind,
        /// The slot without a binding.
        slot: String,
        /// The slot's sizes, `name=value` joined by commas.
        sizes: String,
    },
    /// A dataset name that kas does not know.
    #[error("unknown dataset `{0}` (known: fashion-mnist, mnist, shakespeare)")]
    UnknownDataset(String),
    /// A dataset is not in the data directory.
    #[error("dataset {name} not found in {}: run `kas data fetch {name}`", dir.display())]
    DatasetMissing {
        /// The dataset's name.
        name: String,
        /// The data directory searched.
        dir: std::path::PathBuf,
    },
    /// A dataset file is truncated, malformed or fails its checksum.
    #[error("corrupt dataset file {}: {reason}", file.display())]
    CorruptData {
        /// The offending file.
        file: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing a file or directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A package client (apt-get, npm, pip, dpkg-deb) needed to fetch a dataset is missing or
    /// failed.
    #[error("{0}")]
    Fetch(String),
    /// Invalid arguments to a data loader (batch size, image size, context length).
    #[error("{0}")]
    DataArgs(String),
    /// A libtorch operation failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A timing worker process failed or could not be run.
    #[error("timing worker: {0}")]
    Worker(String),
    /// The tuning cache is unreadable or malformed.
    #[error("{0}")]
    Tune(String),
    /// A benchmark request is invalid (unknown binding set, bindings that do not fit).
    #[error("{0}")]
    Bench(String),
}

/// Result with the crate's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;
