//! `hearth-followup`: the followup service alone, against PostgreSQL and NATS (production).

fn main() -> std::process::ExitCode {
    hearth_rpc::standalone::main::<hearth_followup::Followup>()
}
