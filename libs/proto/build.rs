//! Compiles `proto/hearth/**/*.proto` with protox (a pure-Rust protobuf compiler), so that no
//! system `protoc` is needed, and writes the descriptor sets for server reflection: Hearth's,
//! and that of the `google.rpc` error details its errors carry (`proto/google/rpc`, vendored
//! from googleapis), so that reflection clients can decode them.

use std::path::{Path, PathBuf};

fn collect_protos(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, found)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            found.push(path);
        }
    }
    Ok(())
}

// Cargo hands a build script its inputs in the environment; that is not a setting.
#[allow(clippy::disallowed_methods)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto");
    let mut files = Vec::new();
    collect_protos(&proto_root.join("hearth"), &mut files)?;
    files.sort();
    println!("cargo:rerun-if-changed={}", proto_root.display());
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let descriptor_set = protox::Compiler::new([&proto_root])?
        .include_imports(true)
        .include_source_info(true)
        .open_files(&files)?
        .file_descriptor_set();

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptor_bytes = prost::Message::encode_to_vec(&descriptor_set);
    std::fs::write(out_dir.join("hearth_descriptor.bin"), descriptor_bytes)?;

    // Served by reflection only: tonic-types has the Rust types. Under googleapis' own file
    // names, which clients that know them already expect.
    let google_rpc = ["google/rpc/status.proto", "google/rpc/error_details.proto"];
    for file in google_rpc {
        println!("cargo:rerun-if-changed={}", proto_root.join(file).display());
    }
    let google_rpc_set = protox::Compiler::new([&proto_root])?
        .include_imports(true)
        .include_source_info(true)
        .open_files(google_rpc)?
        .file_descriptor_set();
    std::fs::write(
        out_dir.join("google_rpc_descriptor.bin"),
        prost::Message::encode_to_vec(&google_rpc_set),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // RPCs that a service has not built yet answer `Unimplemented` (docs/design.md#work-in-stages).
        .generate_default_stubs(true)
        .compile_fds(descriptor_set)?;
    Ok(())
}
