//! Integration tests: the real server on port 0, driven over real HTTP and WebSockets.

mod access;
mod bad_input;
mod basemap;
mod cap;
mod commands;
mod cot;
mod feed;
mod hostile;
mod identity;
mod need_to_know;
mod pages;
mod record;
mod replay;
mod restart;
mod search;
mod stream;
mod support;
mod tls;
