//! The load: a fixed number of keep-alive HTTP/1.1 connections on loopback, each
//! sending requests back to back for a fixed time, with every latency recorded.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;

/// What one run measured.
#[derive(Debug, Clone)]
pub(crate) struct Measured {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) elapsed: Duration,
    /// Sorted latencies in microseconds.
    pub(crate) latencies: Vec<u32>,
}

impl Measured {
    #[allow(clippy::cast_precision_loss)] // a report, not arithmetic
    pub(crate) fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The `per_mille`-th latency (500 = median, 990 = p99).
    pub(crate) fn percentile(&self, per_mille: usize) -> u32 {
        let last = self.latencies.len().saturating_sub(1);
        self.latencies
            .get((last * per_mille.min(1000)).div_ceil(1000))
            .copied()
            .unwrap_or(0)
    }
}

/// Drives `port` with `connections` connections for `duration`.
pub(crate) async fn drive(
    port: u16,
    header: &str,
    value: &str,
    connections: usize,
    duration: Duration,
) -> std::io::Result<Measured> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (header, value) = (header.to_owned(), value.to_owned());
        tasks.push(tokio::spawn(async move {
            one(port, &header, &value, deadline).await
        }));
    }
    let mut all = Measured {
        requests: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for t in tasks {
        let m = t.await.map_err(std::io::Error::other)??;
        all.requests += m.requests;
        all.errors += m.errors;
        all.latencies.extend(m.latencies);
    }
    all.elapsed = started.elapsed();
    all.latencies.sort_unstable();
    Ok(all)
}

async fn one(port: u16, header: &str, value: &str, deadline: Instant) -> std::io::Result<Measured> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    let mut m = Measured {
        requests: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::with_capacity(100_000),
    };
    while Instant::now() < deadline {
        let request = Request::get("/hello")
            .header("host", "127.0.0.1")
            .header(header, value)
            .body(Empty::<Bytes>::new())
            .map_err(std::io::Error::other)?;
        let t = Instant::now();
        sender.ready().await.map_err(std::io::Error::other)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(std::io::Error::other)?;
        let ok = response.status().is_success();
        response
            .into_body()
            .collect()
            .await
            .map_err(std::io::Error::other)?;
        m.latencies
            .push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
        m.requests += 1;
        if !ok {
            m.errors += 1;
        }
    }
    Ok(m)
}

/// CPU time (user + system, all threads) of process `pid` in microseconds, from
/// `/proc/<pid>/stat` (in `USER_HZ` = 100 ticks per second).
pub(crate) fn cpu_micros(pid: u32) -> std::io::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| std::io::Error::other("unexpected /proc stat format"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the full line: 12 and 13 after ')'.
    Ok((tick(11) + tick(12)) * 10_000)
}
