//! The printable report of an allocation: an HTML page (a table per municipality with its key
//! value, share, annual amount and monthly instalments, and an inline SVG bar chart of the
//! shares; no JavaScript, nothing fetched from the network) and the same table as text for the
//! terminal. Pure string building.

use std::fmt::Write as _;

use hearth_domain::{Money, MunicipalityCode};

use crate::domain::{
    BudgetLine, KeyBasis, MemberShare, Rounding, format_amount, format_share_percent,
};

/// One member's row.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    pub code: MunicipalityCode,
    pub name: &'a str,
    /// The key value as the input wrote it.
    pub key_value: &'a str,
    pub share: &'a MemberShare,
}

/// Everything the report shows.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    pub title: String,
    pub year: i32,
    pub key: KeyBasis,
    pub rounding: Rounding,
    /// Where the figures came from (file names or the run id).
    pub source: String,
    pub budget: &'a [BudgetLine],
    pub rows: Vec<Row<'a>>,
    pub total: Money,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// The key's name in the report.
fn key_name(key: KeyBasis) -> &'static str {
    match key {
        KeyBasis::Population0To17 => "population aged 0–17",
        KeyBasis::TaxBase => "tax base (SEK)",
        KeyBasis::Use => "use",
    }
}

/// The report as a self-contained HTML page.
pub fn html(report: &Report<'_>) -> String {
    let amount = |money: Money| escape(&format_amount(money, report.rounding));
    let mut page = String::new();
    // `write!` into a String cannot fail; the results are ignored on purpose.
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <style>\n\
         body {{ font-family: system-ui, sans-serif; margin: 2em; color: #111; }}\n\
         table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}\n\
         th, td {{ border: 1px solid #999; padding: 0.25em 0.5em; }}\n\
         td.n, th.n {{ text-align: right; font-variant-numeric: tabular-nums; }}\n\
         tfoot td {{ font-weight: bold; }}\n\
         @media print {{ body {{ margin: 0; }} table {{ font-size: 0.75em; }} }}\n\
         </style>\n</head>\n<body>\n<h1>{title}</h1>\n\
         <p>Shared by {key}; amounts in SEK, rounded to whole {unit}; total {total} SEK. \
         Source: {source}.</p>\n",
        title = escape(&report.title),
        key = key_name(report.key),
        unit = match report.rounding {
            Rounding::Krona => "kronor",
            Rounding::Ore => "öre",
        },
        total = amount(report.total),
        source = escape(&report.source),
    );
    if !report.budget.is_empty() {
        page.push_str("<h2>Budget</h2>\n<table>\n<thead><tr><th>Line</th><th class=\"n\">Annual SEK</th></tr></thead>\n<tbody>\n");
        for line in report.budget {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                escape(&line.name),
                amount(line.amount)
            );
        }
        let _ = writeln!(
            page,
            "</tbody>\n<tfoot><tr><td>Total</td><td class=\"n\">{}</td></tr></tfoot>\n</table>",
            amount(report.total)
        );
    }
    page.push_str("<h2>Shares</h2>\n");
    page.push_str(&svg_chart(report));
    let _ = write!(
        page,
        "<table>\n<thead><tr><th>Code</th><th>Municipality</th><th class=\"n\">{}</th>\
         <th class=\"n\">Months</th><th class=\"n\">Share %</th><th class=\"n\">Annual SEK</th>",
        escape(key_name(report.key))
    );
    for month in MONTHS {
        let _ = write!(page, "<th class=\"n\">{month}</th>");
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    let mut monthly_totals = [0i64; 12];
    let mut share_total: u64 = 0;
    for row in &report.rows {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td>",
            row.code,
            escape(row.name),
            escape(row.key_value),
            row.share.months,
            format_share_percent(row.share.share_millionths),
            amount(row.share.amount),
        );
        share_total += u64::from(row.share.share_millionths);
        for (index, instalment) in row.share.instalments.iter().enumerate() {
            monthly_totals[index] += instalment.as_ore();
            let _ = write!(page, "<td class=\"n\">{}</td>", amount(*instalment));
        }
        page.push_str("</tr>\n");
    }
    let _ = write!(
        page,
        "</tbody>\n<tfoot><tr><td></td><td>Total</td><td></td><td></td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
        // The total is all of the total; the rows' rounded percentages may not add up to it.
        format_share_percent(if share_total == 0 { 0 } else { 1_000_000 }),
        amount(report.total)
    );
    for total in monthly_totals {
        let _ = write!(
            page,
            "<td class=\"n\">{}</td>",
            amount(Money::from_ore(total))
        );
    }
    page.push_str("</tr></tfoot>\n</table>\n");
    page.push_str(
        "<p>Shares add up to exactly the total and each municipality's twelve instalments to \
         exactly its annual amount (largest-remainder rounding in whole units). A municipality \
         that joins or leaves during the year pays for the months it is a member on the first \
         day of. Share % is for display only.</p>\n</body>\n</html>\n",
    );
    page
}

/// A horizontal bar per member, its length proportional to its share (integers only).
fn svg_chart(report: &Report<'_>) -> String {
    const BAR_HEIGHT: usize = 20;
    const LABEL_WIDTH: usize = 160;
    const BAR_WIDTH: u64 = 480;
    let largest = report
        .rows
        .iter()
        .map(|row| u64::from(row.share.share_millionths))
        .max()
        .unwrap_or(0)
        .max(1);
    let height = report.rows.len() * (BAR_HEIGHT + 6) + 10;
    let width = LABEL_WIDTH + BAR_WIDTH as usize + 90;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Share of the total per municipality\">"
    );
    for (index, row) in report.rows.iter().enumerate() {
        let y = 5 + index * (BAR_HEIGHT + 6);
        let length = u64::from(row.share.share_millionths) * BAR_WIDTH / largest;
        let _ = writeln!(
            svg,
            "<text x=\"{lx}\" y=\"{ty}\" font-size=\"13\" text-anchor=\"end\">{name}</text>\
             <rect x=\"{LABEL_WIDTH}\" y=\"{y}\" width=\"{length}\" height=\"{BAR_HEIGHT}\" fill=\"#3b6ea8\"/>\
             <text x=\"{vx}\" y=\"{ty}\" font-size=\"13\">{percent} %</text>",
            lx = LABEL_WIDTH - 8,
            ty = y + 15,
            name = escape(row.name),
            vx = LABEL_WIDTH as u64 + length + 6,
            percent = format_share_percent(row.share.share_millionths),
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The table as aligned text for the terminal.
pub fn text_table(report: &Report<'_>) -> String {
    let amount = |money: Money| format_amount(money, report.rounding);
    let key_header = match report.key {
        KeyBasis::Population0To17 => "population_0_17",
        KeyBasis::TaxBase => "tax_base_sek",
        KeyBasis::Use => "use",
    };
    let mut rows: Vec<[String; 7]> = vec![[
        "code".to_owned(),
        "municipality".to_owned(),
        key_header.to_owned(),
        "months".to_owned(),
        "share %".to_owned(),
        "annual SEK".to_owned(),
        "monthly SEK".to_owned(),
    ]];
    for row in &report.rows {
        let paid: Vec<i64> = row
            .share
            .instalments
            .iter()
            .zip(row.share.instalments.iter().map(|m| m.as_ore() != 0))
            .filter(|(_, nonzero)| *nonzero)
            .map(|(money, _)| money.as_ore())
            .collect();
        let monthly = match (paid.iter().min(), paid.iter().max()) {
            (Some(min), Some(max)) if min == max => amount(Money::from_ore(*min)),
            (Some(min), Some(max)) => format!(
                "{}–{}",
                amount(Money::from_ore(*min)),
                amount(Money::from_ore(*max))
            ),
            _ => "0".to_owned(),
        };
        rows.push([
            row.code.to_string(),
            row.name.to_owned(),
            row.key_value.to_owned(),
            row.share.months.to_string(),
            format_share_percent(row.share.share_millionths),
            amount(row.share.amount),
            monthly,
        ]);
    }
    rows.push([
        String::new(),
        "Total".to_owned(),
        String::new(),
        String::new(),
        String::new(),
        amount(report.total),
        String::new(),
    ]);
    let mut widths = [0usize; 7];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in &rows {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
            let padding = " ".repeat(width - cell.chars().count());
            if index < 2 {
                let _ = write!(line, "{cell}{padding}  ");
            } else {
                let _ = write!(line, "{padding}{cell}  ");
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}
