//! Timing a model's forward pass on the GPU: captured once as a CUDA graph and replayed, or
//! launched eagerly, between CUDA events on the legacy default stream, with the L2 cache
//! flushed before every run.
//!
//! Capture. libtorch's current stream becomes one of its pool streams (stream capture is not
//! allowed on the legacy default stream); the forward pass runs twice there untimed (cuDNN's
//! algorithm search, cuBLAS's workspace for that stream, the skipped slots' zeros), then once
//! between `cuStreamBeginCapture` (relaxed mode: libtorch's caching allocator may still call
//! `cudaMalloc`) and `cuStreamEndCapture`. Everything the pass enqueues on that stream,
//! libtorch's kernels and kas's launches alike, becomes one graph. The graph is replayed on the
//! legacy default stream, where the timer's events and the flush are.
//!
//! Memory. The captured pass allocates its intermediate tensors from libtorch's caching
//! allocator like any pass; when it ends they return to the allocator's free list (for the pool
//! stream) while the graph keeps their addresses. Replays are safe as long as nothing else
//! allocates from that memory in between: the caller replays graphs one at a time, on one
//! stream, with no libtorch work in between, and keeps each graph's output tensor (and the
//! model, its input and every cached tensor) alive while the graph exists. This is what
//! libtorch's own `CUDAGraph` avoids with a private memory pool; kas's shim does not link
//! libtorch's CUDA library (`docs/ARCHITECTURE.md`, "Whole-model timing").

use crate::error::{Error, Result};
use crate::gpu::{EventTimer, Gpu, drv};
use crate::timing::protocol::Sampler;
use crate::torch_context::{current_stream_handle, pool_stream};
use cudarc::driver::{CudaGraph, result, sys};
use std::panic::{AssertUnwindSafe, catch_unwind};
use tch::Tensor;

/// A captured forward pass and its output tensor (written by every replay).
pub(crate) struct Captured {
    graph: CudaGraph,
    /// The output of the captured pass.
    pub out: Tensor,
}

/// The message of a caught panic.
fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic".into())
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// Runs `f`, turning a libtorch panic into an error line.
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(panic_text)
}

/// Captures `f` (a forward pass returning its output) as a CUDA graph (see the module docs).
/// `errors` is asked after the capture for an error the pass recorded (a failed kas launch).
pub(crate) fn capture(
    gpu: &Gpu,
    mut f: impl FnMut() -> Tensor,
    errors: &dyn Fn() -> Option<String>,
) -> std::result::Result<Captured, String> {
    let pool = pool_stream(0).map_err(|e| e.to_string())?;
    let raw = current_stream_handle(0).map_err(|e| e.to_string())? as sys::CUstream;
    // SAFETY: libtorch owns the pool stream and keeps it for the process's life; everything
    // enqueued here goes to that one stream.
    let stream = unsafe { gpu.context().wrap_borrowed_stream(raw) };
    for _ in 0..2 {
        drop(guarded(&mut f)?);
    }
    stream.synchronize().map_err(|e| format!("{e:?}"))?;
    if let Some(e) = errors() {
        return Err(e);
    }
    stream
        .begin_capture(sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_RELAXED)
        .map_err(|e| format!("cuStreamBeginCapture: {e:?}"))?;
    let out = guarded(&mut f);
    let ended = stream.end_capture(sys::CUgraphInstantiate_flags(0));
    let out = out?;
    let graph = ended
        .map_err(|e| format!("cuStreamEndCapture: {e:?}"))?
        .ok_or("the captured graph is empty")?;
    if let Some(e) = errors() {
        return Err(e);
    }
    graph
        .upload()
        .map_err(|e| format!("cuGraphUpload: {e:?}"))?;
    drop(pool);
    Ok(Captured { graph, out })
}

impl Captured {
    /// Replays the graph on the legacy default stream (asynchronous).
    pub(crate) fn launch(&self) -> Result<()> {
        // SAFETY: the graph and everything it reads and writes are alive (see the module docs);
        // the null stream is the legacy default stream.
        unsafe { result::graph::launch(self.graph.cu_graph_exec(), std::ptr::null_mut()) }
            .map_err(drv("cuGraphLaunch"))
    }
}

/// Replays of a captured graph between events.
pub(crate) struct GraphSampler<'a> {
    /// The graph.
    pub graph: &'a Captured,
    /// Events and flush.
    pub timer: EventTimer,
}

impl Sampler for GraphSampler<'_> {
    fn prepare(&mut self) -> std::result::Result<(), String> {
        self.timer.flush()
    }

    fn sample(&mut self) -> std::result::Result<f64, String> {
        let g = self.graph;
        self.timer.time(|| g.launch().map_err(|e| e.to_string()))
    }
}

/// Eager runs of `work` (a forward pass or a training step enqueued on libtorch's current
/// stream, the legacy default stream) between events; `errors` is asked after each run.
pub(crate) struct EagerSampler<'a, F: FnMut() -> std::result::Result<(), String>> {
    /// The work.
    pub work: F,
    /// Events and flush.
    pub timer: EventTimer,
    /// A recorded error of the last run, if any.
    pub errors: &'a dyn Fn() -> Option<String>,
}

impl<F: FnMut() -> std::result::Result<(), String>> Sampler for EagerSampler<'_, F> {
    fn prepare(&mut self) -> std::result::Result<(), String> {
        self.timer.flush()
    }

    fn sample(&mut self) -> std::result::Result<f64, String> {
        let work = &mut self.work;
        let t = self.timer.time(|| guarded(work)?)?;
        match (self.errors)() {
            Some(e) => Err(e),
            None => Ok(t),
        }
    }
}

/// A timer on `gpu`'s legacy default stream whose flush writes twice the L2 cache.
pub(crate) fn timer(gpu: &Gpu, l2_bytes: usize) -> Result<EventTimer> {
    EventTimer::new(gpu, 2 * l2_bytes)
}

/// Waits for the device.
pub(crate) fn synchronize(gpu: &Gpu) -> Result<()> {
    gpu.context()
        .synchronize()
        .map_err(|e| Error::Driver(format!("cuCtxSynchronize: {e:?}")))
}
