//! The allocation files of the CLI contract (`hearth allocation run`): reading `MEMBERS.csv` and
//! `BUDGET.csv`, writing `allocation-YYYY.csv`, `instalments-YYYY.csv` and the printable
//! `allocation-YYYY.html`. The arithmetic is the service's own ([`crate::domain`]); this module
//! only turns files into domain values and results into files, and every refusal names the
//! file, the line and the column.
//!
//! `MEMBERS.csv`: a header, then one row per member, with the columns `municipality_code`,
//! `municipality_name`, the key's column (`population_0_17`, or `tax_base_sek` for the tax-base
//! key), and optionally the other key column and `member_from` / `member_to` (ISO dates) for a
//! municipality that joins or leaves during the year. Any other column is an error.
//! `BUDGET.csv`: a header and the columns `line,annual_sek`.
//! Amounts are whole kronor (`2841600`) or kronor with up to two decimals (`185493.5`), read
//! into öre exactly, never through a float.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use hearth_domain::{Money, MunicipalityCode};

use crate::domain::{
    self, Allocation, AllocationError, AllocationRequest, BudgetLine, KeyBasis, KeyValues,
    MemberKey, Membership, Rounding, Split,
};
use crate::report;

/// A refusal of an input file, naming where: `members.csv, line 4, column 3
/// (population_0_17): must not be negative (got "-12")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub file: String,
    /// 1-based line in the file.
    pub line: u64,
    /// 1-based column and its header name (empty where the header has none).
    pub column: usize,
    pub column_name: String,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, line {}, column {}",
            self.file, self.line, self.column
        )?;
        if !self.column_name.is_empty() {
            write!(f, " ({})", self.column_name)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for FileError {}

/// Why `hearth allocation run` failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An input file is wrong; the message names file, line and column.
    #[error(transparent)]
    Input(#[from] FileError),
    /// The inputs are well-formed but cannot be allocated (e.g. every key value is zero).
    #[error("cannot allocate {year}: {error}")]
    Allocation { year: i32, error: AllocationError },
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

/// One row of `MEMBERS.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub key: MemberKey,
    /// The key value as the file wrote it, for the output's `key_value` column.
    pub key_text: String,
}

const MEMBER_COLUMNS: [&str; 6] = [
    "municipality_code",
    "municipality_name",
    "population_0_17",
    "tax_base_sek",
    "member_from",
    "member_to",
];
const BUDGET_COLUMNS: [&str; 2] = ["line", "annual_sek"];

/// The column of `basis` in `MEMBERS.csv`.
pub fn key_column(basis: KeyBasis) -> &'static str {
    match basis {
        KeyBasis::Population0To17 => "population_0_17",
        KeyBasis::TaxBase => "tax_base_sek",
        KeyBasis::Use => "use",
    }
}

/// A parsed CSV table: header names and rows with their line numbers.
struct Table {
    file: String,
    header: Vec<String>,
    rows: Vec<(u64, Vec<String>)>,
}

impl Table {
    fn error(&self, line: u64, column: usize, message: impl Into<String>) -> FileError {
        FileError {
            file: self.file.clone(),
            line,
            column: column + 1,
            column_name: self.header.get(column).cloned().unwrap_or_default(),
            message: message.into(),
        }
    }

    fn read(
        file: &str,
        text: &str,
        known: &[&str],
        required: &[&str],
        expected: &str,
    ) -> Result<(Self, HashMap<String, usize>), FileError> {
        let at = |line: u64, column: usize, name: &str, message: String| FileError {
            file: file.to_owned(),
            line,
            column,
            column_name: name.to_owned(),
            message,
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut records = reader.records();
        let header = match records.next() {
            None => {
                return Err(at(
                    1,
                    1,
                    "",
                    format!("the file is empty; expected a header `{expected}`"),
                ));
            }
            Some(Err(error)) => return Err(at(1, 1, "", error.to_string())),
            Some(Ok(record)) => record,
        };
        let header: Vec<String> = header.iter().map(|name| name.trim().to_owned()).collect();
        let mut columns = HashMap::new();
        for (index, name) in header.iter().enumerate() {
            if !known.contains(&name.as_str()) {
                return Err(at(
                    1,
                    index + 1,
                    name,
                    format!(
                        "unknown column `{name}`; the columns are {}",
                        known.join(", ")
                    ),
                ));
            }
            if columns.insert(name.clone(), index).is_some() {
                return Err(at(
                    1,
                    index + 1,
                    name,
                    format!("column `{name}` appears twice"),
                ));
            }
        }
        for name in required {
            if !columns.contains_key(*name) {
                return Err(at(
                    1,
                    header.len() + 1,
                    name,
                    format!("missing column `{name}`; expected a header `{expected}`"),
                ));
            }
        }
        let mut rows = Vec::new();
        for record in records {
            let record = record.map_err(|error| {
                let line = error.position().map_or(0, |position| position.line());
                at(line, 1, "", error.to_string())
            })?;
            let line = record.position().map_or(0, |position| position.line());
            let cells: Vec<String> = record.iter().map(|cell| cell.trim().to_owned()).collect();
            if cells.iter().all(String::is_empty) {
                continue; // a blank line, e.g. at the end of the file
            }
            if cells.len() != header.len() {
                let column = cells.len().min(header.len()) + 1;
                return Err(at(
                    line,
                    column,
                    header.get(column - 1).map_or("", String::as_str),
                    format!(
                        "has {} field(s) but the header has {}",
                        cells.len(),
                        header.len()
                    ),
                ));
            }
            rows.push((line, cells));
        }
        let table = Table {
            file: file.to_owned(),
            header,
            rows,
        };
        if table.rows.is_empty() {
            return Err(table.error(2, 0, "no rows: the file has a header but nothing under it"));
        }
        Ok((table, columns))
    }
}

/// Reads `MEMBERS.csv` text (`file` names it in errors) for an allocation by `basis`.
pub fn parse_members(file: &str, text: &str, basis: KeyBasis) -> Result<Vec<MemberRow>, FileError> {
    let key = key_column(basis);
    let expected = format!("municipality_code,municipality_name,{key}");
    let (table, columns) = Table::read(
        file,
        text,
        &MEMBER_COLUMNS,
        &["municipality_code", "municipality_name", key],
        &expected,
    )?;
    let column = |name: &str| columns.get(name).copied();
    let mut seen: HashMap<MunicipalityCode, u64> = HashMap::new();
    let mut members = Vec::with_capacity(table.rows.len());
    for (line, cells) in &table.rows {
        let line = *line;
        let cell = |index: usize| cells[index].as_str();
        let code_column = columns["municipality_code"];
        let code_text = cell(code_column);
        let code = MunicipalityCode::parse(code_text).map_err(|error| {
            table.error(line, code_column, format!("{error} (got \"{code_text}\")"))
        })?;
        if let Some(first) = seen.insert(code, line) {
            return Err(table.error(
                line,
                code_column,
                format!("duplicate municipality code {code}: already on line {first}"),
            ));
        }
        let name_column = columns["municipality_name"];
        let name = cell(name_column);
        if name.is_empty() {
            return Err(table.error(line, name_column, "missing municipality name"));
        }
        let mut values = KeyValues::default();
        if let Some(index) = column("population_0_17") {
            values.population_0_17 =
                parse_count(cell(index)).map_err(|message| table.error(line, index, message))?;
        }
        if let Some(index) = column("tax_base_sek") {
            values.tax_base_ore = parse_kronor(cell(index))
                .map_err(|message| table.error(line, index, message))?
                .map(|money| money.as_ore().unsigned_abs());
        }
        let key_index = columns[key];
        if values.get(basis).is_none() {
            return Err(table.error(
                line,
                key_index,
                format!("missing {key} value (needed by the {} key)", basis.as_str()),
            ));
        }
        let mut membership = Membership::ALWAYS;
        if let Some(index) = column("member_from") {
            membership.from =
                parse_date(cell(index)).map_err(|message| table.error(line, index, message))?;
        }
        if let Some(index) = column("member_to") {
            membership.to =
                parse_date(cell(index)).map_err(|message| table.error(line, index, message))?;
            if let (Some(from), Some(to)) = (membership.from, membership.to)
                && to < from
            {
                return Err(table.error(
                    line,
                    index,
                    format!("member_to {to} is before member_from {from}"),
                ));
            }
        }
        members.push(MemberRow {
            key: MemberKey {
                municipality: code,
                name: name.to_owned(),
                membership,
                values,
            },
            key_text: cell(key_index).to_owned(),
        });
    }
    Ok(members)
}

const KEY_VALUE_COLUMNS: [&str; 5] = [
    "municipality_code",
    "municipality_name",
    "population_0_17",
    "tax_base_sek",
    "use",
];

/// Reads key values as finance keeps them (`ImportAllocationKey`): `municipality_code`, an
/// optional `municipality_name`, and any of `population_0_17`, `tax_base_sek` and `use`; an
/// empty cell is zero.
pub fn parse_key_values(
    file: &str,
    text: &str,
) -> Result<Vec<(MunicipalityCode, KeyValues)>, FileError> {
    let (table, columns) = Table::read(
        file,
        text,
        &KEY_VALUE_COLUMNS,
        &["municipality_code"],
        "municipality_code,municipality_name,population_0_17,tax_base_sek,use",
    )?;
    let mut seen: HashMap<MunicipalityCode, u64> = HashMap::new();
    let mut rows = Vec::with_capacity(table.rows.len());
    for (line, cells) in &table.rows {
        let code_column = columns["municipality_code"];
        let code_text = cells[code_column].as_str();
        let code = MunicipalityCode::parse(code_text).map_err(|error| {
            table.error(*line, code_column, format!("{error} (got \"{code_text}\")"))
        })?;
        if let Some(first) = seen.insert(code, *line) {
            return Err(table.error(
                *line,
                code_column,
                format!("duplicate municipality code {code}: already on line {first}"),
            ));
        }
        let count = |name: &str| -> Result<u64, FileError> {
            match columns.get(name) {
                None => Ok(0),
                Some(index) => parse_count(&cells[*index])
                    .map(Option::unwrap_or_default)
                    .map_err(|message| table.error(*line, *index, message)),
            }
        };
        let tax_base = match columns.get("tax_base_sek") {
            None => 0,
            Some(index) => parse_kronor(&cells[*index])
                .map_err(|message| table.error(*line, *index, message))?
                .map_or(0, |money| money.as_ore().unsigned_abs()),
        };
        rows.push((
            code,
            KeyValues {
                population_0_17: Some(count("population_0_17")?),
                tax_base_ore: Some(tax_base),
                use_value: Some(count("use")?),
            },
        ));
    }
    Ok(rows)
}

/// Reads `BUDGET.csv` text: every line is a common cost.
pub fn parse_budget(file: &str, text: &str) -> Result<Vec<BudgetLine>, FileError> {
    let (table, columns) = Table::read(
        file,
        text,
        &BUDGET_COLUMNS,
        &BUDGET_COLUMNS,
        "line,annual_sek",
    )?;
    let (name_column, amount_column) = (columns["line"], columns["annual_sek"]);
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut lines = Vec::with_capacity(table.rows.len());
    for (line, cells) in &table.rows {
        let name = cells[name_column].clone();
        if name.is_empty() {
            return Err(table.error(*line, name_column, "missing line name"));
        }
        if let Some(first) = seen.insert(name.clone(), *line) {
            return Err(table.error(
                *line,
                name_column,
                format!("duplicate line `{name}`: already on line {first}"),
            ));
        }
        let amount = parse_kronor(&cells[amount_column])
            .map_err(|message| table.error(*line, amount_column, message))?
            .ok_or_else(|| table.error(*line, amount_column, "missing amount"))?;
        lines.push(BudgetLine {
            name,
            specific: false,
            amount,
        });
    }
    Ok(lines)
}

/// A non-negative whole number, or `None` for an empty cell.
fn parse_count(text: &str) -> Result<Option<u64>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    if text.starts_with('-') {
        return Err(format!("must not be negative (got \"{text}\")"));
    }
    if !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!(
            "must be a whole number such as 4631 (got \"{text}\")"
        ));
    }
    text.parse()
        .map(Some)
        .map_err(|_| format!("is too large (got \"{text}\")"))
}

/// Non-negative kronor with at most two decimals, exactly in öre; `None` for an empty cell.
pub fn parse_kronor(text: &str) -> Result<Option<Money>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    if text.starts_with('-') {
        return Err(format!("must not be negative (got \"{text}\")"));
    }
    let malformed =
        || format!("must be kronor such as 2841600 or 185493.53, without spaces (got \"{text}\")");
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() && fraction.len() <= 2 => (whole, fraction),
        Some(_) => return Err(malformed()),
        None => (text, ""),
    };
    if whole.is_empty()
        || !whole.bytes().all(|byte| byte.is_ascii_digit())
        || !fraction.bytes().all(|byte| byte.is_ascii_digit())
    {
        return Err(malformed());
    }
    let kronor: i64 = whole.parse().map_err(|_| malformed())?;
    let ore: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().map_err(|_| malformed())? * 10,
        _ => fraction.parse().map_err(|_| malformed())?,
    };
    kronor
        .checked_mul(100)
        .and_then(|value| value.checked_add(ore))
        .map(|value| Some(Money::from_ore(value)))
        .ok_or_else(|| format!("is too large (got \"{text}\")"))
}

fn parse_date(text: &str) -> Result<Option<NaiveDate>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("must be an ISO date such as 2026-07-01 (got \"{text}\")"))
}

/// What `hearth allocation run` is asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub members: PathBuf,
    pub budget: PathBuf,
    pub year: i32,
    pub key: KeyBasis,
    pub rounding: Rounding,
    pub out: PathBuf,
}

/// What a run from files produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub allocation: Allocation,
    pub members: Vec<MemberRow>,
    /// The files written, in order: allocation CSV, instalments CSV, HTML report.
    pub files: Vec<PathBuf>,
    /// A readable table for the terminal.
    pub table: String,
}

fn read(path: &Path) -> Result<String, RunError> {
    std::fs::read_to_string(path).map_err(|error| RunError::Io {
        path: path.display().to_string(),
        message: format!("cannot be read: {error}"),
    })
}

fn write(path: &Path, content: &[u8]) -> Result<(), RunError> {
    std::fs::write(path, content).map_err(|error| RunError::Io {
        path: path.display().to_string(),
        message: format!("cannot be written: {error}"),
    })
}

/// Reads the members and the budget, allocates, and writes the three files into `out`.
pub fn run(options: &RunOptions) -> Result<RunOutput, RunError> {
    let members_name = options.members.display().to_string();
    let budget_name = options.budget.display().to_string();
    let members = parse_members(&members_name, &read(&options.members)?, options.key)?;
    let lines = parse_budget(&budget_name, &read(&options.budget)?)?;
    let allocation = allocate_from_files(
        options.year,
        options.key,
        options.rounding,
        &members,
        &lines,
    )?;
    std::fs::create_dir_all(&options.out).map_err(|error| RunError::Io {
        path: options.out.display().to_string(),
        message: format!("cannot be created: {error}"),
    })?;
    let year = options.year;
    let allocation_csv = options.out.join(format!("allocation-{year}.csv"));
    let instalments_csv = options.out.join(format!("instalments-{year}.csv"));
    let html = options.out.join(format!("allocation-{year}.html"));
    let io = |error: csv::Error| RunError::Io {
        path: options.out.display().to_string(),
        message: error.to_string(),
    };
    write(
        &allocation_csv,
        &allocation_file(&members, &allocation, options.rounding).map_err(io)?,
    )?;
    write(
        &instalments_csv,
        &instalments_file(&allocation, options.rounding).map_err(io)?,
    )?;
    let report = report::Report {
        title: format!("Cost allocation {year}"),
        year,
        key: options.key,
        rounding: options.rounding,
        source: format!("{members_name} and {budget_name}"),
        budget: &lines,
        rows: report_rows(&members, &allocation),
        total: allocation.total,
    };
    write(&html, report::html(&report).as_bytes())?;
    let table = report::text_table(&report);
    Ok(RunOutput {
        allocation,
        members,
        files: vec![allocation_csv, instalments_csv, html],
        table,
    })
}

/// The domain call of a run from files: the whole budget as common costs, by one key.
pub fn allocate_from_files(
    year: i32,
    key: KeyBasis,
    rounding: Rounding,
    members: &[MemberRow],
    lines: &[BudgetLine],
) -> Result<Allocation, RunError> {
    let keys: Vec<MemberKey> = members.iter().map(|row| row.key.clone()).collect();
    let total = lines
        .iter()
        .try_fold(Money::ZERO, |sum, line| sum.checked_add(line.amount))
        .map_err(|_| RunError::Allocation {
            year,
            error: AllocationError::Overflow,
        })?;
    let split = Split::single(key);
    domain::allocate(&AllocationRequest {
        year,
        rounding,
        members: &keys,
        common_total: total,
        common_split: &split,
        specific_total: Money::ZERO,
        specific_split: &split,
    })
    .map_err(|error| RunError::Allocation { year, error })
}

fn report_rows<'a>(members: &'a [MemberRow], allocation: &'a Allocation) -> Vec<report::Row<'a>> {
    allocation
        .shares
        .iter()
        .filter_map(|share| {
            members
                .iter()
                .find(|row| row.key.municipality == share.municipality)
                .map(|row| report::Row {
                    code: share.municipality,
                    name: &row.key.name,
                    key_value: &row.key_text,
                    share,
                })
        })
        .collect()
}

/// `allocation-YYYY.csv`: one row per member, in municipality-code order.
pub fn allocation_file(
    members: &[MemberRow],
    allocation: &Allocation,
    rounding: Rounding,
) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "municipality_code",
        "municipality_name",
        "key_value",
        "share_percent",
        "annual_sek",
    ])?;
    for row in report_rows(members, allocation) {
        writer.write_record([
            row.code.to_string(),
            row.name.to_owned(),
            row.key_value.to_owned(),
            domain::format_share_percent(row.share.share_millionths),
            domain::format_amount(row.share.amount, rounding),
        ])?;
    }
    writer
        .into_inner()
        .map_err(|error| error.into_error().into())
}

/// `instalments-YYYY.csv`: twelve rows per member, months 1–12.
pub fn instalments_file(
    allocation: &Allocation,
    rounding: Rounding,
) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["municipality_code", "month", "amount_sek"])?;
    for share in &allocation.shares {
        for (index, amount) in share.instalments.iter().enumerate() {
            writer.write_record([
                share.municipality.to_string(),
                (index + 1).to_string(),
                domain::format_amount(*amount, rounding),
            ])?;
        }
    }
    writer
        .into_inner()
        .map_err(|error| error.into_error().into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MEMBERS: &str = "municipality_code,municipality_name,population_0_17\n\
        2084,Avesta,4631\n2081,Borlänge,11600\n";

    fn members_error(text: &str) -> String {
        parse_members("members.csv", text, KeyBasis::Population0To17)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_members_with_optional_periods() {
        let rows = parse_members(
            "m.csv",
            "\u{feff}municipality_code,municipality_name,population_0_17,tax_base_sek,member_from,member_to\n\
             2084,Avesta,4631,1000.5,,\n2081,Borlänge,11600,,2026-07-01,\n\n",
            KeyBasis::Population0To17,
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].key.values.tax_base_ore, Some(100_050));
        assert_eq!(
            rows[1].key.membership.from,
            Some("2026-07-01".parse().unwrap())
        );
        assert_eq!(rows[1].key_text, "11600");
        assert_eq!(
            parse_members("m.csv", MEMBERS, KeyBasis::Population0To17)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn bad_members_name_file_line_and_column() {
        assert_eq!(
            members_error(""),
            "members.csv, line 1, column 1: the file is empty; expected a header \
             `municipality_code,municipality_name,population_0_17`"
        );
        assert_eq!(
            members_error(
                "municipality_code,municipality_name,population_0_17,colour\n2084,A,1,red\n"
            ),
            "members.csv, line 1, column 4 (colour): unknown column `colour`; the columns are \
             municipality_code, municipality_name, population_0_17, tax_base_sek, member_from, member_to"
        );
        assert_eq!(
            members_error(
                "municipality_code,municipality_name,population_0_17\n2084,A,1\n2081,B,-12\n"
            ),
            "members.csv, line 3, column 3 (population_0_17): must not be negative (got \"-12\")"
        );
        assert_eq!(
            members_error(
                "municipality_code,municipality_name,population_0_17\n2084,A,1\n2081,B,\n"
            ),
            "members.csv, line 3, column 3 (population_0_17): missing population_0_17 value \
             (needed by the population key)"
        );
        assert_eq!(
            members_error(
                "municipality_code,municipality_name,population_0_17\n2084,A,1\n2084,B,2\n"
            ),
            "members.csv, line 3, column 1 (municipality_code): duplicate municipality code 2084: \
             already on line 2"
        );
        assert_eq!(
            members_error("municipality_code,municipality_name\n2084,A\n"),
            "members.csv, line 1, column 3 (population_0_17): missing column `population_0_17`; \
             expected a header `municipality_code,municipality_name,population_0_17`"
        );
        assert_eq!(
            members_error("municipality_code,municipality_name,population_0_17\n"),
            "members.csv, line 2, column 1 (municipality_code): no rows: the file has a header \
             but nothing under it"
        );
        assert!(
            members_error("municipality_code,municipality_name,population_0_17\n2084,A\n")
                .starts_with("members.csv, line 2, column 3 (population_0_17): has 2 field(s)")
        );
        assert!(
            members_error("municipality_code,municipality_name,population_0_17\n208,A,1\n")
                .starts_with(
                    "members.csv, line 2, column 1 (municipality_code): municipality code must be"
                )
        );
    }

    #[test]
    fn budget_amounts_are_exact() {
        let lines = parse_budget(
            "b.csv",
            "line,annual_sek\nStaff,2841600\n\"Car, leased\",100.5\n",
        )
        .unwrap();
        assert_eq!(lines[0].amount, Money::from_kronor(2_841_600).unwrap());
        assert_eq!(lines[1].name, "Car, leased");
        assert_eq!(lines[1].amount, Money::from_ore(10_050));
        assert_eq!(
            parse_budget("b.csv", "line,annual_sek\nStaff,1e6\n")
                .unwrap_err()
                .to_string(),
            "b.csv, line 2, column 2 (annual_sek): must be kronor such as 2841600 or 185493.53, \
             without spaces (got \"1e6\")"
        );
        assert!(parse_budget("b.csv", "line,annual_sek\nStaff,1.234\n").is_err());
        assert!(
            parse_budget("b.csv", "line,annual_sek\nA,1\nA,2\n")
                .unwrap_err()
                .to_string()
                .contains("line 3, column 1 (line): duplicate line `A`")
        );
    }
}
