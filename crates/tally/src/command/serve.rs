//! `tally serve`: the Web API.

use std::net::SocketAddr;

use anyhow::Context as _;

use super::database::{DatabaseArgs, describe, load_demo, open};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "TALLY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    db: DatabaseArgs,
    /// Load demo metadata and the user admin/district into an empty database.
    #[arg(long)]
    demo: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let app = open(&args.db.database)?;
    if args.demo && load_demo(&app)? {
        tracing::info!("demo data loaded: log in as admin / district");
    }
    let resumed = app.resume_jobs()?;
    if resumed > 0 {
        tracing::info!(resumed, "resumed unfinished import jobs");
    }
    // On PostgreSQL other processes may share the database: pick up their metadata
    // changes (within a quarter second) and the jobs of processes that died.
    app.start_sync(std::time::Duration::from_millis(250));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        tracing::info!(
            "tally listening on http://{}/api (database {})",
            listener.local_addr()?,
            describe(&args.db.database)
        );
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        tally_http::serve(listener, tally_http::AppState { app }, shutdown)
            .await
            .context("serving")
    })
}
