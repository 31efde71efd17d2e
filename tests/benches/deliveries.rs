//! 1,000 deliveries across 50 channels against the strict fake Slack (one post per second per
//! channel): how close the notifier gets to the rate-limit bound, and how many 429s it causes.
//! Target: within 110% of the bound, zero 429s. Run with `make bench` (starts the emulator).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use im_core::Severity;
use im_tests::pipeline::{Pipeline, synthetic_event};

const CHANNELS: usize = 50;
const DELIVERIES: usize = 1000;

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        eprintln!("deliveries: needs the local emulator (make bench starts it)");
        return;
    }
    let p = Pipeline::start(false).await;
    let channels: Vec<String> = (0..CHANNELS).map(|i| format!("C_B{i:02}")).collect();
    let refs: Vec<&str> = channels.iter().map(String::as_str).collect();
    p.slack.with_channels(&refs);
    // Warm-up (not timed): one delivery elsewhere, so the emulator's first-use setup and the
    // notifier's caches (provider, secret, HTTP client, round-trip estimate) are not measured.
    p.slack.with_channels(&["C_WARMUP"]);
    p.enqueue(&[p.job(&synthetic_event(99_999, Severity::Sev3), "C_WARMUP")])
        .await;
    p.drain(1, Duration::from_secs(60)).await;
    let jobs: Vec<_> = (0..DELIVERIES)
        .map(|n| p.job(&synthetic_event(n as u64, Severity::Sev3), &channels[n % CHANNELS]))
        .collect();
    p.enqueue(&jobs).await;
    let started = Instant::now();
    p.drain(5, Duration::from_secs(300)).await;
    // Measured to the last post accepted by the fake (drain() then waits for quiet queues).
    let last = p
        .slack
        .all_messages()
        .iter()
        .filter(|m| m.channel != "C_WARMUP")
        .map(|m| m.at)
        .max();
    let elapsed = last
        .map(|l| l.duration_since(started))
        .unwrap_or_else(|| started.elapsed());
    let delivered: usize = channels.iter().map(|c| p.slack.top_level(c).len()).sum();
    let per_channel = DELIVERIES / CHANNELS;
    // One post per second per channel: 1,000 posts over 50 channels need 20 s of rate budget
    // (the rate bound); the last of 20 posts in a channel cannot go before 19 s (the makespan
    // bound, if the first post left at exactly zero).
    let rate_bound = Duration::from_secs(per_channel as u64);
    let makespan_bound = Duration::from_secs((per_channel - 1) as u64);
    let ratio = elapsed.as_secs_f64() / rate_bound.as_secs_f64();
    println!(
        "deliveries: {delivered}/{DELIVERIES} across {CHANNELS} channels in {:.2} s",
        elapsed.as_secs_f64()
    );
    println!(
        "rate bound {:.0} s: ratio {ratio:.3} (target ≤ 1.10); makespan bound {:.0} s: ratio {:.3}",
        rate_bound.as_secs_f64(),
        makespan_bound.as_secs_f64(),
        elapsed.as_secs_f64() / makespan_bound.as_secs_f64()
    );
    println!("429s received: {} (target 0)", p.slack.rate_limited());
    let first = p
        .slack
        .all_messages()
        .iter()
        .filter(|m| m.channel != "C_WARMUP")
        .map(|m| m.at)
        .min();
    if let Some(first) = first {
        println!(
            "first post {:.2} s after the jobs were queued",
            first.duration_since(started).as_secs_f64()
        );
        for channel in [&channels[0], &channels[25]] {
            let times: Vec<String> = p
                .slack
                .top_level(channel)
                .iter()
                .map(|m| format!("{:.1}", m.at.duration_since(first).as_secs_f64()))
                .collect();
            println!("{channel}: posts at {}", times.join(" "));
        }
    }
    let store = &p.notifier.store;
    let (used, missed, by) = (
        store.slots_used.load(std::sync::atomic::Ordering::Relaxed),
        store.slots_missed.load(std::sync::atomic::Ordering::Relaxed),
        store.missed_by_ms.load(std::sync::atomic::Ordering::Relaxed),
    );
    println!(
        "held slots: {used} used, {missed} missed (by {} ms on average)",
        by.checked_div(missed).unwrap_or(0)
    );
    let verdict = delivered == DELIVERIES && ratio <= 1.10 && p.slack.rate_limited() == 0;
    println!("{}", if verdict { "PASS" } else { "MISS" });
    p.stack.teardown().await;
}
