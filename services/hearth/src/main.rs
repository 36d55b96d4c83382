//! `hearth`: see `hearth --help`.

fn main() -> std::process::ExitCode {
    hearth::cli::main()
}
