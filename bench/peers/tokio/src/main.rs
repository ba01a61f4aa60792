//! tokio-bench: the workloads of shared/bench/WORKLOADS.md on tokio's
//! current-thread runtime, written the way a tokio user would. One JSON
//! line per workload, with "lib":"tokio".
//!
//!   tokio-bench [WORKLOAD [N]]
//!
//! The choices, workload by workload:
//!   spawn          the root future (block_on) tokio::spawn()s N empty
//!                  async blocks, then waits until the last has run (a
//!                  counter and a Notify, as evfut's root lets the runtime
//!                  drain: no JoinHandle is kept).
//!   pingpong       two tasks, two tokio::sync::Notify: each notifies the
//!                  other's and awaits its own.
//!   timers_*       one task per timer, sleep_until(deadline).await.
//!   timers_cancel  a window of W pinned Sleeps, each polled once (a Sleep
//!                  joins the timer wheel at its first poll); N times, the
//!                  oldest is replaced in place (Pin::set drops it: the
//!                  cancel) by a new 10 s sleep, polled once (the arm).
//!   idle_memory    N tasks, each sleep(60 s).await.
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::time::{sleep, sleep_until};

const CANCEL_WINDOW: usize = 10_000;

/// What the tasks of one workload share: leaked, so that no task pays for
/// reference counting that the C peers do not pay for either.
struct Shared {
    done: AtomicU64,
    all_done: Notify,
    lateness_ns: Vec<AtomicI64>,
}

fn shared(lateness: usize) -> &'static Shared {
    Box::leak(Box::new(Shared {
        done: AtomicU64::new(0),
        all_done: Notify::new(),
        lateness_ns: (0..lateness).map(|_| AtomicI64::new(0)).collect(),
    }))
}

impl Shared {
    /// Counts one finished task; the last of @n wakes the root.
    fn finish(&self, n: u64) {
        if self.done.fetch_add(1, Relaxed) + 1 == n {
            self.all_done.notify_one();
        }
    }

    async fn wait_all(&self, n: u64) {
        while self.done.load(Relaxed) < n {
            self.all_done.notified().await;
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime")
}

fn rusage() -> libc::rusage {
    // SAFETY: getrusage fills the struct it is given.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    }
}

fn cpu_seconds() -> f64 {
    let ru = rusage();
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn maxrss_kb() -> i64 {
    rusage().ru_maxrss as i64
}

fn print_ns_per_op(workload: &str, n: u64, elapsed: Duration) {
    println!(
        "{{\"workload\":\"{}\",\"lib\":\"tokio\",\"n\":{},\"ns_per_op\":{:.1}}}",
        workload,
        n,
        elapsed.as_nanos() as f64 / n as f64
    );
}

fn spawn(n: u64) {
    let rt = runtime();
    let s = shared(0);
    let start = Instant::now();
    rt.block_on(async move {
        for _ in 0..n {
            tokio::spawn(async move { s.finish(n) });
        }
        s.wait_all(n).await;
    });
    print_ns_per_op("spawn", n, start.elapsed());
}

fn pingpong(n: u64) {
    let rt = runtime();
    let (a, b): (&'static Notify, &'static Notify) =
        (Box::leak(Box::new(Notify::new())), Box::leak(Box::new(Notify::new())));
    let start = Instant::now();
    rt.block_on(async move {
        let ping = tokio::spawn(async move {
            for _ in 0..n {
                b.notify_one();
                a.notified().await;
            }
        });
        let pong = tokio::spawn(async move {
            for _ in 0..n {
                b.notified().await;
                a.notify_one();
            }
        });
        ping.await.expect("ping");
        pong.await.expect("pong");
    });
    print_ns_per_op("pingpong", n, start.elapsed());
}

/// The delays of WORKLOADS.md: xorshift64 seeded with 42, [1, 1000] ms.
fn delays_ms(n: u64) -> Vec<u64> {
    let mut x: u64 = 42;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            1 + x % 1000
        })
        .collect()
}

fn percentile_us(sorted: &[i64], p: f64) -> f64 {
    let i = (p * (sorted.len() - 1) as f64 + 0.5) as usize;
    sorted[i] as f64 / 1e3
}

fn timers(name: &str, n: u64, with_cost: bool) {
    let rt = runtime();
    let ms = delays_ms(n);
    let s = shared(n as usize);
    let cpu = cpu_seconds();
    rt.block_on(async move {
        let start = tokio::time::Instant::now();
        for (i, &delay) in ms.iter().enumerate() {
            let deadline = start + Duration::from_millis(delay);
            tokio::spawn(async move {
                sleep_until(deadline).await;
                let now = tokio::time::Instant::now();
                let late = if now >= deadline {
                    (now - deadline).as_nanos() as i64
                } else {
                    -((deadline - now).as_nanos() as i64)
                };
                s.lateness_ns[i].store(late, Relaxed);
                s.finish(n);
            });
        }
        s.wait_all(n).await;
    });
    let cpu = cpu_seconds() - cpu;
    let mut late: Vec<i64> = s.lateness_ns.iter().map(|l| l.load(Relaxed)).collect();
    late.sort_unstable();
    let cost = if with_cost {
        format!(",\"cpu_s\":{:.3},\"maxrss_kb\":{}", cpu, maxrss_kb())
    } else {
        String::new()
    };
    println!(
        "{{\"workload\":\"{}\",\"lib\":\"tokio\",\"n\":{}{},\"late_p50_us\":{:.1},\
         \"late_p99_us\":{:.1},\"late_max_us\":{:.1},\"late_min_us\":{:.1}}}",
        name,
        n,
        cost,
        percentile_us(&late, 0.50),
        percentile_us(&late, 0.99),
        percentile_us(&late, 1.0),
        percentile_us(&late, 0.0)
    );
}

/// Runs @f once with the task's context (std's poll_fn is newer than
/// Debian's rustc).
struct PollOnce<F>(Option<F>);

impl<F: FnOnce(&mut Context<'_>) + Unpin> Future for PollOnce<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        (self.0.take().expect("polled once"))(cx);
        Poll::Ready(())
    }
}

fn timers_cancel(n: u64) {
    let rt = runtime();
    let elapsed = rt.block_on(async move {
        let ten_s = Duration::from_secs(10);
        let mut window: Vec<Pin<Box<tokio::time::Sleep>>> =
            (0..CANCEL_WINDOW).map(|_| Box::pin(sleep(ten_s))).collect();
        PollOnce(Some(|cx: &mut Context<'_>| {
            for timer in window.iter_mut() {
                assert!(timer.as_mut().poll(cx).is_pending());
            }
        }))
        .await;
        let start = Instant::now();
        PollOnce(Some(|cx: &mut Context<'_>| {
            for i in 0..n as usize {
                let timer = &mut window[i % CANCEL_WINDOW];
                timer.set(sleep(ten_s));
                assert!(timer.as_mut().poll(cx).is_pending());
            }
        }))
        .await;
        start.elapsed()
    });
    print_ns_per_op("timers_cancel", n, elapsed);
}

fn idle_memory(n: u64) {
    let rt = runtime();
    let s = shared(0);
    let before = maxrss_kb();
    rt.block_on(async move {
        for _ in 0..n {
            tokio::spawn(async move {
                s.finish(n); // parked: counted before the sleep is awaited
                sleep(Duration::from_secs(60)).await;
            });
        }
        s.wait_all(n).await;
        // The last task counted itself just before its sleep's first
        // poll: let it reach it.
        tokio::task::yield_now().await;
    });
    let after = maxrss_kb();
    println!(
        "{{\"workload\":\"idle_memory\",\"lib\":\"tokio\",\"n\":{},\"bytes_per_task\":{:.1}}}",
        n,
        (after - before) as f64 * 1024.0 / n as f64
    );
    // Dropping a million parked tasks measures nothing.
    std::mem::forget(rt);
}

fn main() {
    let workloads: [(&str, fn(u64), u64); 6] = [
        ("spawn", spawn, 1_000_000),
        ("pingpong", pingpong, 10_000_000),
        ("timers_fire", |n| timers("timers_fire", n, true), 1_000_000),
        ("timers_light", |n| timers("timers_light", n, false), 10_000),
        ("timers_cancel", timers_cancel, 1_000_000),
        ("idle_memory", idle_memory, 1_000_000),
    ];
    let args: Vec<String> = std::env::args().collect();
    let names: Vec<&str> = workloads.iter().map(|w| w.0).collect();
    let usage = || -> ! {
        eprintln!("usage: tokio-bench [WORKLOAD [N]]\nworkloads: {}", names.join(" "));
        std::process::exit(2)
    };
    if args.len() == 1 {
        for (_, run, n) in workloads.iter() {
            run(*n);
        }
        return;
    }
    let (run, default_n) = match workloads.iter().find(|w| w.0 == args[1]) {
        Some(&(_, run, n)) => (run, n),
        None => usage(),
    };
    let n = match args.get(2) {
        None => default_n,
        Some(text) => match text.parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => usage(),
        },
    };
    run(n);
}
