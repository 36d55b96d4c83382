//! Budgets: the unit's cost lines of a year and their yearly increase. Get, and update through a
//! field mask.

use std::collections::HashSet;

use hearth_domain::Money;
use hearth_proto::allocation::v1 as pb;
use hearth_rpc::handler::accept;
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use tonic::Request;

use super::support::{FINANCE, READERS, check_year, get_year, mask_paths};
use crate::app::yearly::{self, Change, Stored};
use crate::convert;
use crate::domain::BudgetLine;
use crate::store::entities::budget;
use crate::store::records::BudgetRecord;

pub async fn get(
    ctx: &ServiceContext,
    request: Request<pb::GetBudgetRequest>,
) -> Result<pb::GetBudgetResponse, ServiceError> {
    let (_, request) = accept(request, READERS)?;
    let stored = get_year::<budget::Entity>(ctx, request.year).await?;
    Ok(pb::GetBudgetResponse {
        budget: Some(to_proto(&stored)),
    })
}

pub async fn update(
    ctx: &ServiceContext,
    request: Request<pb::UpdateBudgetRequest>,
) -> Result<pb::UpdateBudgetResponse, ServiceError> {
    let (principal, request) = accept(request, FINANCE)?;
    let Some(wanted) = &request.budget else {
        return Err(ServiceError::invalid("budget", "is required"));
    };
    let mut violations = Violations::new();
    check_year(&mut violations, "budget.year", wanted.year);
    let paths = mask_paths(request.update_mask.as_ref(), &mut violations);
    let patch = BudgetPatch::check(wanted, paths, &mut violations);
    violations.finish()?;
    let change = Change {
        year: wanted.year,
        etag: &request.etag,
        allow_missing: request.allow_missing,
        method: "UpdateBudget",
    };
    let empty = || BudgetRecord {
        lines: Vec::new(),
        yearly_increase_basis_points: 0,
    };
    let stored = yearly::update::<budget::Entity>(ctx, &principal, change, empty, |record| {
        patch.apply(record)
    })
    .await?;
    Ok(pb::UpdateBudgetResponse {
        budget: Some(to_proto(&stored)),
    })
}

fn to_proto(stored: &Stored<BudgetRecord>) -> pb::Budget {
    convert::budget(
        stored.year,
        &stored.record,
        stored.version,
        stored.update_time,
    )
}

/// The fields an `UpdateBudget` changes, checked.
#[derive(Default)]
struct BudgetPatch {
    lines: Option<Vec<BudgetLine>>,
    yearly_increase_basis_points: Option<u32>,
}

impl BudgetPatch {
    fn check(wanted: &pb::Budget, paths: &[String], violations: &mut Violations) -> Self {
        let mut patch = Self::default();
        for path in paths {
            match path.as_str() {
                "lines" => patch.lines = Some(lines(violations, &wanted.lines)),
                "yearly_increase_basis_points" => {
                    if wanted.yearly_increase_basis_points > 10_000 {
                        violations.add(
                            "budget.yearly_increase_basis_points",
                            "must be at most 10000 (100 %)",
                        );
                    }
                    patch.yearly_increase_basis_points = Some(wanted.yearly_increase_basis_points);
                }
                other => violations.add(
                    "update_mask",
                    format!(
                        "`{other}` cannot be changed; the fields are lines, \
                         yearly_increase_basis_points"
                    ),
                ),
            }
        }
        patch
    }

    /// Applies the change; a budget keeps at least one line.
    fn apply(self, record: &mut BudgetRecord) -> Result<(), ServiceError> {
        if let Some(lines) = self.lines {
            record.lines = lines;
        }
        if let Some(increase) = self.yearly_increase_basis_points {
            record.yearly_increase_basis_points = increase;
        }
        if record.lines.is_empty() {
            return Err(ServiceError::invalid(
                "budget.lines",
                "must have at least one line (include `lines` in update_mask)",
            ));
        }
        Ok(())
    }
}

/// The budget lines of a request: at least one, named once each, with a category and an amount
/// that is not negative.
fn lines(violations: &mut Violations, lines: &[pb::BudgetLine]) -> Vec<BudgetLine> {
    if lines.is_empty() {
        violations.add("budget.lines", "must have at least one line");
    }
    let mut names = HashSet::new();
    let mut checked = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        let field = |name: &str| format!("budget.lines[{index}].{name}");
        let name = line.name.trim();
        if name.is_empty() {
            violations.add(field("name"), "is required");
        } else if !names.insert(name.to_owned()) {
            violations.add(field("name"), format!("`{name}` is listed twice"));
        }
        checked.push(BudgetLine {
            name: name.to_owned(),
            specific: specific(violations, &field("category"), line.category),
            amount: amount(violations, &field("amount"), line.amount.as_ref()),
        });
    }
    checked
}

fn specific(violations: &mut Violations, field: &str, category: i32) -> bool {
    match pb::CostCategory::try_from(category) {
        Ok(pb::CostCategory::Common) => false,
        Ok(pb::CostCategory::Specific) => true,
        _ => {
            violations.add(
                field,
                "must be COST_CATEGORY_COMMON or COST_CATEGORY_SPECIFIC",
            );
            false
        }
    }
}

fn amount(
    violations: &mut Violations,
    field: &str,
    amount: Option<&hearth_proto::common::v1::Money>,
) -> Money {
    match amount {
        None => {
            violations.add(field, "is required");
            Money::ZERO
        }
        Some(money) if money.ore < 0 => {
            violations.add(format!("{field}.ore"), "must not be negative");
            Money::ZERO
        }
        Some(money) => Money::from_ore(money.ore),
    }
}
