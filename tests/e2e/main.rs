//! End-to-end tests over the local AWS emulator (`make test` starts it).

mod stack;
mod slack_handler;
mod storage;
