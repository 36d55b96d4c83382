//! The allocation service over real gRPC, on SQLite and on PostgreSQL (skipped without
//! `HEARTH_TEST_DATABASE_URL`, a failure with `CI=true`).

use hearth_allocation::files;
use hearth_auth::Role;
use hearth_proto::allocation::v1 as pb;
use hearth_proto::allocation::v1::allocation_service_client::AllocationServiceClient;
use hearth_proto::common::v1::{AllocationRunKind, Money, MunicipalityCode};
use hearth_testkit::{Storage, TestHearth, authorized};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::{DALARNA_SHARES, data_file};

pub(super) type Client = AllocationServiceClient<Channel>;

pub(super) async fn start(storage: Storage) -> Option<TestHearth> {
    TestHearth::builder(vec![Box::new(hearth_allocation::Allocation)])
        .storage(storage)
        .start()
        .await
}

pub(super) struct Callers {
    pub(super) finance: String,
    admin: String,
    unit_staff: String,
    falun: String,
}

pub(super) fn callers(hearth: &TestHearth) -> Callers {
    Callers {
        finance: hearth.token(&[Role::Finance], None),
        admin: hearth.token(&[Role::Admin], None),
        unit_staff: hearth.token(&[Role::UnitStaff], None),
        falun: hearth.token(&[Role::MunicipalityStaff], Some("2080")),
    }
}

fn ore(kronor: i64) -> Option<Money> {
    Some(Money { ore: kronor * 100 })
}

fn code(text: &str) -> Option<MunicipalityCode> {
    Some(MunicipalityCode {
        value: text.to_owned(),
    })
}

pub(super) fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|path| (*path).to_owned()).collect(),
    })
}

/// The fields named by an `InvalidArgument`'s `BadRequest`.
fn bad_fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .map(|bad| {
            bad.field_violations
                .iter()
                .map(|v| v.field.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default()
}

pub(super) fn annual(year: i32, idempotency_key: &str) -> pb::CreateAllocationRunRequest {
    pb::CreateAllocationRunRequest {
        year,
        kind: AllocationRunKind::AnnualBudget as i32,
        rounding: pb::Rounding::Krona as i32,
        idempotency_key: idempotency_key.to_owned(),
        ..Default::default()
    }
}

pub(super) fn new_key() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Finance imports Dalarna's key values from the CSV and sets the budget lines of `year`.
pub(super) async fn set_up_year(client: &mut Client, finance: &str, year: i32) {
    let csv = std::fs::read_to_string(data_file("dalarna-members.csv")).unwrap();
    let key = client
        .import_allocation_key(authorized(
            pb::ImportAllocationKeyRequest {
                year,
                csv,
                etag: String::new(),
                allow_missing: true,
                idempotency_key: String::new(),
            },
            finance,
        ))
        .await
        .unwrap()
        .into_inner()
        .allocation_key
        .unwrap();
    assert_eq!(key.values.len(), 12);
    assert_eq!(key.etag, "v1");
    let text = std::fs::read_to_string(data_file("dalarna-budget-lines.csv")).unwrap();
    let lines = files::parse_budget("dalarna-budget-lines.csv", &text)
        .unwrap()
        .into_iter()
        .map(|line| pb::BudgetLine {
            name: line.name,
            category: pb::CostCategory::Common as i32,
            amount: Some(Money {
                ore: line.amount.as_ore(),
            }),
        })
        .collect();
    let budget = client
        .update_budget(authorized(
            pb::UpdateBudgetRequest {
                budget: Some(pb::Budget {
                    year,
                    lines,
                    yearly_increase_basis_points: 300,
                    ..Default::default()
                }),
                update_mask: mask(&["lines", "yearly_increase_basis_points"]),
                etag: String::new(),
                allow_missing: true,
            },
            finance,
        ))
        .await
        .unwrap()
        .into_inner()
        .budget
        .unwrap();
    assert_eq!(budget.total.unwrap().ore, 3_998_600_00);
}

fn amounts(run: &pb::AllocationRun) -> Vec<(String, i64)> {
    run.shares
        .iter()
        .map(|share| {
            (
                share.municipality.as_ref().unwrap().value.clone(),
                share.amount.as_ref().unwrap().ore,
            )
        })
        .collect()
}

async fn run_get_list_and_retry(hearth: &TestHearth) {
    let who = callers(hearth);
    let mut client = Client::new(hearth.channel().await);
    set_up_year(&mut client, &who.finance, 2026).await;

    let key = new_key();
    let run = client
        .create_allocation_run(authorized(annual(2026, &key), &who.finance))
        .await
        .unwrap()
        .into_inner()
        .allocation_run
        .unwrap();
    assert_eq!(run.total.as_ref().unwrap().ore, 3_998_600_00);
    assert_eq!(run.state, pb::AllocationRunState::Completed as i32);
    assert_eq!(run.created_by, "test");
    assert_eq!(run.members.len(), 12);
    assert_eq!(run.budget.as_ref().unwrap().lines.len(), 7);
    let expected: Vec<(String, i64)> = DALARNA_SHARES
        .iter()
        .map(|(code, _, kronor)| ((*code).to_owned(), kronor * 100))
        .collect();
    assert_eq!(amounts(&run), expected);
    assert!(
        run.shares
            .iter()
            .all(|share| share.months == 12 && !share.invoice_id.is_empty())
    );

    // A retry with the same idempotency key returns the first run, not a second one.
    let retry = client
        .create_allocation_run(authorized(annual(2026, &key), &who.finance))
        .await
        .unwrap()
        .into_inner()
        .allocation_run
        .unwrap();
    assert_eq!(retry.id, run.id);
    assert_eq!(amounts(&retry), amounts(&run));
    // The same key with another request is refused, naming the field.
    let mut other = annual(2026, &key);
    other.rounding = pb::Rounding::Ore as i32;
    let status = client
        .create_allocation_run(authorized(other, &who.finance))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["idempotency_key"]);

    let got = client
        .get_allocation_run(authorized(
            pb::GetAllocationRunRequest {
                allocation_run_id: run.id.clone(),
            },
            &who.unit_staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .allocation_run
        .unwrap();
    assert_eq!(got, run, "the stored record is what the run returned");

    // Twelve invoices of twelve instalments each, adding up to the shares.
    let invoices = client
        .list_invoices(authorized(
            pb::ListInvoicesRequest {
                allocation_run_id: run.id.clone(),
                page_size: 5,
                ..Default::default()
            },
            &who.finance,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(invoices.invoices.len(), 5);
    assert!(!invoices.next_page_token.is_empty());
    let mut all = invoices.invoices;
    let mut token = invoices.next_page_token;
    while !token.is_empty() {
        let page = client
            .list_invoices(authorized(
                pb::ListInvoicesRequest {
                    allocation_run_id: run.id.clone(),
                    page_size: 5,
                    page_token: token,
                    ..Default::default()
                },
                &who.finance,
            ))
            .await
            .unwrap()
            .into_inner();
        all.extend(page.invoices);
        token = page.next_page_token;
    }
    assert_eq!(all.len(), 12);
    for invoice in &all {
        assert_eq!(invoice.instalments.len(), 12);
        let sum: i64 = invoice
            .instalments
            .iter()
            .map(|i| i.amount.as_ref().unwrap().ore)
            .sum();
        assert_eq!(sum, invoice.amount.as_ref().unwrap().ore);
        assert_eq!(invoice.state, pb::InvoiceState::Issued as i32);
    }

    // Runs again: the first is superseded with its invoices, and the list is newest first.
    let second = client
        .create_allocation_run(authorized(annual(2026, &new_key()), &who.admin))
        .await
        .unwrap()
        .into_inner()
        .allocation_run
        .unwrap();
    assert_eq!(
        amounts(&second),
        amounts(&run),
        "the same inputs give the same result"
    );
    let runs = client
        .list_allocation_runs(authorized(
            pb::ListAllocationRunsRequest {
                year: 2026,
                ..Default::default()
            },
            &who.finance,
        ))
        .await
        .unwrap()
        .into_inner()
        .allocation_runs;
    let states: Vec<(String, i32)> = runs.iter().map(|r| (r.id.clone(), r.state)).collect();
    assert_eq!(
        states,
        [
            (second.id.clone(), pb::AllocationRunState::Completed as i32),
            (run.id.clone(), pb::AllocationRunState::Superseded as i32),
        ]
    );
    let superseded = client
        .list_invoices(authorized(
            pb::ListInvoicesRequest {
                states: vec![pb::InvoiceState::Superseded as i32],
                ..Default::default()
            },
            &who.finance,
        ))
        .await
        .unwrap()
        .into_inner()
        .invoices;
    assert_eq!(superseded.len(), 12);
    assert!(superseded.iter().all(|i| i.allocation_run_id == run.id));

    // A validate-only run computes without storing.
    let preview = client
        .create_allocation_run(authorized(
            pb::CreateAllocationRunRequest {
                validate_only: true,
                key_basis: pb::KeyBasis::Population017 as i32,
                ..annual(2026, &new_key())
            },
            &who.finance,
        ))
        .await
        .unwrap()
        .into_inner()
        .allocation_run
        .unwrap();
    assert_eq!(preview.state, pb::AllocationRunState::Preview as i32);
    assert!(preview.id.is_empty());
    assert_eq!(amounts(&preview), amounts(&run));

    // The key and the budget of an allocated year are frozen.
    let status = client
        .import_allocation_key(authorized(
            pb::ImportAllocationKeyRequest {
                year: 2026,
                csv: "municipality_code,population_0_17\n2080,1\n".to_owned(),
                etag: "v1".to_owned(),
                allow_missing: false,
                idempotency_key: String::new(),
            },
            &who.finance,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason(&status), "YEAR_ALLOCATED");

    // The run's event went into the outbox with it.
    let db = hearth_rpc::backends::open_database(hearth.settings(), "allocation")
        .await
        .unwrap();
    let events = hearth_bus::entities::outbox::Entity::find()
        .filter(hearth_bus::entities::outbox::Column::EventType.eq("allocation.completed"))
        .all(&db)
        .await
        .unwrap();
    let aggregates: Vec<&str> = events.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(aggregates, [run.id.as_str(), second.id.as_str()]);
    db.close().await.unwrap();
}

async fn settle(hearth: &TestHearth) {
    let who = callers(hearth);
    let mut client = Client::new(hearth.channel().await);
    set_up_year(&mut client, &who.finance, 2026).await;
    let settlement = |amount: Option<Money>, actual: Option<Money>, basis: pb::KeyBasis| {
        pb::CreateAllocationRunRequest {
            year: 2026,
            kind: AllocationRunKind::YearEndSettlement as i32,
            rounding: pb::Rounding::Krona as i32,
            settlement: amount,
            actual_cost: actual,
            key_basis: basis as i32,
            idempotency_key: new_key(),
            validate_only: false,
        }
    };
    // No annual run yet: nothing to settle against.
    let status = client
        .create_allocation_run(authorized(
            settlement(ore(1000), None, pb::KeyBasis::Unspecified),
            &who.finance,
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "ANNUAL_RUN_MISSING");

    let annual_run = client
        .create_allocation_run(authorized(annual(2026, &new_key()), &who.finance))
        .await
        .unwrap()
        .into_inner()
        .allocation_run
        .unwrap();
    // The actual cost was 4,100,000: a deficit of 101,400 shared by the annual shares.
    let deficit = client
        .create_allocation_run(authorized(
            settlement(None, ore(4_100_000), pb::KeyBasis::Unspecified),
            &who.finance,
        ))
        .await
        .unwrap()
        .into_inner()
        .allocation_run
        .unwrap();
    assert_eq!(deficit.total.as_ref().unwrap().ore, 101_400_00);
    assert_eq!(deficit.annual_run_id, annual_run.id);
    let debits = amounts(&deficit);
    assert_eq!(debits.iter().map(|(_, ore)| ore).sum::<i64>(), 101_400_00);
    assert!(debits.iter().all(|(_, ore)| *ore > 0 && ore % 100 == 0));
    // A surplus of 50,000 paid back by another key the steering group chose: credits.
    let surplus = client
        .create_allocation_run(authorized(
            settlement(ore(-50_000), None, pb::KeyBasis::Population017),
            &who.finance,
        ))
        .await
        .unwrap()
        .into_inner()
        .allocation_run
        .unwrap();
    let credits = amounts(&surplus);
    assert_eq!(credits.iter().map(|(_, ore)| ore).sum::<i64>(), -50_000_00);
    assert!(credits.iter().all(|(_, ore)| *ore < 0));
    // The settlement invoices have one instalment each; the deficit run was superseded.
    let invoices = client
        .list_invoices(authorized(
            pb::ListInvoicesRequest {
                allocation_run_id: surplus.id.clone(),
                ..Default::default()
            },
            &who.finance,
        ))
        .await
        .unwrap()
        .into_inner()
        .invoices;
    assert_eq!(invoices.len(), 12);
    assert!(invoices.iter().all(|i| i.instalments.len() == 1));
    let settlements = client
        .list_allocation_runs(authorized(
            pb::ListAllocationRunsRequest {
                kinds: vec![AllocationRunKind::YearEndSettlement as i32],
                states: vec![pb::AllocationRunState::Completed as i32],
                ..Default::default()
            },
            &who.finance,
        ))
        .await
        .unwrap()
        .into_inner()
        .allocation_runs;
    assert_eq!(settlements.len(), 1);
    assert_eq!(settlements[0].id, surplus.id);
}

async fn roles_and_municipality_scope(hearth: &TestHearth) {
    let who = callers(hearth);
    let mut client = Client::new(hearth.channel().await);
    set_up_year(&mut client, &who.finance, 2026).await;
    for token in [&who.unit_staff, &who.falun] {
        let status = client
            .create_allocation_run(authorized(annual(2026, &new_key()), token))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    }
    let run = client
        .create_allocation_run(authorized(annual(2026, &new_key()), &who.finance))
        .await
        .unwrap()
        .into_inner()
        .allocation_run
        .unwrap();

    // Falun sees its own share and invoice only.
    let seen = client
        .get_allocation_run(authorized(
            pb::GetAllocationRunRequest {
                allocation_run_id: run.id.clone(),
            },
            &who.falun,
        ))
        .await
        .unwrap()
        .into_inner()
        .allocation_run
        .unwrap();
    assert_eq!(amounts(&seen), [("2080".to_owned(), 1_005_151_00)]);
    let listed = client
        .list_allocation_runs(authorized(
            pb::ListAllocationRunsRequest::default(),
            &who.falun,
        ))
        .await
        .unwrap()
        .into_inner()
        .allocation_runs;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].shares.len(), 1);
    let invoices = client
        .list_invoices(authorized(pb::ListInvoicesRequest::default(), &who.falun))
        .await
        .unwrap()
        .into_inner()
        .invoices;
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0].municipality, code("2080"));
    let status = client
        .list_invoices(authorized(
            pb::ListInvoicesRequest {
                municipalities: vec![code("2081").unwrap()],
                ..Default::default()
            },
            &who.falun,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let borlange_invoice = run
        .shares
        .iter()
        .find(|share| share.municipality == code("2081"))
        .unwrap()
        .invoice_id
        .clone();
    let status = client
        .get_invoice(authorized(
            pb::GetInvoiceRequest {
                invoice_id: borlange_invoice.clone(),
            },
            &who.falun,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let own = client
        .get_invoice(authorized(
            pb::GetInvoiceRequest {
                invoice_id: invoices[0].id.clone(),
            },
            &who.falun,
        ))
        .await
        .unwrap()
        .into_inner()
        .invoice
        .unwrap();
    assert_eq!(own.amount.unwrap().ore, 1_005_151_00);
    // Unit staff read runs but not invoices; finance reads every invoice.
    let status = client
        .list_invoices(authorized(
            pb::ListInvoicesRequest::default(),
            &who.unit_staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(
        client
            .get_invoice(authorized(
                pb::GetInvoiceRequest {
                    invoice_id: borlange_invoice,
                },
                &who.finance,
            ))
            .await
            .is_ok()
    );
    // Only finance and admin change keys.
    let status = client
        .import_allocation_key(authorized(
            pb::ImportAllocationKeyRequest {
                year: 2027,
                csv: "municipality_code,population_0_17\n2080,1\n".to_owned(),
                etag: String::new(),
                allow_missing: true,
                idempotency_key: String::new(),
            },
            &who.unit_staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

async fn bad_input_names_the_field(hearth: &TestHearth) {
    let who = callers(hearth);
    let mut client = Client::new(hearth.channel().await);
    let status = client
        .create_allocation_run(authorized(
            pb::CreateAllocationRunRequest {
                year: 1999,
                kind: 0,
                rounding: 0,
                idempotency_key: "not-a-uuid".to_owned(),
                ..Default::default()
            },
            &who.finance,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        ["idempotency_key", "year", "kind", "rounding"]
    );
    let mut with_settlement = annual(2026, &new_key());
    with_settlement.settlement = ore(5);
    let status = client
        .create_allocation_run(authorized(with_settlement, &who.finance))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["settlement"]);

    let status = client
        .update_budget(authorized(
            pb::UpdateBudgetRequest {
                budget: Some(pb::Budget {
                    year: 2026,
                    lines: vec![
                        pb::BudgetLine {
                            name: "Staff".to_owned(),
                            category: pb::CostCategory::Common as i32,
                            amount: ore(100),
                        },
                        pb::BudgetLine {
                            name: "Staff".to_owned(),
                            category: 0,
                            amount: Some(Money { ore: -1 }),
                        },
                    ],
                    ..Default::default()
                }),
                update_mask: mask(&["lines", "colour"]),
                etag: String::new(),
                allow_missing: true,
            },
            &who.finance,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "budget.lines[1].name",
            "budget.lines[1].category",
            "budget.lines[1].amount.ore",
            "update_mask"
        ]
    );

    let status = client
        .update_allocation_key(authorized(
            pb::UpdateAllocationKeyRequest {
                allocation_key: Some(pb::AllocationKey {
                    year: 2026,
                    values: vec![pb::KeyValues {
                        municipality: code("0680"),
                        population_0_17: 5,
                        ..Default::default()
                    }],
                    common_cost_split: vec![pb::KeyWeight {
                        basis: pb::KeyBasis::Population017 as i32,
                        weight_basis_points: 6000,
                    }],
                    ..Default::default()
                }),
                update_mask: mask(&["values", "common_cost_split"]),
                etag: String::new(),
                allow_missing: true,
            },
            &who.finance,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "allocation_key.values[0].municipality",
            "allocation_key.common_cost_split"
        ]
    );

    let status = client
        .import_allocation_key(authorized(
            pb::ImportAllocationKeyRequest {
                year: 2026,
                csv: "municipality_code,population_0_17\n2080,12\n2081,-3\n".to_owned(),
                etag: String::new(),
                allow_missing: true,
                idempotency_key: String::new(),
            },
            &who.finance,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["csv"]);
    let description = status
        .get_error_details()
        .bad_request()
        .unwrap()
        .field_violations[0]
        .description
        .clone();
    assert_eq!(
        description,
        "csv, line 3, column 2 (population_0_17): must not be negative (got \"-3\")"
    );

    // Rules of the data are FAILED_PRECONDITION with a reason.
    let status = client
        .create_allocation_run(authorized(annual(2030, &new_key()), &who.finance))
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "ALLOCATION_KEY_MISSING");
    client
        .import_allocation_key(authorized(
            pb::ImportAllocationKeyRequest {
                year: 2030,
                csv: "municipality_code,population_0_17\n2080,12\n".to_owned(),
                etag: String::new(),
                allow_missing: true,
                idempotency_key: String::new(),
            },
            &who.finance,
        ))
        .await
        .unwrap();
    let status = client
        .create_allocation_run(authorized(annual(2030, &new_key()), &who.finance))
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "BUDGET_MISSING");
}

async fn keys_budgets_etags_and_projection(hearth: &TestHearth) {
    let who = callers(hearth);
    let mut client = Client::new(hearth.channel().await);
    set_up_year(&mut client, &who.finance, 2026).await;
    // A stale etag is refused.
    let update = |etag: &str| pb::UpdateAllocationKeyRequest {
        allocation_key: Some(pb::AllocationKey {
            year: 2026,
            use_measure: pb::UseMeasure::PlacedChildren as i32,
            specific_cost_split: vec![pb::KeyWeight {
                basis: pb::KeyBasis::Use as i32,
                weight_basis_points: 10_000,
            }],
            ..Default::default()
        }),
        update_mask: mask(&["use_measure", "specific_cost_split"]),
        etag: etag.to_owned(),
        allow_missing: false,
    };
    let status = client
        .update_allocation_key(authorized(update("v0"), &who.finance))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted);
    assert_eq!(reason(&status), "STALE_ETAG");
    let key = client
        .update_allocation_key(authorized(update("v1"), &who.finance))
        .await
        .unwrap()
        .into_inner()
        .allocation_key
        .unwrap();
    assert_eq!(key.etag, "v2");
    assert_eq!(key.values.len(), 12, "values not in the mask are kept");
    let read = client
        .get_allocation_key(authorized(
            pb::GetAllocationKeyRequest { year: 2026 },
            &who.falun,
        ))
        .await
        .unwrap()
        .into_inner()
        .allocation_key
        .unwrap();
    assert_eq!(read, key);

    // Every change is in the audit log.
    let db = hearth_rpc::backends::open_database(hearth.settings(), "allocation")
        .await
        .unwrap();
    let admin = hearth_auth::Principal::try_new(
        "auditor",
        hearth_domain::CountySlug::parse(hearth.county()).unwrap(),
        [Role::Admin],
        None,
    )
    .unwrap();
    let reader = hearth_audit::require_audit_reader(&admin).unwrap();
    let page = hearth_audit::AuditLog::default()
        .list(&db, &reader, &hearth_audit::AuditQuery::default())
        .await
        .unwrap();
    let changes: Vec<(String, String)> = page
        .records
        .iter()
        .map(|r| (r.resource_type.to_string(), r.resource_id.to_string()))
        .collect();
    assert_eq!(
        changes,
        [
            ("allocation_key".to_owned(), "2026".to_owned()),
            ("allocation_budget".to_owned(), "2026".to_owned()),
            ("allocation_key".to_owned(), "2026".to_owned()),
        ]
    );
    db.close().await.unwrap();

    // 2027 has no budget of its own: the 2026 budget grows by its 3 %. Its key is imported
    // with an idempotency key, and the retry gets the key back instead of a stale-etag error.
    let import = pb::ImportAllocationKeyRequest {
        year: 2027,
        csv: std::fs::read_to_string(data_file("dalarna-members.csv")).unwrap(),
        etag: String::new(),
        allow_missing: true,
        idempotency_key: new_key(),
    };
    let first = client
        .import_allocation_key(authorized(import.clone(), &who.finance))
        .await
        .unwrap()
        .into_inner();
    let retry = client
        .import_allocation_key(authorized(import.clone(), &who.finance))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retry, first);
    let status = client
        .import_allocation_key(authorized(
            pb::ImportAllocationKeyRequest {
                csv: "municipality_code,population_0_17\n2080,1\n".to_owned(),
                etag: "v1".to_owned(),
                ..import
            },
            &who.finance,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["idempotency_key"]);
    let preview = client
        .create_allocation_run(authorized(
            pb::CreateAllocationRunRequest {
                validate_only: true,
                ..annual(2027, "")
            },
            &who.finance,
        ))
        .await
        .unwrap()
        .into_inner()
        .allocation_run
        .unwrap();
    assert_eq!(preview.budget_projected_from_year, 2026);
    assert_eq!(preview.total.unwrap().ore, 4_118_558_00);
    let sum: i64 = preview
        .shares
        .iter()
        .map(|s| s.amount.as_ref().unwrap().ore)
        .sum();
    assert_eq!(sum, 4_118_558_00);
}

async fn members_come_from_the_county(hearth: &TestHearth) {
    let who = callers(hearth);
    let mut client = Client::new(hearth.channel().await);
    let first = client
        .list_members(authorized(
            pb::ListMembersRequest {
                page_size: 10,
                ..Default::default()
            },
            &who.falun,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.members.len(), 10);
    assert_eq!(first.members[0].name, "Vansbro");
    let rest = client
        .list_members(authorized(
            pb::ListMembersRequest {
                page_size: 10,
                page_token: first.next_page_token,
                ..Default::default()
            },
            &who.falun,
        ))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = rest.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["Avesta", "Ludvika"]);
    assert!(rest.next_page_token.is_empty());
}

/// Lists page newest first by keyset, and a page token only works with the filters of the
/// list it came from.
async fn pages_are_bound_to_their_filters(hearth: &TestHearth) {
    let who = callers(hearth);
    let mut client = Client::new(hearth.channel().await);
    set_up_year(&mut client, &who.finance, 2026).await;
    let mut made = Vec::new();
    for _ in 0..3 {
        let run = annual(2026, &new_key());
        let response = client.create_allocation_run(authorized(run, &who.finance));
        made.push(
            response
                .await
                .unwrap()
                .into_inner()
                .allocation_run
                .unwrap()
                .id,
        );
    }
    let list_runs = |page_token: String, year: i32| pb::ListAllocationRunsRequest {
        page_size: 2,
        page_token,
        year,
        ..Default::default()
    };
    let mut pages = Vec::new();
    let mut token = String::new();
    for more in [true, false] {
        let request = authorized(list_runs(token.clone(), 2026), &who.finance);
        let page = client
            .list_allocation_runs(request)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(!page.next_page_token.is_empty(), more);
        token = page.next_page_token.clone();
        pages.push(page);
    }
    let (first, rest) = (&pages[0], &pages[1]);
    let listed: Vec<String> = first
        .allocation_runs
        .iter()
        .chain(&rest.allocation_runs)
        .map(|run| run.id.clone())
        .collect();
    made.reverse();
    assert_eq!(listed, made, "newest first, each run once");

    // The token of a list of 2026 is refused for a list of another year, and garbage is refused.
    for (token, year) in [
        (first.next_page_token.clone(), 2027),
        ("garbage!".to_owned(), 2026),
    ] {
        let status = client
            .list_allocation_runs(authorized(list_runs(token, year), &who.finance))
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&status), ["page_token"]);
    }
    let list_invoices = |page_token: String, state: pb::InvoiceState| pb::ListInvoicesRequest {
        page_size: 5,
        page_token,
        states: vec![state as i32],
        ..Default::default()
    };
    let issued = list_invoices(String::new(), pb::InvoiceState::Issued);
    let token = client
        .list_invoices(authorized(issued, &who.finance))
        .await
        .unwrap()
        .into_inner()
        .next_page_token;
    let superseded = list_invoices(token, pb::InvoiceState::Superseded);
    let status = client
        .list_invoices(authorized(superseded, &who.finance))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["page_token"]);
    let status = client
        .list_members(authorized(
            pb::ListMembersRequest {
                page_size: -1,
                ..Default::default()
            },
            &who.finance,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["page_size"]);
}

macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let hearth = super::start(hearth_testkit::Storage::Sqlite).await.unwrap();
                    super::$test(&hearth).await;
                    hearth.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(hearth) = super::start(hearth_testkit::Storage::Postgres).await else {
                        return;
                    };
                    super::$test(&hearth).await;
                    hearth.stop().await;
                }
            )*
        }
    };
}

on_both_backends!(
    run_get_list_and_retry,
    settle,
    roles_and_municipality_scope,
    bad_input_names_the_field,
    keys_budgets_etags_and_projection,
    members_come_from_the_county,
    pages_are_bound_to_their_filters,
);
