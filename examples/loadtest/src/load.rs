//! The load: a fixed number of keep-alive HTTP/1.1 connections on loopback, each
//! sending requests back to back for a fixed time, with every latency recorded.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;

use crate::Running;

/// What one drive of one server measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct Measured {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) elapsed: Duration,
    /// Latencies in microseconds, unsorted.
    pub(crate) latencies: Vec<u32>,
    /// Paced only: how late the driver sent each request after its scheduled time, µs.
    pub(crate) late: Vec<u32>,
    /// The server process's CPU time (all threads, user + system) meanwhile.
    pub(crate) cpu_nanos: u64,
    /// The part of it spent in user mode (10 ms resolution).
    pub(crate) user_nanos: u64,
}

impl Measured {
    #[allow(clippy::cast_precision_loss)] // a report, not arithmetic
    pub(crate) fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    #[allow(clippy::cast_precision_loss)] // a report, not arithmetic
    pub(crate) fn cpu_micros_per_request(&self) -> f64 {
        self.cpu_nanos as f64 / 1000.0 / self.requests.max(1) as f64
    }

    #[allow(clippy::cast_precision_loss)] // a report, not arithmetic
    pub(crate) fn user_micros_per_request(&self) -> f64 {
        self.user_nanos as f64 / 1000.0 / self.requests.max(1) as f64
    }
}

/// Which HTTP/1.1 client drives the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Client {
    /// Writes one pre-encoded request and reads the response with `httparse`, as wrk
    /// does: a few system calls per request, so the server under test, not the
    /// driver, is what limits throughput.
    Raw,
    /// hyper's HTTP/1 client connection. On a small machine it costs more per request
    /// than a bare server, so it can end up the bottleneck.
    Hyper,
}

/// Drives `server` with `connections` connections for `duration`.
pub(crate) async fn drive(
    server: &Running,
    client: Client,
    connections: usize,
    duration: Duration,
    rate: Option<u32>,
) -> std::io::Result<Measured> {
    let started = Instant::now();
    let deadline = started + duration;
    // Paced: each connection sends at its share of `rate`, on a fixed schedule.
    let pace = rate.map(|r| {
        Duration::from_secs(1) * u32::try_from(connections).unwrap_or(u32::MAX) / r.max(1)
    });
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (port, header, value) = (server.port, server.header.clone(), server.value.clone());
        tasks.push(tokio::spawn(async move {
            match client {
                Client::Raw => raw(port, &header, &value, Schedule::new(deadline, pace)).await,
                Client::Hyper => one(port, &header, &value, Schedule::new(deadline, pace)).await,
            }
        }));
    }
    let mut all = Measured::default();
    for t in tasks {
        let m = t.await.map_err(std::io::Error::other)??;
        all.requests += m.requests;
        all.errors += m.errors;
        all.latencies.extend(m.latencies);
        all.late.extend(m.late);
    }
    all.elapsed = started.elapsed();
    Ok(all)
}

/// When a request's latency starts. Paced, at its scheduled send time, not the time
/// it actually went out: a server that falls behind delays the sends that follow, and
/// timing from the late send would leave that wait out (coordinated omission).
/// Unpaced (closed loop), a request is due when the previous answer arrived, so it
/// is timed from its send.
#[derive(Clone, Copy)]
struct Due(Option<Instant>);

/// How close to a paced request's slot the driver stops sleeping and yields instead.
const SPIN: Duration = Duration::from_millis(2);

/// One connection's schedule and tally, whichever client sends.
struct Schedule {
    deadline: Instant,
    /// Paced: the fixed interval between this connection's requests.
    pace: Option<Duration>,
    next: Instant,
    m: Measured,
}

impl Schedule {
    fn new(deadline: Instant, pace: Option<Duration>) -> Self {
        Schedule {
            deadline,
            pace,
            next: Instant::now(),
            m: Measured {
                latencies: Vec::with_capacity(100_000),
                ..Measured::default()
            },
        }
    }

    /// Waits for the next request's slot; `None` once the time is up.
    async fn next(&mut self) -> Option<Due> {
        if Instant::now() >= self.deadline {
            return None;
        }
        match self.pace {
            Some(interval) => {
                self.next += interval;
                // tokio's timer fires up to a millisecond late: sleep to within
                // `SPIN` of the slot, then yield until it comes, so the driver's own
                // lateness stays small against what it measures.
                if let Some(coarse) = self.next.checked_sub(SPIN) {
                    tokio::time::sleep_until(coarse.into()).await;
                }
                while Instant::now() < self.next {
                    tokio::task::yield_now().await;
                }
                Some(Due(Some(self.next)))
            }
            None => Some(Due(None)),
        }
    }

    /// Called just before a request is written: the time its latency counts from.
    /// Paced, also notes how late the driver sends it (its own timer and scheduling),
    /// which the paced latencies include.
    fn start(&mut self, due: Due) -> Instant {
        let now = Instant::now();
        match due.0 {
            Some(scheduled) => {
                let late = now.saturating_duration_since(scheduled).as_micros();
                self.m.late.push(u32::try_from(late).unwrap_or(u32::MAX));
                scheduled
            }
            None => now,
        }
    }

    /// Counts a request timed from `start` ([`Schedule::start`]) whose response was
    /// (or was not) a 2xx.
    fn record(&mut self, start: Instant, ok: bool) {
        let micros = u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX);
        self.m.latencies.push(micros);
        self.m.requests += 1;
        if !ok {
            self.m.errors += 1;
        }
    }
}

/// One connection of the raw client: the request's bytes are built once; each
/// response is read until its `Content-Length` is complete.
async fn raw(
    port: u16,
    header: &str,
    value: &str,
    mut schedule: Schedule,
) -> std::io::Result<Measured> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let request = format!("GET /hello HTTP/1.1\r\nhost: 127.0.0.1\r\n{header}: {value}\r\n\r\n");
    let mut buf = vec![0u8; 16 * 1024];
    while let Some(due) = schedule.next().await {
        let t = schedule.start(due);
        stream.write_all(request.as_bytes()).await?;
        let mut filled = 0;
        let (status, body_end) = loop {
            if filled == buf.len() {
                return Err(std::io::Error::other("response head over 16 KiB"));
            }
            let n = stream.read(&mut buf[filled..]).await?;
            if n == 0 {
                return Err(std::io::Error::other("the server closed the connection"));
            }
            filled += n;
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = response
                .parse(&buf[..filled])
                .map_err(std::io::Error::other)?
            {
                let length = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| {
                        std::str::from_utf8(h.value)
                            .ok()?
                            .trim()
                            .parse::<usize>()
                            .ok()
                    })
                    .ok_or_else(|| std::io::Error::other("response without Content-Length"))?;
                break (response.code.unwrap_or(0), head + length);
            }
        };
        if body_end > buf.len() {
            return Err(std::io::Error::other("response body over 16 KiB"));
        }
        while filled < body_end {
            let n = stream.read(&mut buf[filled..body_end]).await?;
            if n == 0 {
                return Err(std::io::Error::other("the server closed the connection"));
            }
            filled += n;
        }
        if filled > body_end {
            return Err(std::io::Error::other("more bytes than one response"));
        }
        schedule.record(t, (200..300).contains(&status));
    }
    Ok(schedule.m)
}

/// One connection of the hyper client.
async fn one(
    port: u16,
    header: &str,
    value: &str,
    mut schedule: Schedule,
) -> std::io::Result<Measured> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    while let Some(due) = schedule.next().await {
        let request = Request::get("/hello")
            .header("host", "127.0.0.1")
            .header(header, value)
            .body(Empty::<Bytes>::new())
            .map_err(std::io::Error::other)?;
        let t = schedule.start(due);
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
        schedule.record(t, ok);
    }
    Ok(schedule.m)
}

/// CPU time of process `pid` (all its threads, user + system) in nanoseconds: the sum
/// of the first field of `/proc/<pid>/task/*/schedstat` (nanosecond resolution; the
/// servers' threads live as long as the process). Falls back to `/proc/<pid>/stat`
/// (10 ms ticks) where schedstat is missing.
pub(crate) fn cpu_nanos(pid: u32) -> std::io::Result<u64> {
    let mut total = 0u64;
    let mut found = false;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("schedstat");
        // A thread may exit between listing and reading: skip it.
        let ns = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
        if let Some(ns) = ns {
            total += ns;
            found = true;
        }
    }
    if found {
        Ok(total)
    } else {
        let (user, system) = stat_nanos(pid)?;
        Ok(user + system)
    }
}

/// User-mode CPU time of process `pid` in nanoseconds (10 ms resolution).
pub(crate) fn user_nanos(pid: u32) -> std::io::Result<u64> {
    Ok(stat_nanos(pid)?.0)
}

/// User and system time from `/proc/<pid>/stat` (in `USER_HZ` = 100 ticks per second).
fn stat_nanos(pid: u32) -> std::io::Result<(u64, u64)> {
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
    Ok((tick(11) * 10_000_000, tick(12) * 10_000_000))
}
