//! The `raabta` binary: the command line in `cli/`, the service in the library.

mod cli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cli::main().await
}
