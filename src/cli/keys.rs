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
    /// Re-wrap every school's keys under a new master key (RAABTA_NEW_MASTER_KEY, base64
    /// of 32 bytes; or --generate) in one transaction; the old key is kept sealed under
    /// the new one so older backups still restore. Restart every process with the new
    /// key afterwards. The quarterly runbook is in docs/PRIVACY.md.
    RotateMaster {
        /// Make a new random master key (written to master.key in the data directory
        /// when the current one is there; printed once otherwise).
        #[arg(long)]
        generate: bool,
    },
}

pub(super) async fn keys_cmd(config: Config, cmd: KeysCmd) -> anyhow::Result<()> {
    let (tenant, batch) = match cmd {
        KeysCmd::RotateMaster { generate } => return rotate_master(config, generate).await,
        KeysCmd::Rotate { tenant, batch } => (tenant, batch),
        KeysCmd::ExportBackupKeys { out } => {
            let app = App::build(config).await?;
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
    let app = App::build(config).await?;
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

async fn rotate_master(config: Config, generate: bool) -> anyhow::Result<()> {
    use raabta::store::crypto::MasterKey;
    let new = match (std::env::var("RAABTA_NEW_MASTER_KEY"), generate) {
        (Ok(k), false) => MasterKey::from_base64(&k)
            .map_err(|_| anyhow::anyhow!("RAABTA_NEW_MASTER_KEY is not base64 of 32 bytes"))?,
        (Err(_), true) => MasterKey::generate(),
        (Ok(_), true) => bail!("give RAABTA_NEW_MASTER_KEY or --generate, not both"),
        (Err(_), false) => {
            bail!("set RAABTA_NEW_MASTER_KEY (base64 of 32 bytes) or pass --generate")
        }
    };
    let in_file = config.master_key.is_none();
    let file = config.data_dir.join("master.key");
    let pending = config.data_dir.join("master.key.new");
    let app = App::build(config).await?;
    if app.spool.pending_files() > 0 {
        bail!("the inbound spool holds events sealed with the current key: start the service so it ingests them, then rotate");
    }
    // The new key is on disk before the database changes (a crash between the two
    // leaves master.key.new to finish with).
    if in_file {
        raabta::fsutil::write_private(&pending, new.to_base64().as_bytes())
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", pending.display()))?;
    }
    let n = match app.tenancy.rotate_master(&new).await {
        Ok(n) => n,
        Err(e) => {
            // Nothing changed: the new key is not needed.
            if in_file {
                let _ = std::fs::remove_file(&pending);
            }
            return Err(e.into());
        }
    };
    if in_file {
        std::fs::rename(&pending, &file)?;
        println!(
            "{n} keys re-wrapped; the new master key is in {} (the old one is kept sealed \
             under it, to restore older backups). Restart every process.",
            file.display()
        );
    } else {
        println!(
            "{n} keys re-wrapped. Set RAABTA_MASTER_KEY to the new key and restart every process \
             now (running ones fail once their key cache expires; one started with the old key \
             is refused). Export the backup keys again."
        );
        if generate {
            println!("new master key (shown once): {}", new.to_base64());
        }
    }
    Ok(())
}
