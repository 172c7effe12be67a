//! The `sesame` binary: parse the command line and hand over.

fn main() -> std::process::ExitCode {
    sesame::cli::main()
}
