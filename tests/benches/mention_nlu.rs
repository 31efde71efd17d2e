//! Understanding a mention: `im_core::nlu::understand` over the documentation's examples and
//! the whole corpus (`tests/nlu/corpus.jsonl`), per sentence. Target: well under 1 ms (it is
//! microseconds); reported per example so a slow rule shows by name.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use im_core::nlu::understand;

const EXAMPLES: [&str; 8] = [
    "what incidents are currently open?",
    "show me the status of INC-2024-001",
    "how many SEV-1 incidents this week?",
    "who is on call for payments service?",
    "create an incident for API errors",
    "acknowledge INC-2024-001",
    "resolve the database incident",
    "escalate to SEV-1",
];

fn corpus() -> Vec<String> {
    im_tests::nlu_lines("corpus.jsonl")
        .iter()
        .map(|l| l["text"].as_str().expect("text").to_string())
        .collect()
}

fn bench(c: &mut Criterion) {
    let services = im_tests::nlu_services();
    let mut group = c.benchmark_group("nlu");
    for example in EXAMPLES {
        // The adapter's reading is the platform's work; the bench measures understanding.
        let said = im_slack::text::segments(example, "acme");
        group.bench_function(example, |b| {
            b.iter(|| understand(std::hint::black_box(&said), &services))
        });
    }
    let lines: Vec<_> = corpus().iter().map(|l| im_slack::text::segments(l, "acme")).collect();
    group.bench_function(format!("whole corpus ({} sentences)", lines.len()), |b| {
        b.iter(|| {
            for line in &lines {
                std::hint::black_box(understand(line, &services));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
