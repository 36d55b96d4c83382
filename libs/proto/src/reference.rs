//! Hearth's API reference, rendered as markdown from the comments in the protos.
//!
//! The input is an encoded `FileDescriptorSet` with source info (such as
//! [`crate::FILE_DESCRIPTOR_SET`]); the comments come from its `source_code_info` locations. Only
//! the `hearth.*` packages are rendered; imports such as `google.protobuf` are linked by name. The
//! output is deterministic: packages by name, and within a package everything in the order of the
//! files (by path) and of the declarations in them.
//!
//! `docs/API.md` is this output; the test `tests/api_reference.rs` keeps it up to date.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use prost::Message as _;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    FileDescriptorSet, ServiceDescriptorProto,
};

/// Packages whose name starts with this are Hearth's own and are rendered.
pub const HEARTH_PACKAGE_PREFIX: &str = "hearth.";

/// The command that regenerates `docs/API.md`, quoted in its header.
pub const REGENERATE_COMMAND: &str =
    "HEARTH_UPDATE_API_DOCS=1 cargo test -p hearth-proto --test api_reference";

// Field numbers in descriptor.proto, which make up the paths of `source_code_info` locations.
const FILE_PACKAGE: i32 = 2;
const FILE_MESSAGE_TYPE: i32 = 4;
const FILE_ENUM_TYPE: i32 = 5;
const FILE_SERVICE: i32 = 6;
const MESSAGE_FIELD: i32 = 2;
const MESSAGE_NESTED_TYPE: i32 = 3;
const MESSAGE_ENUM_TYPE: i32 = 4;
const MESSAGE_ONEOF_DECL: i32 = 8;
const ENUM_VALUE: i32 = 2;
const SERVICE_METHOD: i32 = 2;

/// Renders the API reference of every `hearth.*` package in `descriptor_set` as markdown.
pub fn render_markdown(descriptor_set: &[u8]) -> Result<String, prost::DecodeError> {
    let model = Model::decode(descriptor_set)?;
    let mut out = Markdown::default();
    out.line("# Hearth API reference");
    out.blank();
    out.line(
        "Generated from the comments in `proto/` by `libs/proto/tests/api_reference.rs`: do not edit \
         by hand; change the protos and regenerate with",
    );
    out.line(format!("`{REGENERATE_COMMAND}`."));
    out.blank();
    out.line(
        "Roles named in the RPCs: **unit staff** (the whole county), **municipality staff** (their \
         own municipality only), **finance**, **public intake** (may only register interest and \
         answer surveys), **admin**.",
    );
    out.blank();
    out.line("## Packages");
    out.blank();
    for package in model.packages.values() {
        let summary = first_sentence(&package.comment);
        let link = format!("[`{}`](#{})", package.name, package.name);
        if summary.is_empty() {
            out.line(format!("- {link}"));
        } else {
            out.line(format!("- {link}: {summary}"));
        }
    }
    for package in model.packages.values() {
        render_package(&mut out, &model, package);
    }
    Ok(out.finish())
}

/// Every element of the `hearth.*` packages that has no comment, by a readable name such as
/// `field hearth.intake.v1.PlacementRequest.needs`: packages (their `package` statement in each
/// file), services, RPCs, messages, fields, oneofs, enums and enum values.
pub fn undocumented(descriptor_set: &[u8]) -> Result<Vec<String>, prost::DecodeError> {
    let model = Model::decode(descriptor_set)?;
    let mut missing = Vec::new();
    for package in model.packages.values() {
        for (file, comment) in &package.file_comments {
            if comment.is_empty() {
                missing.push(format!("package statement in {file}"));
            }
        }
        for service in &package.services {
            if service.comment.is_empty() {
                missing.push(format!("service {}", service.full_name));
            }
            for rpc in &service.rpcs {
                if rpc.comment.is_empty() {
                    missing.push(format!("rpc {}.{}", service.full_name, rpc.name));
                }
            }
        }
        for message in &package.messages {
            if message.comment.is_empty() {
                missing.push(format!("message {}", message.full_name));
            }
            for field in &message.fields {
                if field.comment.is_empty() {
                    missing.push(format!("field {}.{}", message.full_name, field.name));
                }
            }
            for oneof in &message.oneofs {
                if oneof.comment.is_empty() {
                    missing.push(format!("oneof {}.{}", message.full_name, oneof.name));
                }
            }
        }
        for enumeration in &package.enums {
            if enumeration.comment.is_empty() {
                missing.push(format!("enum {}", enumeration.full_name));
            }
            for value in &enumeration.values {
                if value.comment.is_empty() {
                    missing.push(format!(
                        "enum value {}.{}",
                        enumeration.full_name, value.name
                    ));
                }
            }
        }
    }
    Ok(missing)
}

fn render_package(out: &mut Markdown, model: &Model, package: &Package) {
    out.blank();
    out.anchor(&package.name);
    out.line(format!("## {}", package.name));
    out.blank();
    out.paragraphs(&package.comment);
    let files: Vec<String> = package
        .file_comments
        .keys()
        .map(|file| format!("`{file}`"))
        .collect();
    out.line(format!("Files: {}.", files.join(", ")));

    for service in &package.services {
        out.blank();
        out.anchor(&service.full_name);
        out.line(format!("### Service {}", service.name));
        out.blank();
        out.paragraphs(&service.comment);
        out.line("| RPC | Request | Response |");
        out.line("|---|---|---|");
        for rpc in &service.rpcs {
            out.line(format!(
                "| [{}](#{}.{}) | {} | {} |",
                rpc.name,
                service.full_name,
                rpc.name,
                model.type_link(&package.name, &rpc.input_type),
                model.type_link(&package.name, &rpc.output_type),
            ));
        }
        for rpc in &service.rpcs {
            out.blank();
            out.anchor(&format!("{}.{}", service.full_name, rpc.name));
            out.line(format!("#### {}.{}", service.name, rpc.name));
            out.blank();
            out.line(format!(
                "{} → {}",
                model.type_link(&package.name, &rpc.input_type),
                model.type_link(&package.name, &rpc.output_type),
            ));
            out.blank();
            out.paragraphs(&rpc.comment);
        }
    }

    if !package.messages.is_empty() {
        out.blank();
        out.line("### Messages");
    }
    for message in &package.messages {
        out.blank();
        out.anchor(&message.full_name);
        out.line(format!("#### {}", message.display_name));
        out.blank();
        out.paragraphs(&message.comment);
        if message.fields.is_empty() {
            out.line("No fields.");
            continue;
        }
        out.line("| Field | Number | Type | Description |");
        out.line("|---|---|---|---|");
        for field in &message.fields {
            let mut description = String::new();
            if let Some(oneof) = &field.oneof {
                description.push_str(&format!("One of `{oneof}`. "));
            }
            if field.deprecated {
                description.push_str("**Deprecated.** ");
            }
            description.push_str(&table_cell(&field.comment));
            out.line(format!(
                "| `{}` | {} | {} | {} |",
                field.name,
                field.number,
                model.field_type(&package.name, field),
                description.trim_end(),
            ));
        }
        for oneof in &message.oneofs {
            out.blank();
            out.line(format!(
                "Oneof `{}`: {}",
                oneof.name,
                table_cell(&oneof.comment)
            ));
        }
    }

    if !package.enums.is_empty() {
        out.blank();
        out.line("### Enums");
    }
    for enumeration in &package.enums {
        out.blank();
        out.anchor(&enumeration.full_name);
        out.line(format!("#### {}", enumeration.display_name));
        out.blank();
        out.paragraphs(&enumeration.comment);
        out.line("| Value | Number | Description |");
        out.line("|---|---|---|");
        for value in &enumeration.values {
            out.line(format!(
                "| `{}` | {} | {} |",
                value.name,
                value.number,
                table_cell(&value.comment)
            ));
        }
    }
}

/// The `hearth.*` packages of a descriptor set, with their comments.
struct Model {
    packages: BTreeMap<String, Package>,
    /// Full names (without the leading dot) of every type rendered, so that links only point at
    /// anchors that exist.
    rendered_types: BTreeSet<String>,
    /// Map-entry messages by full name, so that map fields render as `map<K, V>`.
    map_entries: HashMap<String, (FieldDescriptorProto, FieldDescriptorProto)>,
}

#[derive(Default)]
struct Package {
    name: String,
    /// The package statements' comments, joined (paragraphs that repeat are kept once).
    comment: Vec<String>,
    /// The package statement's comment of each file, by file path.
    file_comments: BTreeMap<String, Vec<String>>,
    services: Vec<Service>,
    messages: Vec<MessageDoc>,
    enums: Vec<EnumDoc>,
}

struct Service {
    name: String,
    full_name: String,
    comment: Vec<String>,
    rpcs: Vec<Rpc>,
}

struct Rpc {
    name: String,
    input_type: String,
    output_type: String,
    comment: Vec<String>,
}

struct MessageDoc {
    /// Name within the package, e.g. `Outer.Inner`.
    display_name: String,
    full_name: String,
    comment: Vec<String>,
    fields: Vec<FieldDoc>,
    oneofs: Vec<OneofDoc>,
}

struct FieldDoc {
    name: String,
    number: i32,
    label: Label,
    kind: Type,
    type_name: String,
    proto3_optional: bool,
    oneof: Option<String>,
    deprecated: bool,
    comment: Vec<String>,
}

struct OneofDoc {
    name: String,
    comment: Vec<String>,
}

struct EnumDoc {
    display_name: String,
    full_name: String,
    comment: Vec<String>,
    values: Vec<EnumValueDoc>,
}

struct EnumValueDoc {
    name: String,
    number: i32,
    comment: Vec<String>,
}

/// The comments of one file, by location path.
struct Comments(HashMap<Vec<i32>, Vec<String>>);

impl Comments {
    fn of(file: &FileDescriptorProto) -> Self {
        let mut by_path = HashMap::new();
        for location in file.source_code_info.iter().flat_map(|info| &info.location) {
            let mut lines = comment_lines(location.leading_comments.as_deref().unwrap_or(""));
            let trailing = comment_lines(location.trailing_comments.as_deref().unwrap_or(""));
            if !lines.is_empty() && !trailing.is_empty() {
                lines.push(String::new());
            }
            lines.extend(trailing);
            if !lines.is_empty() {
                by_path.insert(location.path.clone(), lines);
            }
        }
        Self(by_path)
    }

    fn at(&self, path: &[i32]) -> Vec<String> {
        self.0.get(path).cloned().unwrap_or_default()
    }
}

impl Model {
    fn decode(descriptor_set: &[u8]) -> Result<Self, prost::DecodeError> {
        let set = FileDescriptorSet::decode(descriptor_set)?;
        let mut model = Model {
            packages: BTreeMap::new(),
            rendered_types: BTreeSet::new(),
            map_entries: HashMap::new(),
        };
        let mut files: Vec<&FileDescriptorProto> = set.file.iter().collect();
        files.sort_by(|a, b| a.name().cmp(b.name()));
        for file in &files {
            collect_map_entries(&mut model.map_entries, file.package(), &file.message_type);
        }
        for file in files {
            if !file.package().starts_with(HEARTH_PACKAGE_PREFIX) {
                continue;
            }
            model.add_file(file);
        }
        Ok(model)
    }

    fn add_file(&mut self, file: &FileDescriptorProto) {
        let comments = Comments::of(file);
        let package_name = file.package().to_owned();
        let package = self.packages.entry(package_name.clone()).or_default();
        package.name.clone_from(&package_name);
        let package_comment = comments.at(&[FILE_PACKAGE]);
        for paragraph in split_paragraphs(&package_comment) {
            if !split_paragraphs(&package.comment).contains(&paragraph) {
                if !package.comment.is_empty() {
                    package.comment.push(String::new());
                }
                package.comment.extend(paragraph);
            }
        }
        package
            .file_comments
            .insert(file.name().to_owned(), package_comment);

        for (index, service) in file.service.iter().enumerate() {
            let path = vec![FILE_SERVICE, index_i32(index)];
            package
                .services
                .push(service_doc(&package_name, service, &comments, &path));
        }
        let mut rendered = Vec::new();
        for (index, message) in file.message_type.iter().enumerate() {
            let path = vec![FILE_MESSAGE_TYPE, index_i32(index)];
            add_message(package, &mut rendered, "", message, &comments, &path);
        }
        for (index, enumeration) in file.enum_type.iter().enumerate() {
            let path = vec![FILE_ENUM_TYPE, index_i32(index)];
            let doc = enum_doc(&package_name, "", enumeration, &comments, &path);
            rendered.push(doc.full_name.clone());
            package.enums.push(doc);
        }
        self.rendered_types.extend(rendered);
    }

    /// A type name as a markdown link to its anchor when it is rendered here, relative to the
    /// package being rendered; otherwise (e.g. `google.protobuf.Timestamp`) as code.
    fn type_link(&self, current_package: &str, type_name: &str) -> String {
        let full_name = type_name.trim_start_matches('.');
        let shown = full_name
            .strip_prefix(current_package)
            .and_then(|rest| rest.strip_prefix('.'))
            .unwrap_or(full_name);
        if self.rendered_types.contains(full_name) {
            format!("[`{shown}`](#{full_name})")
        } else {
            format!("`{shown}`")
        }
    }

    fn field_type(&self, current_package: &str, field: &FieldDoc) -> String {
        if let Some((key, value)) = self
            .map_entries
            .get(field.type_name.trim_start_matches('.'))
        {
            return format!(
                "map<{}, {}>",
                self.scalar_or_link(current_package, key.r#type(), key.type_name()),
                self.scalar_or_link(current_package, value.r#type(), value.type_name()),
            );
        }
        let base = self.scalar_or_link(current_package, field.kind, &field.type_name);
        if field.label == Label::Repeated {
            format!("repeated {base}")
        } else if field.proto3_optional {
            format!("optional {base}")
        } else {
            base
        }
    }

    fn scalar_or_link(&self, current_package: &str, kind: Type, type_name: &str) -> String {
        match kind {
            Type::Message | Type::Enum | Type::Group => self.type_link(current_package, type_name),
            scalar => format!("`{}`", scalar_name(scalar)),
        }
    }
}

fn collect_map_entries(
    entries: &mut HashMap<String, (FieldDescriptorProto, FieldDescriptorProto)>,
    scope: &str,
    messages: &[DescriptorProto],
) {
    for message in messages {
        let full_name = join_name(scope, message.name());
        let is_map_entry = message
            .options
            .as_ref()
            .is_some_and(|options| options.map_entry());
        if is_map_entry && message.field.len() == 2 {
            entries.insert(
                full_name.clone(),
                (message.field[0].clone(), message.field[1].clone()),
            );
        }
        collect_map_entries(entries, &full_name, &message.nested_type);
    }
}

fn service_doc(
    package: &str,
    service: &ServiceDescriptorProto,
    comments: &Comments,
    path: &[i32],
) -> Service {
    let rpcs = service
        .method
        .iter()
        .enumerate()
        .map(|(index, method)| Rpc {
            name: method.name().to_owned(),
            input_type: method.input_type().to_owned(),
            output_type: method.output_type().to_owned(),
            comment: comments.at(&child(path, SERVICE_METHOD, index)),
        })
        .collect();
    Service {
        name: service.name().to_owned(),
        full_name: join_name(package, service.name()),
        comment: comments.at(path),
        rpcs,
    }
}

/// Adds a message and, after it, its nested messages and enums (map entries are not rendered:
/// their fields show as `map<K, V>`).
fn add_message(
    package: &mut Package,
    rendered: &mut Vec<String>,
    outer: &str,
    message: &DescriptorProto,
    comments: &Comments,
    path: &[i32],
) {
    if message
        .options
        .as_ref()
        .is_some_and(|options| options.map_entry())
    {
        return;
    }
    let display_name = join_name(outer, message.name());
    let full_name = join_name(&package.name, &display_name);
    let oneof_names: Vec<&str> = message
        .oneof_decl
        .iter()
        .map(|oneof| oneof.name())
        .collect();
    let fields = message
        .field
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let proto3_optional = field.proto3_optional();
            // A proto3 `optional` field sits in a synthetic oneof, which is not shown as a oneof.
            let oneof = field
                .oneof_index
                .filter(|_| !proto3_optional)
                .and_then(|oneof_index| usize::try_from(oneof_index).ok())
                .and_then(|oneof_index| oneof_names.get(oneof_index))
                .map(|name| (*name).to_owned());
            FieldDoc {
                name: field.name().to_owned(),
                number: field.number(),
                label: field.label(),
                kind: field.r#type(),
                type_name: field.type_name().to_owned(),
                proto3_optional,
                oneof,
                deprecated: field
                    .options
                    .as_ref()
                    .is_some_and(|options| options.deprecated()),
                comment: comments.at(&child(path, MESSAGE_FIELD, index)),
            }
        })
        .collect();
    let synthetic_oneofs: BTreeSet<i32> = message
        .field
        .iter()
        .filter(|field| field.proto3_optional())
        .filter_map(|field| field.oneof_index)
        .collect();
    let oneofs = message
        .oneof_decl
        .iter()
        .enumerate()
        .filter(|(index, _)| !synthetic_oneofs.contains(&index_i32(*index)))
        .map(|(index, oneof)| OneofDoc {
            name: oneof.name().to_owned(),
            comment: comments.at(&child(path, MESSAGE_ONEOF_DECL, index)),
        })
        .collect();
    rendered.push(full_name.clone());
    package.messages.push(MessageDoc {
        display_name: display_name.clone(),
        full_name,
        comment: comments.at(path),
        fields,
        oneofs,
    });
    for (index, nested) in message.nested_type.iter().enumerate() {
        let nested_path = child(path, MESSAGE_NESTED_TYPE, index);
        add_message(
            package,
            rendered,
            &display_name,
            nested,
            comments,
            &nested_path,
        );
    }
    for (index, enumeration) in message.enum_type.iter().enumerate() {
        let enum_path = child(path, MESSAGE_ENUM_TYPE, index);
        let doc = enum_doc(
            &package.name,
            &display_name,
            enumeration,
            comments,
            &enum_path,
        );
        rendered.push(doc.full_name.clone());
        package.enums.push(doc);
    }
}

fn enum_doc(
    package: &str,
    outer: &str,
    enumeration: &EnumDescriptorProto,
    comments: &Comments,
    path: &[i32],
) -> EnumDoc {
    let display_name = join_name(outer, enumeration.name());
    EnumDoc {
        full_name: join_name(package, &display_name),
        display_name,
        comment: comments.at(path),
        values: enumeration
            .value
            .iter()
            .enumerate()
            .map(|(index, value)| EnumValueDoc {
                name: value.name().to_owned(),
                number: value.number(),
                comment: comments.at(&child(path, ENUM_VALUE, index)),
            })
            .collect(),
    }
}

fn scalar_name(kind: Type) -> &'static str {
    match kind {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
        Type::Group => "group",
        Type::Message => "message",
        Type::Enum => "enum",
    }
}

fn join_name(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}.{name}")
    }
}

fn child(path: &[i32], field_number: i32, index: usize) -> Vec<i32> {
    let mut child = path.to_vec();
    child.push(field_number);
    child.push(index_i32(index));
    child
}

fn index_i32(index: usize) -> i32 {
    // A descriptor cannot hold more than i32::MAX elements of one kind: protobuf indexes are i32.
    i32::try_from(index).unwrap_or(i32::MAX)
}

/// The lines of a comment as protoc records it: the one space after `//` removed, trailing
/// whitespace removed, and blank lines at either end dropped.
fn comment_lines(comment: &str) -> Vec<String> {
    let mut lines: Vec<String> = comment
        .lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end().to_owned())
        .collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    let leading_blanks = lines.iter().take_while(|line| line.is_empty()).count();
    lines.drain(..leading_blanks);
    lines
}

fn split_paragraphs(lines: &[String]) -> Vec<Vec<String>> {
    let mut paragraphs = Vec::new();
    let mut current = Vec::new();
    for line in lines {
        if line.is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line.clone());
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs
}

/// The first sentence of a comment, on one line.
fn first_sentence(lines: &[String]) -> String {
    let first_paragraph = split_paragraphs(lines)
        .into_iter()
        .next()
        .unwrap_or_default();
    let text = first_paragraph.join(" ");
    match text.find(". ") {
        Some(end) => text[..=end].to_owned(),
        None => text,
    }
}

/// A comment inside a table cell: one line, pipes escaped, paragraphs separated by `<br>`.
fn table_cell(lines: &[String]) -> String {
    split_paragraphs(lines)
        .iter()
        .map(|paragraph| paragraph.join(" ").replace('|', "\\|"))
        .collect::<Vec<_>>()
        .join("<br>")
}

/// Labels that start a paragraph of their own, in bold, when a comment line begins with them.
const LABELS: [&str; 5] = [
    "Roles:",
    "Errors:",
    "Event type:",
    "Event types:",
    "Consumers:",
];

/// A markdown document under construction.
#[derive(Default)]
struct Markdown {
    text: String,
}

impl Markdown {
    fn line(&mut self, line: impl AsRef<str>) {
        self.text.push_str(line.as_ref());
        self.text.push('\n');
    }

    /// One empty line, never two in a row.
    fn blank(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with("\n\n") {
            self.text.push('\n');
        }
    }

    fn anchor(&mut self, id: &str) {
        self.line(format!("<a id=\"{id}\"></a>"));
    }

    /// A block comment as markdown paragraphs followed by an empty line; lines starting with a
    /// label such as `Roles:` begin a paragraph of their own.
    fn paragraphs(&mut self, comment: &[String]) {
        if comment.is_empty() {
            return;
        }
        for line in comment {
            match LABELS.iter().find(|label| line.starts_with(*label)) {
                Some(label) => {
                    self.blank();
                    self.line(format!("**{label}**{}", &line[label.len()..]));
                }
                None => self.line(line),
            }
        }
        self.blank();
    }

    fn finish(mut self) -> String {
        while self.text.ends_with("\n\n") {
            self.text.pop();
        }
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_lines_drop_the_space_after_the_slashes_and_blank_ends() {
        let lines = comment_lines("\n A first line.\n   indented\n\n");
        assert_eq!(
            lines,
            vec!["A first line.".to_owned(), "  indented".to_owned()]
        );
    }

    #[test]
    fn first_sentence_stops_at_the_first_full_stop() {
        let lines = vec!["One thing. Another".to_owned(), "thing.".to_owned()];
        assert_eq!(first_sentence(&lines), "One thing.");
    }

    #[test]
    fn table_cells_hold_one_line_with_escaped_pipes() {
        let lines = vec![
            "a | b".to_owned(),
            "c".to_owned(),
            String::new(),
            "d".to_owned(),
        ];
        assert_eq!(table_cell(&lines), "a \\| b c<br>d");
    }

    #[test]
    fn labels_start_their_own_paragraph() {
        let mut out = Markdown::default();
        out.paragraphs(&["Does a thing.".to_owned(), "Roles: admin.".to_owned()]);
        assert_eq!(out.finish(), "Does a thing.\n\n**Roles:** admin.\n");
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(render_markdown(&[0xff, 0xff, 0xff]).is_err());
    }
}
