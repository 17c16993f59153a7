//! `cargo run -p tls`: see the library docs and `--help`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let options = tls::Options::parse();
    let running = match tls::start(&options).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tls: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("{}", running.banner());
    let _ = tokio::signal::ctrl_c().await;
    running.stop();
    std::process::ExitCode::SUCCESS
}
