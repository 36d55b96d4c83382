//! The contracts' documentation and conventions, checked on the compiled descriptor set.
//!
//! `docs/API.md` is generated from the protos' comments. When a proto changes, regenerate it with
//! `HEARTH_UPDATE_API_DOCS=1 cargo test -p hearth-proto --test api_reference` and commit both.

use std::path::PathBuf;

use hearth_proto::FILE_DESCRIPTOR_SET;
use hearth_proto::reference::{self, HEARTH_PACKAGE_PREFIX, REGENERATE_COMMAND};
use prost::Message as _;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorProto, FileDescriptorSet};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn api_markdown_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/API.md")
}

#[test]
fn api_reference_is_up_to_date() -> TestResult {
    let rendered = reference::render_markdown(FILE_DESCRIPTOR_SET)?;
    let path = api_markdown_path();
    // A developer's switch to regenerate the file, not a setting.
    #[allow(clippy::disallowed_methods)]
    let update = std::env::var("HEARTH_UPDATE_API_DOCS").is_ok_and(|value| value == "1");
    if update {
        std::fs::write(&path, &rendered)?;
        println!("wrote {}", path.display());
        return Ok(());
    }
    let committed = std::fs::read_to_string(&path)
        .map_err(|error| {
            format!(
                "cannot read {}: {error}; generate it with `{REGENERATE_COMMAND}`",
                path.display()
            )
        })?
        .replace("\r\n", "\n");
    if committed != rendered {
        let first_difference = committed
            .lines()
            .zip(rendered.lines())
            .position(|(committed_line, rendered_line)| committed_line != rendered_line)
            .unwrap_or_else(|| committed.lines().count().min(rendered.lines().count()));
        let line_number = first_difference + 1;
        panic!(
            "docs/API.md is out of date with the protos: it first differs at line {line_number}\n  \
             docs/API.md: {:?}\n  generated:   {:?}\nRegenerate it with `{REGENERATE_COMMAND}` and commit it.",
            committed
                .lines()
                .nth(first_difference)
                .unwrap_or("<end of file>"),
            rendered
                .lines()
                .nth(first_difference)
                .unwrap_or("<end of file>"),
        );
    }
    Ok(())
}

#[test]
fn rendering_is_deterministic() -> TestResult {
    let first = reference::render_markdown(FILE_DESCRIPTOR_SET)?;
    let second = reference::render_markdown(FILE_DESCRIPTOR_SET)?;
    assert_eq!(first, second);
    Ok(())
}

#[test]
fn every_element_is_documented() -> TestResult {
    let missing = reference::undocumented(FILE_DESCRIPTOR_SET)?;
    assert!(
        missing.is_empty(),
        "add a comment to each of these in proto/:\n{}",
        missing.join("\n")
    );
    Ok(())
}

/// The Hearth files of the descriptor set.
fn hearth_files() -> Result<Vec<FileDescriptorProto>, prost::DecodeError> {
    let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET)?;
    Ok(set
        .file
        .into_iter()
        .filter(|file| file.package().starts_with(HEARTH_PACKAGE_PREFIX))
        .collect())
}

/// Every message of the Hearth files, nested ones included, by full name (without leading dot).
fn hearth_messages() -> Result<Vec<(String, DescriptorProto)>, prost::DecodeError> {
    fn walk(scope: &str, messages: &[DescriptorProto], found: &mut Vec<(String, DescriptorProto)>) {
        for message in messages {
            let full_name = format!("{scope}.{}", message.name());
            walk(&full_name, &message.nested_type, found);
            found.push((full_name, message.clone()));
        }
    }
    let mut found = Vec::new();
    for file in hearth_files()? {
        walk(file.package(), &file.message_type, &mut found);
    }
    Ok(found)
}

#[test]
fn nothing_is_a_float() -> TestResult {
    let floats: Vec<String> = hearth_messages()?
        .iter()
        .flat_map(|(name, message)| {
            message
                .field
                .iter()
                .filter(|field| matches!(field.r#type(), Type::Float | Type::Double))
                .map(move |field| format!("{name}.{}", field.name()))
        })
        .collect();
    assert!(
        floats.is_empty(),
        "money, coordinates and shares are integers; floats found: {floats:?}"
    );
    Ok(())
}

#[test]
fn enums_start_with_a_prefixed_unspecified_zero() -> TestResult {
    fn upper_snake(name: &str) -> String {
        let mut out = String::new();
        for (index, character) in name.chars().enumerate() {
            if character.is_ascii_uppercase() && index > 0 {
                out.push('_');
            }
            out.push(character.to_ascii_uppercase());
        }
        out
    }
    let mut enums = Vec::new();
    for file in hearth_files()? {
        enums.extend(file.enum_type.clone());
    }
    for (_, message) in hearth_messages()? {
        enums.extend(message.enum_type.clone());
    }
    for enumeration in enums {
        let prefix = format!("{}_", upper_snake(enumeration.name()));
        let first = enumeration.value.first().ok_or("an enum without values")?;
        assert_eq!(first.number(), 0, "{}", enumeration.name());
        assert_eq!(
            first.name(),
            format!("{prefix}UNSPECIFIED"),
            "{}",
            enumeration.name()
        );
        for value in &enumeration.value {
            assert!(
                value.name().starts_with(&prefix),
                "{} is not prefixed with {prefix}",
                value.name()
            );
        }
    }
    Ok(())
}

/// The first word of a PascalCase name: `Get` of `GetPlacementRequest`.
fn leading_word(name: &str) -> &str {
    let end = name
        .char_indices()
        .skip(1)
        .find(|(_, character)| character.is_ascii_uppercase())
        .map_or(name.len(), |(index, _)| index);
    &name[..end]
}

/// Checks the API conventions (docs/api-conventions.md) on every RPC: one request and one
/// response message per RPC, `idempotency_key` on creates and actions, AIP-158 paging on lists, a
/// field mask and etag on updates, and the roles that may call it in its comment.
#[test]
fn rpcs_follow_the_api_conventions() -> TestResult {
    let messages = hearth_messages()?;
    let message = |type_name: &str| {
        let full_name = type_name.trim_start_matches('.');
        messages
            .iter()
            .find(|(name, _)| name == full_name)
            .map(|(_, message)| message.clone())
            .ok_or_else(|| format!("message {full_name} not found"))
    };
    let has_field = |message: &DescriptorProto, name: &str, kind: Type| {
        message.field.iter().any(|field| {
            field.name() == name && field.r#type() == kind && field.label() != Label::Repeated
        })
    };
    let reference = reference::render_markdown(FILE_DESCRIPTOR_SET)?;
    let mut problems = Vec::new();
    let mut input_types = std::collections::BTreeSet::new();
    for file in hearth_files()? {
        for service in &file.service {
            for method in &service.method {
                let rpc = format!("{}.{}", service.name(), method.name());
                let request = message(method.input_type())?;
                let response = message(method.output_type())?;
                if request.name() != format!("{}Request", method.name())
                    || response.name() != format!("{}Response", method.name())
                {
                    problems.push(format!(
                        "{rpc}: messages must be {0}Request and {0}Response",
                        method.name()
                    ));
                }
                if !input_types.insert(method.input_type().to_owned()) {
                    problems.push(format!(
                        "{rpc}: its request message is shared with another RPC"
                    ));
                }
                let verb = leading_word(method.name());
                if verb == "List" {
                    if !has_field(&request, "page_size", Type::Int32)
                        || !has_field(&request, "page_token", Type::String)
                    {
                        problems.push(format!("{rpc}: a list takes page_size and page_token"));
                    }
                    if !has_field(&response, "next_page_token", Type::String) {
                        problems.push(format!("{rpc}: a list answers next_page_token"));
                    }
                } else if verb == "Update" {
                    if !has_field(&request, "update_mask", Type::Message)
                        || !has_field(&request, "etag", Type::String)
                    {
                        problems.push(format!("{rpc}: an update takes update_mask and etag"));
                    }
                } else if verb != "Get" && !has_field(&request, "idempotency_key", Type::String) {
                    problems.push(format!("{rpc}: a create or action takes idempotency_key"));
                }
                let section_start = reference
                    .find(&format!("#### {rpc}\n"))
                    .ok_or_else(|| format!("{rpc} is missing from the reference"))?;
                let section = &reference[section_start..];
                let section = &section[..section[1..]
                    .find("\n#")
                    .map_or(section.len(), |end| end + 1)];
                if !section.contains("**Roles:**") {
                    problems.push(format!(
                        "{rpc}: its comment must say who may call it (a `Roles:` line)"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// The event types of the services (docs/design.md#shape), each with a payload.
const EVENT_TYPES: [&str; 18] = [
    "interest.registered",
    "request.opened",
    "request.updated",
    "request.withdrawn",
    "family.approved",
    "family.rejected",
    "family.updated",
    "family.availability_changed",
    "proposal.made",
    "proposal.answered",
    "proposal.lapsed",
    "placement.started",
    "placement.ended",
    "training.completed",
    "session.cancelled",
    "survey.sent",
    "report.published",
    "allocation.completed",
];

/// Each event payload names its event type and the subject it is published on, the subject is
/// `hearth.<county>.<event type>`, and every event type has a payload.
#[test]
fn event_payloads_name_their_subject() -> TestResult {
    let reference = reference::render_markdown(FILE_DESCRIPTOR_SET)?;
    let mut documented = Vec::new();
    for paragraph in reference
        .split("\n\n")
        .filter(|paragraph| paragraph.starts_with("**Event type:**"))
    {
        let paragraph = paragraph.replace('\n', " ");
        let event_type = paragraph
            .split('`')
            .nth(1)
            .ok_or_else(|| format!("no event type in {paragraph:?}"))?
            .to_owned();
        assert!(
            paragraph.contains(&format!("Subject: `hearth.<county>.{event_type}`")),
            "{event_type}: the subject must be `hearth.<county>.{event_type}`: {paragraph}"
        );
        documented.push(event_type);
    }
    for event_type in EVENT_TYPES {
        assert!(
            documented.iter().any(|documented| documented == event_type),
            "no payload documents {event_type}"
        );
    }
    Ok(())
}
