// Sets `KAS_GIT_HASH` for the crate: the `KAS_GIT_HASH` variable of the build if set, else
// `git rev-parse --short=12 HEAD` (the commit, not uncommitted changes), else `unknown`.
// Reruns when HEAD or the branch it points to moves.
fn embed_git_hash() {
    println!("cargo:rerun-if-env-changed=KAS_GIT_HASH");
    let git = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let hash = std::env::var("KAS_GIT_HASH")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=KAS_GIT_HASH={hash}");
    for path in [
        git(&["rev-parse", "--git-path", "HEAD"]),
        git(&["rev-parse", "--symbolic-full-name", "HEAD"])
            .and_then(|r| git(&["rev-parse", "--git-path", &r])),
        git(&["rev-parse", "--git-path", "packed-refs"]),
    ]
    .into_iter()
    .flatten()
    {
        if std::path::Path::new(&path).exists() {
            let abs = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone().into());
            println!("cargo:rerun-if-changed={}", abs.display());
        }
    }
}
