//! The `scimd` binary: everything it does lives in `cli`.

mod cli;

/// jemalloc, built (see `.cargo/config.toml`) to return freed memory to the
/// system within about a second: the system allocator kept most of a burst
/// of large request bodies for good (123 MiB after 64 bodies of 2 MiB, from
/// 16 MiB idle; jemalloc: 25 MiB).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> anyhow::Result<()> {
    cli::run()
}
