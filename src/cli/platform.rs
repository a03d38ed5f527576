//! `raabta platform …`: the platform's own accounts (the Meta app).

use clap::Subcommand;
use raabta::app::App;
use raabta::config::Config;

#[derive(Subcommand)]
pub(super) enum PlatformCmd {
    /// The platform's Meta app, whose secret signs every school's WhatsApp Cloud API
    /// webhooks. `RAABTA_META_APP_SECRET` and `RAABTA_META_VERIFY_TOKEN`, when set,
    /// win over the stored one.
    #[command(subcommand)]
    MetaApp(MetaAppCmd),
}

#[derive(Subcommand)]
pub(super) enum MetaAppCmd {
    /// Store the platform's Meta app secret and verify token (sealed with the master key).
    Set {
        #[arg(long, env = "RAABTA_PLATFORM_META_APP_SECRET", hide_env_values = true)]
        app_secret: String,
        #[arg(
            long,
            env = "RAABTA_PLATFORM_META_VERIFY_TOKEN",
            hide_env_values = true
        )]
        verify_token: String,
        /// Also make every Meta channel that holds an app secret of its own use the
        /// platform's app (after rotating the old shared secret at Meta).
        #[arg(long)]
        adopt_meta_channels: bool,
    },
}

pub(super) async fn platform_cmd(config: Config, cmd: PlatformCmd) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    match cmd {
        PlatformCmd::MetaApp(MetaAppCmd::Set {
            app_secret,
            verify_token,
            adopt_meta_channels,
        }) => {
            let meta = raabta::routing::PlatformMetaApp::new(app_secret, verify_token);
            raabta::routing::set_platform_meta_app(&app.tenancy, &meta).await?;
            if adopt_meta_channels {
                let n = raabta::routing::adopt_platform_meta_app(&app.tenancy).await?;
                println!("{n} Meta channel(s) now use the platform's app");
            }
            println!(
                "the platform's Meta app is stored; running servers use it within {}s{}",
                raabta::app::REGISTRY_REFRESH.as_secs(),
                if app.config.meta_app.is_some() {
                    " (but RAABTA_META_APP_SECRET is set here and wins)"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}
