//! A loopback load test of tokenkit's `AuthLayer` against bare axum and against the
//! middleware most services hand-write around `jsonwebtoken::decode`.
//!
//! ```text
//! cargo run --release -p loadtest -- [--seconds 5] [--connections 32] [--server-threads 1]
//! ```
//!
//! Each server runs as its own child process on 127.0.0.1 (so its CPU time can be
//! read from `/proc`), is warmed up, then driven with a fixed number of keep-alive
//! connections for a fixed time. It prints requests/s, p50/p99 latency, server CPU
//! per request, and each as a ratio to bare axum. Loopback only; nothing else runs.

mod load;
mod server;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clap::Parser;
use server::Variant;

#[derive(Debug, Parser)]
#[command(about = "Loopback load test: bare axum vs jsonwebtoken middleware vs AuthLayer")]
struct Args {
    /// Seconds of measured load per server (after one second of warm-up).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Worker threads of each server (the driver uses one thread).
    #[arg(long, default_value_t = 1)]
    server_threads: usize,
    /// Internal: run one server (used by the driver for its child processes).
    #[arg(long, value_enum, hide = true)]
    serve: Option<Variant>,
}

struct Running {
    child: Child,
    port: u16,
    header: String,
    value: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(variant: Variant, threads: usize) -> std::io::Result<Running> {
    let exe = std::env::current_exe()?;
    let name = format!("{variant:?}").to_lowercase();
    let name = match name.as_str() {
        "layerhs256" => "layer-hs256",
        "layerhs256uncached" => "layer-hs256-uncached",
        "layereddsa" => "layer-eddsa",
        "layerapikey" => "layer-api-key",
        other => other,
    }
    .to_owned();
    let mut child = Command::new(exe)
        .args(["--serve", &name, "--server-threads", &threads.to_string()])
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let mut next = || {
        lines
            .next()
            .transpose()?
            .ok_or_else(|| std::io::Error::other("the server exited before it was ready"))
    };
    let port = next()?.parse().map_err(std::io::Error::other)?;
    let (header, value) = (next()?, next()?);
    Ok(Running {
        child,
        port,
        header,
        value,
    })
}

#[allow(clippy::cast_precision_loss)] // a report, not arithmetic
fn main() -> std::io::Result<()> {
    let args = Args::parse();
    if let Some(variant) = args.serve {
        return server::run(variant, args.server_threads);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let variants = [
        ("bare axum", Variant::Bare),
        ("from_fn + jsonwebtoken (HS256)", Variant::Jsonwebtoken),
        ("AuthLayer, HS256 JWT (cache)", Variant::LayerHs256),
        (
            "AuthLayer, HS256 JWT, no cache",
            Variant::LayerHs256Uncached,
        ),
        ("AuthLayer, EdDSA JWT (cache)", Variant::LayerEddsa),
        ("AuthLayer, API key", Variant::LayerApiKey),
    ];
    println!(
        "{} s per server, {} connections, {} server thread(s), loopback\n",
        args.seconds, args.connections, args.server_threads
    );
    println!(
        "{:<32} {:>10} {:>7} {:>8} {:>8} {:>12} {:>9}",
        "server", "req/s", "x bare", "p50 µs", "p99 µs", "CPU µs/req", "+µs/req"
    );
    let mut bare: Option<(f64, f64)> = None;
    for (label, variant) in variants {
        let server = spawn(variant, args.server_threads)?;
        let pid = server.child.id();
        rt.block_on(load::drive(
            server.port,
            &server.header,
            &server.value,
            args.connections,
            Duration::from_secs(1),
        ))?;
        let cpu_before = load::cpu_micros(pid)?;
        let m = rt.block_on(load::drive(
            server.port,
            &server.header,
            &server.value,
            args.connections,
            Duration::from_secs(args.seconds),
        ))?;
        let cpu =
            load::cpu_micros(pid)?.saturating_sub(cpu_before) as f64 / m.requests.max(1) as f64;
        drop(server);
        let rps = m.per_second();
        let (base_rps, base_cpu) = *bare.get_or_insert((rps, cpu));
        println!(
            "{:<32} {:>10.0} {:>7.2} {:>8} {:>8} {:>12.1} {:>9.1}{}",
            label,
            rps,
            rps / base_rps,
            m.percentile(500),
            m.percentile(990),
            cpu,
            cpu - base_cpu,
            if m.errors > 0 {
                format!("  ({} non-2xx!)", m.errors)
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
