//! The on-disk cache of NVRTC's outputs (`nvrtc::NvrtcCache`), on the CPU: a second compile
//! reads the entry (a planted entry is what comes back), keys change with everything that goes
//! into NVRTC but not with the program's name (which changes no output), a damaged entry is
//! compiled again and repaired, errors are not kept, and an unwritable folder changes nothing.

use kas_codegen::StageIr;
use kas_codegen::cuda::generate;
use kas_eval::nvrtc::{self, CUBIN_ARCH, NvrtcCache, Output, PTX_ARCH};
use kas_primitives::library;

/// The generated CUDA C of the library's conv2d at its first binding.
fn conv2d_source() -> String {
    let op = (library::get("conv2d").unwrap().build)().unwrap();
    let ir = StageIr::lower(&op).unwrap();
    generate(&ir, &op.bindings[0]).unwrap().source
}

#[test]
fn a_second_compile_reads_the_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = NvrtcCache::at(tmp.path().join("nvrtc"));
    let src = conv2d_source();
    let first = cache.compile("conv2d", &src, true).unwrap();
    let ptx_entry = cache.entry(&src, PTX_ARCH, Output::Ptx).unwrap().unwrap();
    let cubin_entry = cache
        .entry(&src, CUBIN_ARCH, Output::Cubin)
        .unwrap()
        .unwrap();
    assert!(ptx_entry.is_file() && cubin_entry.is_file());
    let again = cache.compile("conv2d", &src, true).unwrap();
    assert_eq!((&again.ptx, &again.cubin), (&first.ptx, &first.cubin));
    // What comes back is the entry: plant a (well-formed) one and read it.
    let marker = b"// planted PTX".to_vec();
    let mut planted = blake3::hash(&marker).as_bytes().to_vec();
    planted.extend_from_slice(&marker);
    std::fs::write(&ptx_entry, &planted).unwrap();
    assert_eq!(
        cache.compile("conv2d", &src, false).unwrap().ptx,
        "// planted PTX"
    );
    // A damaged entry (its hash does not match) is compiled again and rewritten.
    let mut damaged = std::fs::read(&cubin_entry).unwrap();
    let last = damaged.len() - 1;
    damaged[last] ^= 0xff;
    std::fs::write(&cubin_entry, &damaged).unwrap();
    let cubin = cache.compile_cubin("conv2d", &src, CUBIN_ARCH).unwrap();
    assert_eq!(Some(&cubin), first.cubin.as_ref());
    let repaired = std::fs::read(&cubin_entry).unwrap();
    assert_eq!(&repaired[32..], &cubin[..]);
}

#[test]
fn keys_follow_what_nvrtc_sees_and_the_name_changes_no_output() {
    let src = conv2d_source();
    let v = nvrtc::version().unwrap();
    let key = nvrtc::cache_key(&src, PTX_ARCH, Output::Ptx, v);
    assert_eq!(key, nvrtc::cache_key(&src, PTX_ARCH, Output::Ptx, v));
    let others = [
        nvrtc::cache_key(&src, "compute_80", Output::Ptx, v),
        nvrtc::cache_key(&src, PTX_ARCH, Output::Cubin, v),
        nvrtc::cache_key(&src, PTX_ARCH, Output::Ptx, (v.0, v.1 + 1)),
        nvrtc::cache_key(&format!("{src}\n"), PTX_ARCH, Output::Ptx, v),
    ];
    assert!(others.iter().all(|k| *k != key), "{others:?}");
    // The program's name is no part of the key because NVRTC's output does not depend on it.
    let off = NvrtcCache::off();
    let a = off.compile("one_name", &src, true).unwrap();
    let b = off.compile("another", &src, true).unwrap();
    assert_eq!((a.ptx, a.cubin), (b.ptx, b.cubin));
    assert!(off.entry(&src, PTX_ARCH, Output::Ptx).unwrap().is_none());
}

#[test]
fn errors_are_not_kept_and_an_unwritable_cache_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nvrtc");
    let cache = NvrtcCache::at(&dir);
    let bad = "extern \"C\" __global__ void k() { undeclared = 1; }";
    for _ in 0..2 {
        let e = cache.compile("bad", bad, false).unwrap_err().to_string();
        assert!(e.starts_with("NVRTC failed to compile `bad`"), "{e}");
    }
    assert!(!dir.exists() || std::fs::read_dir(&dir).unwrap().next().is_none());
    // A file where the folder should be: every write fails, every compile succeeds.
    let blocked = tmp.path().join("blocked");
    std::fs::write(&blocked, b"not a folder").unwrap();
    let cache = NvrtcCache::at(&blocked);
    let src = conv2d_source();
    let c = cache.compile("conv2d", &src, false).unwrap();
    assert!(c.ptx.contains(".entry"));
}
