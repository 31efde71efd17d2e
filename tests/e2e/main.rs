//! End-to-end tests over the local AWS emulator (`make test` starts it).

mod stack;
mod storage;
