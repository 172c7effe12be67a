//! The `sesame` binary: parse the command line and hand over.

// glibc's allocator was two fifths of planning a 100,000-line import (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    sesame::cli::main()
}
