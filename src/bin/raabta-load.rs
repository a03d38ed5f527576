//! Load tool: sends signed Meta WhatsApp webhooks to a running `raabta serve` and hosts
//! a fake Graph API that counts the replies. Reports acknowledged webhooks per second,
//! acknowledgement latency percentiles, and end-to-end replies per second.
//! Only loopback targets are allowed. See scripts/load.sh and BENCHMARKS.md.

use anyhow::{bail, Context};
use axum::extract::State;
use axum::Router;
use clap::Parser;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Webhook load tool for Raabta (loopback only)")]
struct Args {
    /// Base URL of the server under test, e.g. http://127.0.0.1:18181
    #[arg(long)]
    target: String,
    /// Where the fake Graph API listens (the channel's --api-base points here).
    #[arg(long, default_value = "127.0.0.1:18182")]
    fake_listen: String,
    #[arg(long)]
    app_secret: String,
    #[arg(long)]
    phone_number_id: String,
    /// Webhooks to send (one message each).
    #[arg(long, default_value_t = 10_000)]
    requests: u64,
    #[arg(long, default_value_t = 64)]
    concurrency: u64,
    /// Distinct parents sending (conversations).
    #[arg(long, default_value_t = 1_000)]
    senders: u64,
    /// Give up waiting for replies after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// The message each parent sends. It must get exactly one reply whatever the
    /// conversation's state: "help" does (the flow engine answers it everywhere, and a
    /// sender who is not logged in gets the login help).
    #[arg(long, default_value = "help")]
    text: String,
    /// Replies each message gets: 1 for "help"; a stranger's first question to the
    /// enquiry bot gets 3 (the greeting, the answer, "anything else?"), so a strangers'
    /// run sends one question per sender (`--requests` = `--senders`) with `--replies 3`.
    #[arg(long, default_value_t = 1)]
    replies: u64,
}

async fn fake_graph(State(count): State<Arc<AtomicU64>>) -> String {
    let n = count.fetch_add(1, Ordering::Relaxed) + 1;
    format!(r#"{{"messaging_product":"whatsapp","messages":[{{"id":"wamid.load{n}"}}]}}"#)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let loopback =
        |s: &str| s.contains("127.0.0.1") || s.contains("localhost") || s.contains("[::1]");
    if !loopback(&args.target) || !loopback(&args.fake_listen) {
        bail!("the load tool only targets loopback addresses");
    }
    let sends = Arc::new(AtomicU64::new(0));
    let listener = tokio::net::TcpListener::bind(&args.fake_listen)
        .await
        .with_context(|| format!("fake provider cannot listen on {}", args.fake_listen))?;
    let fake = Router::new().fallback(fake_graph).with_state(sends.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, fake).await;
    });

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency as usize)
        .build()?;
    let url = format!("{}/webhooks/meta", args.target.trim_end_matches('/'));
    let next = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (client, url, next, failures) =
            (client.clone(), url.clone(), next.clone(), failures.clone());
        let (secret, phone_id, total, senders) = (
            args.app_secret.clone(),
            args.phone_number_id.clone(),
            args.requests,
            args.senders.max(1),
        );
        let text = serde_json::to_string(&args.text)?;
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let from = format!("92300{:07}", i % senders);
                let body = format!(
                    r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"1","phone_number_id":"{phone_id}"}},"contacts":[{{"profile":{{"name":"Load"}},"wa_id":"{from}"}}],"messages":[{{"from":"{from}","id":"wamid.LOAD{i}","timestamp":"1763971200","type":"text","text":{{"body":{text}}}}}]}}}}]}}]}}"#
                );
                let sig = raabta::channel::meta::signature(&secret, body.as_bytes());
                let t = Instant::now();
                let res = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", sig)
                    .body(body)
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => latencies.push(t.elapsed()),
                    _ => {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await?);
    }
    let ack_elapsed = started.elapsed();
    latencies.sort();
    let acked = latencies.len() as u64;
    println!(
        "acknowledged {acked} of {} webhooks in {:.2}s: {:.0}/s; ack latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} failed",
        args.requests,
        ack_elapsed.as_secs_f64(),
        acked as f64 / ack_elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        failures.load(Ordering::Relaxed)
    );
    let expected = acked * args.replies.max(1);
    let deadline = started + Duration::from_secs(args.timeout);
    while sends.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let e2e = started.elapsed();
    let replied = sends.load(Ordering::Relaxed);
    println!(
        "end to end: {replied} replies received by the fake provider in {:.2}s: {:.0} replies/s, {:.0} messages answered/s",
        e2e.as_secs_f64(),
        replied as f64 / e2e.as_secs_f64(),
        (replied / args.replies.max(1)) as f64 / e2e.as_secs_f64()
    );
    if replied != expected {
        bail!("{acked} acknowledged ({expected} replies expected) but {replied} replied");
    }
    Ok(())
}
