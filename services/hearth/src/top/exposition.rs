//! The Prometheus text exposition format 0.0.4, as the `prometheus` crate's `TextEncoder`
//! writes it, read leniently: a line that does not parse is counted and skipped, never a panic.
//!
//! ```text
//! # HELP and # TYPE lines (and any other comment) are ignored
//! metric_name{label="value",other="a \"quoted\" \\ and \n"} 1.5e3 1700000000000
//! metric_name +Inf
//! ```

use std::collections::BTreeMap;

/// A sample's labels, by name (so that two samples of one series compare equal).
pub type Labels = BTreeMap<String, String>;

/// One line of a scrape: a series (name and labels) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Labels,
    pub value: f64,
}

impl Sample {
    /// The value of `label`, or `""` when the sample has no such label.
    pub fn label(&self, label: &str) -> &str {
        self.labels.get(label).map_or("", String::as_str)
    }
}

/// A parsed scrape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    /// Lines that were neither blank, a comment nor a sample.
    pub skipped_lines: usize,
}

/// Parse a scrape. Never fails: malformed lines are skipped and counted.
pub fn parse(text: &str) -> Exposition {
    let mut exposition = Exposition::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_sample(line) {
            Some(sample) => exposition.samples.push(sample),
            None => exposition.skipped_lines += 1,
        }
    }
    exposition
}

/// Escape a label value the way the text format requires (the inverse of the parser).
#[cfg(test)]
pub fn escape_label_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for character in value.chars() {
        match character {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// `name[{labels}] value [timestamp]`, with nothing after it.
fn parse_sample(line: &str) -> Option<Sample> {
    let mut cursor = Cursor { rest: line };
    let name = cursor.take_while(is_metric_name_char);
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':') {
        return None;
    }
    // The value is separated from what precedes it by at least one blank.
    let blank_after_name = cursor.skip_blanks();
    let labels = if cursor.eat('{') {
        let labels = parse_labels(&mut cursor)?;
        if !cursor.skip_blanks() {
            return None;
        }
        labels
    } else if blank_after_name {
        Labels::new()
    } else {
        return None;
    };
    let value = parse_value(cursor.take_while(|c| !is_blank(c)))?;
    if cursor.skip_blanks() && !cursor.rest.is_empty() {
        // An optional timestamp, milliseconds since the epoch; it does not matter here.
        cursor.take_while(|c| !is_blank(c)).parse::<i64>().ok()?;
        cursor.skip_blanks();
    }
    if !cursor.rest.is_empty() {
        return None;
    }
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// After the `{`: `name="value"` pairs separated by commas (a trailing comma allowed), then `}`.
fn parse_labels(cursor: &mut Cursor<'_>) -> Option<Labels> {
    let mut labels = Labels::new();
    loop {
        cursor.skip_blanks();
        if cursor.eat('}') {
            return Some(labels);
        }
        let name = cursor.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            return None;
        }
        cursor.skip_blanks();
        if !cursor.eat('=') {
            return None;
        }
        cursor.skip_blanks();
        if !cursor.eat('"') {
            return None;
        }
        let value = parse_label_value(cursor)?;
        if labels.insert(name.to_owned(), value).is_some() {
            return None; // the same label twice
        }
        cursor.skip_blanks();
        if cursor.eat(',') {
            continue;
        }
        if cursor.eat('}') {
            return Some(labels);
        }
        return None;
    }
}

/// After the opening quote: the value up to the closing quote, unescaping `\\`, `\"` and `\n`.
/// Another escape is kept as written.
fn parse_label_value(cursor: &mut Cursor<'_>) -> Option<String> {
    let mut value = String::new();
    let mut characters = cursor.rest.char_indices();
    while let Some((index, character)) = characters.next() {
        match character {
            '"' => {
                cursor.rest = &cursor.rest[index + 1..];
                return Some(value);
            }
            '\\' => match characters.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => return None,
            },
            other => value.push(other),
        }
    }
    None // no closing quote
}

/// A Go-style float: digits, exponents, `+Inf`, `-Inf`, `NaN`.
fn parse_value(token: &str) -> Option<f64> {
    match token {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        "" => None,
        // Rust also reads `inf`, `infinity` and `nan` in any case; Go's ParseFloat does too.
        number => number.parse::<f64>().ok(),
    }
}

fn is_metric_name_char(character: char) -> bool {
    character.is_ascii_alphanumeric() || character == '_' || character == ':'
}

fn is_blank(character: char) -> bool {
    character == ' ' || character == '\t'
}

/// What is left of a line. Every cut is at a character boundary found by `find` or
/// `char_indices`, or after an ASCII character just matched.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let end = self
            .rest
            .find(|character: char| !keep(character))
            .unwrap_or(self.rest.len());
        let (taken, rest) = self.rest.split_at(end);
        self.rest = rest;
        taken
    }

    /// Skip spaces and tabs; whether there were any.
    fn skip_blanks(&mut self) -> bool {
        !self.take_while(is_blank).is_empty()
    }

    fn eat(&mut self, expected: char) -> bool {
        match self.rest.strip_prefix(expected) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn reads_what_the_text_encoder_writes() {
        let text = "\
# HELP hearth_outbox_backlog Events written but not yet published.
# TYPE hearth_outbox_backlog gauge
hearth_outbox_backlog{hearth_county=\"dalarna\",hearth_service=\"intake\",otel_scope_name=\"hearth\"} 12
rpc_server_call_duration_seconds_bucket{le=\"+Inf\",rpc_method=\"CreateInterestRegistration\"} 3
hearth_registrations_total{hearth_county=\"dalarna\"} 1.5e3
";
        let exposition = parse(text);
        assert_eq!(exposition.skipped_lines, 0);
        assert_eq!(exposition.samples.len(), 3);
        let backlog = &exposition.samples[0];
        assert_eq!(backlog.name, "hearth_outbox_backlog");
        assert_eq!(backlog.label("hearth_service"), "intake");
        assert_eq!(backlog.label("no_such_label"), "");
        assert_eq!(backlog.value, 12.0);
        assert_eq!(exposition.samples[1].label("le"), "+Inf");
        assert_eq!(exposition.samples[2].value, 1500.0);
    }

    #[test]
    fn unescapes_label_values() {
        let exposition =
            parse(r#"m{a="back\\slash",b="say \"hi\"",c="two\nlines",d="odd \x kept",e=""} 1"#);
        assert_eq!(exposition.skipped_lines, 0);
        assert_eq!(
            exposition.samples[0].labels,
            labels(&[
                ("a", "back\\slash"),
                ("b", "say \"hi\""),
                ("c", "two\nlines"),
                ("d", "odd \\x kept"),
                ("e", ""),
            ])
        );
    }

    #[test]
    fn label_values_may_hold_braces_commas_spaces_and_any_script() {
        let exposition = parse("m{a=\"} , {\",b=\"Ängelholm ✓\",} 2\n");
        assert_eq!(
            exposition.samples[0].labels,
            labels(&[("a", "} , {"), ("b", "Ängelholm ✓")])
        );
    }

    #[test]
    fn reads_special_values_and_timestamps() {
        let exposition =
            parse("a +Inf\nb -Inf\nc NaN\nd 3 1700000000000\ne{x=\"1\"}\t-0.5\t-12\nf 1e-3 \r\n");
        assert_eq!(exposition.skipped_lines, 0);
        let values: Vec<f64> = exposition.samples.iter().map(|s| s.value).collect();
        assert_eq!(values[0], f64::INFINITY);
        assert_eq!(values[1], f64::NEG_INFINITY);
        assert!(values[2].is_nan());
        assert_eq!(values[3..], [3.0, -0.5, 0.001]);
    }

    #[test]
    fn skips_malformed_lines_and_keeps_the_rest() {
        let text = "\
good 1
9starts_with_a_digit 1
no_value
no_value_after_labels{a=\"b\"}
bad_value twelve
bad_timestamp 1 soon
trailing 1 2 3
unclosed{a=\"b 1
unquoted{a=b} 1
missing_equals{a\"b\"} 1
twice{a=\"1\",a=\"2\"} 1
dangling_escape{a=\"\\
{a=\"b\"} 1
also_good{} 2
";
        let exposition = parse(text);
        let names: Vec<&str> = exposition.samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["good", "also_good"]);
        assert_eq!(exposition.skipped_lines, 12);
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(text in any::<String>()) {
            let exposition = parse(&text);
            prop_assert!(exposition.samples.len() + exposition.skipped_lines <= text.lines().count());
        }

        #[test]
        fn almost_valid_input_never_panics(
            text in r#"[a-z_{}=",\\ n+\-0-9.eInfa\t\n]{0,80}"#
        ) {
            parse(&text);
        }

        #[test]
        fn any_label_value_survives_escaping(value in any::<String>(), number in any::<f64>()) {
            let line = format!("m{{v=\"{}\"}} {number:?}", escape_label_value(&value));
            let exposition = parse(&line);
            prop_assert_eq!(exposition.skipped_lines, 0);
            prop_assert_eq!(exposition.samples[0].label("v"), value.as_str());
            let parsed = exposition.samples[0].value;
            prop_assert!(parsed == number || (parsed.is_nan() && number.is_nan()));
        }
    }
}
