//! The `raabta` binary: the command line in `cli/`, the service in the library.

mod cli;

use std::process::ExitCode;

/// A failed command prints one line (`raabta: <error>: <cause>…`) on stderr, never a
/// `Debug` dump or a backtrace, and exits with 1.
#[tokio::main]
async fn main() -> ExitCode {
    match cli::main().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raabta: {e:#}");
            ExitCode::FAILURE
        }
    }
}
