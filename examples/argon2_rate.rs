//! argon2id hashes per second with the crate Gatehouse hashes passwords with, at the given
//! parameters, one thread per core each reusing its own work area (as the password pool does).
//! `./bench/run` prints it beside the C reference implementation's rate, the bound a sign-in
//! flow (one password check each) is compared with.
//!
//!     cargo run --release --example argon2_rate -- [memory_kib] [iterations] [seconds]
//!
//! Prints one line of JSON: `{"hashes":N,"seconds":S,"per_sec":R,"threads":T}`.
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};

fn main() {
    let arg = |i: usize, default: u64| -> u64 {
        std::env::args()
            .nth(i)
            .map(|s| s.parse().expect("arguments are whole numbers"))
            .unwrap_or(default)
    };
    let (memory_kib, iterations, seconds) = (arg(1, 19_456), arg(2, 2), arg(3, 5));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let params =
        Params::new(memory_kib as u32, iterations as u32, 1, Some(32)).expect("parameters");
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let hashes: u64 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let params = params.clone();
                s.spawn(move || {
                    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
                    let mut area = vec![Block::new(); params.block_count()];
                    let mut out = [0u8; 32];
                    let mut n = 0u64;
                    while Instant::now() < until {
                        argon
                            .hash_password_into_with_memory(
                                b"password",
                                b"saltsaltsalt",
                                &mut out,
                                &mut area,
                            )
                            .expect("hash");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).sum()
    });
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"hashes\":{hashes},\"seconds\":{secs:.3},\"per_sec\":{:.1},\"threads\":{threads}}}",
        hashes as f64 / secs
    );
}
