//! `hearth-intake`: the intake service alone, against PostgreSQL and NATS (production).

fn main() -> std::process::ExitCode {
    hearth_rpc::standalone::main::<hearth_intake::Intake>()
}
