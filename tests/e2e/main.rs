//! End-to-end tests over the local AWS emulator (`make test` starts it).

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod analytics;
mod api;
mod cli;
mod delivery;
mod discord;
mod discord_events;
mod documented;
mod governance;
mod interactions;
mod mentions;
mod monitor;
mod nlu_corpus;
mod notifications;
mod privacy;
mod seam;
mod slack_handler;
mod stack;
mod storage;
mod suites;
mod template;
mod workflows;
