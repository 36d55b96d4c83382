//! Hearth's contracts as Rust types: one module per protobuf package, generated at build time
//! from `proto/` (see `build.rs`), the encoded descriptor set that server reflection serves, and
//! the renderer of the API reference (`docs/API.md`) from the protos' comments.

/// Every Hearth `.proto` file with its imports, encoded as a `FileDescriptorSet`, with source
/// info (comments) kept so that reflection clients and the API reference show the documentation.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/hearth_descriptor.bin"));

/// `google/rpc/status.proto` and `google/rpc/error_details.proto` (vendored from googleapis in
/// `proto/google/rpc`) with their imports, encoded as a `FileDescriptorSet`: the `BadRequest`,
/// `ErrorInfo` and other details that Hearth's errors carry, for server reflection.
pub const GOOGLE_RPC_FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/google_rpc_descriptor.bin"));

pub mod convert;
pub mod reference;

macro_rules! package {
    ($name:ident, $file:literal) => {
        // Generated code: the lints are for code we write by hand.
        #[allow(clippy::all, clippy::pedantic, missing_docs)]
        pub mod $name {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/", $file, ".rs"));
            }
        }
    };
}

package!(common, "hearth.common.v1");
package!(events, "hearth.events.v1");
package!(intake, "hearth.intake.v1");
package!(assessment, "hearth.assessment.v1");
package!(matching, "hearth.matching.v1");
package!(training, "hearth.training.v1");
package!(followup, "hearth.followup.v1");
package!(allocation, "hearth.allocation.v1");
