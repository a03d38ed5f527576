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
            // The causes after the error, each unless the one before already shows it
            // (our errors often include their cause in their own text).
            let mut line = e.to_string();
            let mut previous = line.clone();
            for cause in e.chain().skip(1) {
                let cause = cause.to_string();
                if !previous.contains(&cause) {
                    line.push_str(": ");
                    line.push_str(&cause);
                }
                previous = cause;
            }
            eprintln!("raabta: {line}");
            ExitCode::FAILURE
        }
    }
}
