//! Usage analytics end to end: signed commands through the real webhook count into DynamoDB;
//! `im chatops stats` computes the figures; `/dashboard`, rendered in headless Chromium, shows the
//! same numbers and draws its bars to scale.

use im_core::usage::UsageLog;
use im_tests::browser::Browser;
use serde_json::Value;

/// What the page shows: tiles by id, and each chart's bars with their data and rendered size.
const READ_PAGE: &str = r#"JSON.stringify({
  tiles: Object.fromEntries([...document.querySelectorAll('.figure')].map(e => [e.id, e.textContent])),
  charts: Object.fromEntries([...document.querySelectorAll('svg[id^=chart-]')].map(svg => [svg.id,
    [...svg.querySelectorAll('rect.bar')].map(r => {
      const box = r.getBoundingClientRect();
      return {label: r.dataset.label || r.dataset.day, value: Number(r.dataset.value), width: box.width, height: box.height};
    })])),
  images: document.querySelectorAll('img').length,
  period: document.getElementById('period').textContent,
})"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_reaches_stats_and_the_dashboard() {
    let (stack, target, base) = crate::cli::setup().await;
    let http = im::http_client().expect("client");
    // help, list, a usage error, declare, status, ack, update, escalate, assign, timeline,
    // resolve, close: eleven commands (the usage error is not one).
    for check in im::test_commands::run(&http, &target, true).await {
        assert!(check.ok, "{}", check.line());
    }
    // What this path does not produce: deliveries, mentions, another platform, an earlier day,
    // and a channel name that tries to be markup.
    let log = im_aws::usage::DynamoUsage::new(stack.clients.clone());
    let today = im::stats::today();
    let add = |day, counters: &[(&str, u64)]| {
        let counters: Vec<(String, u64)> = counters.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let log = &log;
        async move { log.add(day, &counters).await.expect("seeded") }
    };
    add(
        today,
        &[
            ("delivered|slack", 9),
            ("failed|slack|channel_not_found", 1),
            ("mentions|slack|oncall", 3),
            ("commands|discord|ops|list", 5),
            ("channels|ops|<img src=x onerror=alert(1)>", 5),
        ],
    )
    .await;
    let three_days_ago = today - time::Duration::days(3);
    add(three_days_ago, &[("commands|slack|company-slack|declare", 2)]).await;
    add(
        today - time::Duration::days(9),
        &[("commands|slack|company-slack|list", 50)],
    )
    .await;

    // `im chatops stats --since 7d`
    let stats = im::stats::read(&log, today, 7).await.expect("stats");
    assert_eq!(stats.total_commands, 18, "{stats:#?}");
    let first = &stats.commands[0];
    assert_eq!(
        (first.team.as_str(), first.command.as_str(), first.count),
        ("ops", "list", 5)
    );
    let declare = stats.commands.iter().find(|c| c.command == "declare").expect("declare");
    assert_eq!(declare.count, 3);
    for verb in [
        "help", "status", "ack", "update", "escalate", "assign", "timeline", "resolve", "close",
    ] {
        let row = stats
            .commands
            .iter()
            .find(|c| c.team == "company-slack" && c.command == verb)
            .unwrap_or_else(|| panic!("{verb} counted: {stats:#?}"));
        assert_eq!(row.count, 1, "{verb}");
    }
    assert_eq!(
        stats.time_to_acknowledge[0].count, 1,
        "the ack, timed from the declaration"
    );
    assert_eq!(stats.delivery[0].success_rate, Some(0.9));
    assert_eq!(stats.top_users[0].name, format!("company-slack:{}", target.user));
    let json_out = serde_json::to_value(&stats).expect("json");
    assert_eq!(json_out["engagement"]["notifications"], 9);
    let table = im::stats::render_table(&stats);
    assert!(table.contains("90.0 %") && table.contains("oncall"), "{table}");

    // The same figures on the page, in a real browser.
    let url = format!("{base}/dashboard?since=7d");
    let page = tokio::task::spawn_blocking(move || {
        let browser = Browser::open(&url);
        browser.evaluate(READ_PAGE)
    })
    .await
    .expect("browser");
    let page: Value = serde_json::from_str(page.as_str().expect("a JSON string")).expect("page JSON");
    assert_eq!(page["tiles"]["tile-commands"], "18");
    assert_eq!(page["tiles"]["tile-delivery"], "90.0 %");
    assert_eq!(page["tiles"]["tile-people"], "1");
    assert_eq!(
        page["tiles"]["tile-ack"].as_str(),
        Some(im::stats::seconds(stats.time_to_acknowledge[0].average).as_str())
    );
    assert_eq!(page["images"], 0, "a channel name is text, never an element");
    assert!(page["period"].as_str().is_some_and(|p| p.contains(&today.to_string())));

    let bars = page["charts"]["chart-commands"].as_array().expect("commands chart");
    assert_eq!(bars[0]["label"], "ops · discord · list");
    assert_eq!(bars[0]["value"], 5.0);
    assert_eq!(bars[1]["label"], "company-slack · slack · declare");
    let ratio = bars[1]["width"].as_f64().expect("width") / bars[0]["width"].as_f64().expect("width");
    assert!((ratio - 0.6).abs() < 0.01, "bars are drawn to scale: {ratio}");

    let days = page["charts"]["chart-per-day"].as_array().expect("per-day chart");
    assert_eq!(days.len(), 7);
    assert_eq!(days[6]["label"], today.to_string());
    assert_eq!(days[6]["value"], 16.0);
    assert_eq!(days[3]["value"], 2.0);
    assert_eq!(days[0]["height"], 0.0, "an empty day has no column");
    let tall = days[6]["height"].as_f64().expect("height");
    let short = days[3]["height"].as_f64().expect("height");
    assert!((short / tall - 2.0 / 16.0).abs() < 0.01, "{short} / {tall}");

    let mentions = page["charts"]["chart-mentions"].as_array().expect("mentions chart");
    assert_eq!(
        (mentions[0]["label"].as_str(), mentions[0]["value"].as_f64()),
        (Some("oncall"), Some(3.0))
    );
    let channels = page["charts"]["chart-channels"].as_array().expect("channels chart");
    assert_eq!(channels[0]["label"], "company-slack/C0TEST");
    assert_eq!(channels[0]["value"], 11.0);
    assert_eq!(
        channels[1]["label"], "ops/<img src=x onerror=alert(1)>",
        "shown as the text it is"
    );

    // A period that is not one is a 400 with the reason.
    let bad = http
        .get(format!("{base}/dashboard?since=forever"))
        .send()
        .await
        .expect("get");
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.expect("body").contains("7d"));
    stack.teardown().await;
}
