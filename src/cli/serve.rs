//! `raabta serve` and `raabta migrate`.

use anyhow::{bail, Context};
use raabta::app::App;
use raabta::application::Application;
use raabta::config::Config;
use raabta::fsutil::write_private;
use std::time::Instant;

pub(super) async fn serve(config: Config) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut application = Application::build(config).await?;
    let app = application.app.clone();
    let cfg = app.config.clone();
    if let Some(login) = &application.demo {
        let text = login.render(&cfg.public_url);
        let file = cfg.data_dir.join("DEMO.txt");
        if let Err(e) = write_private(&file, text.as_bytes()) {
            tracing::warn!(error = %e, "could not keep the demo logins in the data dir");
        }
        println!("{text}");
        println!("  (kept in {} for later)\n", file.display());
    } else if cfg.seed_demo && cfg.data_dir.join("DEMO.txt").exists() {
        println!(
            "Demo logins: see {}",
            cfg.data_dir.join("DEMO.txt").display()
        );
    }
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let schools = app.tenancy.list().await?.len();
    println!(
        "Raabta is serving {schools} school(s) on http://{} ({:?} backend, data in {}); ready in {} ms.\n\
         Health: {}/healthz  Readiness: {}/readyz  Stop with Ctrl-C.",
        cfg.listen,
        app.backend_kind(),
        cfg.data_dir.display(),
        started.elapsed().as_millis(),
        cfg.public_url,
        cfg.public_url,
    );
    tracing::info!(listen = %cfg.listen, schools, channels = app.registry.current().len(), "serving");
    say_language_model(&app);
    application.start();
    axum::serve(
        listener,
        application
            .router()
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    Ok(())
}

/// Starts loading the local language model in the background (off the request path)
/// and says once where it stands: free text is matched by spelling until it is loaded,
/// or without it.
pub(super) fn say_language_model(app: &App) {
    let dir = &app.config.models_dir;
    if dir.join("manifest.json").exists() {
        println!(
            "Language model: loading from {} in the background.",
            dir.display()
        );
        app.nlu.start_loading();
    } else {
        println!(
            "Language model: none in {} (run scripts/fetch-models.sh, or set RAABTA_MODELS_DIR); free text is matched by spelling only.",
            dir.display()
        );
        tracing::warn!(dir = %dir.display(), "no language model: free text is matched by spelling only");
    }
}

pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

pub(super) async fn migrate(config: Config) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    println!("control database: up to date");
    let mut failed = 0;
    for o in app.tenancy.migrate_all().await? {
        match o.result {
            Ok(n) => println!("{}: {n} migration(s) applied", o.tenant.slug),
            Err(e) => {
                failed += 1;
                println!("{}: FAILED: {e}", o.tenant.slug);
            }
        }
    }
    if failed > 0 {
        bail!("{failed} school(s) failed to migrate; the others are up to date");
    }
    Ok(())
}
