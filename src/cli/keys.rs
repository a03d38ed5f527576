//! `raabta keys …`: encryption keys.

use super::bar;
use anyhow::bail;
use clap::Subcommand;
use raabta::app::App;
use raabta::config::Config;

#[derive(Subcommand)]
pub(super) enum KeysCmd {
    /// Add a new data key for a school and re-encrypt its fields while it keeps serving.
    Rotate {
        #[arg(long)]
        tenant: String,
        /// Rows per transaction.
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
    /// Write every school's backup key (still wrapped by the master key) to a new file,
    /// for safekeeping away from the backups: a restore needs it and the master key.
    ExportBackupKeys {
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

pub(super) async fn keys_cmd(config: Config, cmd: KeysCmd) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let (tenant, batch) = match cmd {
        KeysCmd::Rotate { tenant, batch } => (tenant, batch),
        KeysCmd::ExportBackupKeys { out } => {
            let export = raabta::backup::export_keys(&app).await?;
            let json = serde_json::to_vec_pretty(&export)?;
            raabta::fsutil::write_private(&out, &json)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?;
            println!(
                "{} backup keys written to {} (keep it away from the backups; it is \
                 useless without the master key)",
                export.keys.len(),
                out.display()
            );
            return Ok(());
        }
    };
    if !(1..=10_000).contains(&batch) {
        bail!("--batch must be between 1 and 10000");
    }
    let total = app.tenancy.encrypted_value_count(&tenant).await?;
    let pb = bar(total, "re-encrypting");
    let wait_pb = pb.0.clone();
    let on_wait = move |d: std::time::Duration| {
        wait_pb.println(format!(
            "waiting {}s so that running servers reload this school's keys",
            d.as_secs()
        ));
    };
    let report = app
        .tenancy
        .rotate_keys(&tenant, batch, &pb, &on_wait)
        .await?;
    pb.done(format!(
        "{tenant}: data key {} is active; {} values re-encrypted in {} pass(es); older keys retired",
        report.new_key_id, report.rows_rewritten, report.passes
    ));
    Ok(())
}
