//! A loopback load test of tokenkit's `AuthLayer` against bare axum and against the
//! middleware most services hand-write around `jsonwebtoken::decode`.
//!
//! ```text
//! cargo run --release -p loadtest -- [--seconds 5] [--connections 32] [--rounds 5]
//!                                    [--server-threads 1] [--only VARIANT,...]
//! ```
//!
//! Each server runs as its own child process on 127.0.0.1 (so its CPU time can be
//! read from `/proc`) and is warmed up. Then, round after round, every server in turn
//! is driven with a fixed number of keep-alive connections for its share of the time
//! (`--seconds` split over `--rounds`), so a neighbour's burst on a shared machine
//! lands on every server alike instead of on whichever ran at that moment. Each
//! round's ratios are taken against bare axum measured in the same round; the report
//! gives their medians (and range), requests/s, p50/p99 latency and server CPU per
//! request. Loopback only; nothing else runs.

mod load;
mod report;
mod server;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clap::Parser;
use server::Variant;

#[derive(Debug, Parser)]
#[command(about = "Loopback load test: bare axum vs jsonwebtoken middleware vs AuthLayer")]
struct Args {
    /// Seconds of measured load per server in all (after one second of warm-up),
    /// split evenly over the rounds.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// The load generator's HTTP client.
    #[arg(long, value_enum, default_value = "hyper")]
    client: load::Client,
    /// Offer this many requests/s in all instead of as many as the server answers.
    /// Latency then counts from each request's scheduled send time, not its actual
    /// one, so a server that falls behind is not flattered (coordinated omission).
    #[arg(long)]
    rate: Option<u32>,
    /// Rounds: each drives every server once, in alternating order.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// Worker threads of each server (the driver uses one thread).
    #[arg(long, default_value_t = 1)]
    server_threads: usize,
    /// Run only these servers (bare axum always runs, as the baseline).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Variant>,
    /// Internal: run one server (used by the driver for its child processes).
    #[arg(long, value_enum, hide = true)]
    serve: Option<Variant>,
}

pub(crate) struct Running {
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
    let mut child = Command::new(exe)
        .args([
            "--serve",
            &variant.arg(),
            "--server-threads",
            &threads.to_string(),
        ])
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

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    if let Some(variant) = args.serve {
        return server::run(variant, args.server_threads);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let variants: Vec<Variant> = Variant::ALL
        .into_iter()
        .filter(|v| *v == Variant::Bare || args.only.is_empty() || args.only.contains(v))
        .collect();
    let rounds = args.rounds.max(1);
    let share = Duration::from_secs(args.seconds) / rounds;
    println!(
        "{} s per server in {} rounds, {} connections, {} server thread(s), loopback\n",
        args.seconds, rounds, args.connections, args.server_threads
    );
    let servers = variants
        .iter()
        .map(|v| spawn(*v, args.server_threads))
        .collect::<std::io::Result<Vec<_>>>()?;
    for s in &servers {
        rt.block_on(load::drive(
            s,
            args.client,
            args.connections,
            Duration::from_secs(1),
            None,
        ))?;
    }
    let mut runs: Vec<Vec<load::Measured>> = vec![Vec::new(); servers.len()];
    for round in 0..rounds {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..servers.len()).collect()
        } else {
            (0..servers.len()).rev().collect()
        };
        for i in order {
            let s = &servers[i];
            let pid = s.child.id();
            let (cpu_before, user_before) = (load::cpu_nanos(pid)?, load::user_nanos(pid)?);
            let mut m = rt.block_on(load::drive(
                s,
                args.client,
                args.connections,
                share,
                args.rate,
            ))?;
            m.cpu_nanos = load::cpu_nanos(pid)?.saturating_sub(cpu_before);
            m.user_nanos = load::user_nanos(pid)?.saturating_sub(user_before);
            runs[i].push(m);
        }
    }
    drop(servers);
    if let Some(rate) = args.rate {
        println!(
            "paced at {rate} requests/s in all: latency counts from each request's scheduled \
             send time, so waiting behind a slow answer is included (no coordinated omission)"
        );
    }
    report::print(&variants, &runs);
    Ok(())
}
