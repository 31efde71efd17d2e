//! End-to-end tests over the local AWS emulator (`make test` starts it).

mod cli;
mod slack_handler;
mod stack;
mod storage;
