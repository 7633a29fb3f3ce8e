//! A closed standard output ends the command quietly, as it ends `ls` (`kas ops list | head
//! -1`): Rust's `print!` panics when the reader has gone, and that panic would print a
//! backtrace.
//!
//! SIGPIPE is not reset to its default instead: this process writes timing requests into its
//! worker processes' pipes, and a worker that died must be reported as a failed candidate, not
//! kill the campaign. Only the standard library's "failed printing to stdout" panic with a
//! broken pipe is handled; every other panic goes to the default hook.

/// Whether a panic message is `print!`'s on a closed standard output.
pub fn is_closed_stdout(message: &str) -> bool {
    // The error is printed as the OS says it ("Broken pipe (os error 32)" on Linux).
    message.starts_with("failed printing to stdout")
        && message.to_ascii_lowercase().contains("broken pipe")
}

/// Installs the panic hook: exit 0, silently, when standard output was closed by its reader.
pub fn exit_quietly_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if is_closed_stdout(message) {
            std::process::exit(0);
        }
        default(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_broken_stdout_is_quiet() {
        let broken = std::io::Error::from_raw_os_error(32);
        assert_eq!(broken.kind(), std::io::ErrorKind::BrokenPipe);
        assert!(is_closed_stdout(&format!(
            "failed printing to stdout: {broken}"
        )));
        assert!(!is_closed_stdout(&format!(
            "failed printing to stderr: {broken}"
        )));
        assert!(!is_closed_stdout(
            "failed printing to stdout: No space left on device (os error 28)"
        ));
    }
}
