//! The all-in-one Hearth: the six services in one process, and the command-line tool around
//! them. [`all_services`] is the one list of services, used by `hearth serve`, `hearth migrate`,
//! the operators' commands (`hearth dlq`, `hearth replay`) and the end-to-end tests.

// Every command writes stdout through `output`, which ends quietly on a closed pipe.
#![deny(clippy::print_stdout)]

pub mod cli;
pub mod data_dir;
pub mod operations;
mod output;
pub mod top;

use hearth_rpc::HostedService;

/// Every Hearth service, in the order of the work: intake → assessment → matching → training →
/// follow-up → allocation.
pub fn all_services() -> Vec<Box<dyn HostedService>> {
    vec![
        Box::new(hearth_intake::Intake),
        Box::new(hearth_assessment::Assessment),
        Box::new(hearth_matching::Matching),
        Box::new(hearth_training::Training),
        Box::new(hearth_followup::Followup),
        Box::new(hearth_allocation::Allocation),
    ]
}
