//! `cargo run -p quickstart`: see the library docs and `--help`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let options = quickstart::Options::parse();
    let running = match quickstart::start(&options).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("quickstart: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("{}", running.banner(&options));
    shutdown_signal().await;
    let stats = running.stop().await;
    eprintln!(
        "quickstart: stopped; audit events received {}, dropped {}",
        stats.received, stats.dropped
    );
    std::process::ExitCode::SUCCESS
}

/// Ctrl-C or SIGTERM: either stops the server and flushes the audit log.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
