//! Server reflection over real gRPC: a stock client must find the `google.rpc` error details
//! that Hearth's errors carry, in both reflection versions, or it prints them as base64.

use std::net::SocketAddr;

use prost::Message as _;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Channel;

async fn serve_reflection() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let (v1, v1alpha) = hearth_rpc::runtime::reflection_services().expect("reflection builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    let server = tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(v1)
            .add_service(v1alpha)
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
            .expect("serve");
    });
    (address, server)
}

async fn channel(address: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{address}"))
        .expect("a URI")
        .connect()
        .await
        .expect("connect")
}

/// The file that defines `symbol`, and the message names in it.
fn file_and_messages(encoded: &[Vec<u8>], symbol: &str) -> (String, Vec<String>) {
    let files: Vec<prost_types::FileDescriptorProto> = encoded
        .iter()
        .map(|bytes| prost_types::FileDescriptorProto::decode(bytes.as_slice()).expect("decode"))
        .collect();
    let short = symbol.rsplit('.').next().unwrap_or(symbol);
    let file = files
        .iter()
        .find(|file| file.message_type.iter().any(|m| m.name() == short))
        .unwrap_or_else(|| panic!("no file defines {symbol}: {files:?}"));
    (
        file.name().to_owned(),
        file.message_type
            .iter()
            .map(|m| m.name().to_owned())
            .collect(),
    )
}

#[tokio::test]
async fn error_details_are_served_to_v1_clients() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let (address, server) = serve_reflection().await;
    let mut client = ServerReflectionClient::new(channel(address).await);
    let requests = [
        "google.rpc.BadRequest",
        "google.rpc.ErrorInfo",
        "google.rpc.Status",
    ]
    .map(|symbol| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(symbol.to_owned())),
    });
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(requests.clone()))
        .await
        .expect("reflection answers")
        .into_inner();
    for (request, expected_file) in requests.iter().zip([
        "google/rpc/error_details.proto",
        "google/rpc/error_details.proto",
        "google/rpc/status.proto",
    ]) {
        let Some(MessageRequest::FileContainingSymbol(symbol)) = &request.message_request else {
            unreachable!()
        };
        match responses
            .message()
            .await
            .expect("a response")
            .expect("not ended")
            .message_response
        {
            Some(MessageResponse::FileDescriptorResponse(files)) => {
                let (file, messages) = file_and_messages(&files.file_descriptor_proto, symbol);
                assert_eq!(file, expected_file, "{symbol}");
                let short = symbol.rsplit('.').next().unwrap_or_default();
                assert!(messages.iter().any(|m| m == short), "{messages:?}");
            }
            other => panic!("expected the file of {symbol}, got {other:?}"),
        }
    }
    server.abort();
}

#[tokio::test]
async fn error_details_are_served_to_v1alpha_clients() {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;

    let (address, server) = serve_reflection().await;
    let mut client = ServerReflectionClient::new(channel(address).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(
            "google.rpc.BadRequest".to_owned(),
        )),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection answers")
        .into_inner();
    match responses
        .message()
        .await
        .expect("a response")
        .expect("not ended")
        .message_response
    {
        Some(MessageResponse::FileDescriptorResponse(files)) => {
            let (file, messages) =
                file_and_messages(&files.file_descriptor_proto, "google.rpc.BadRequest");
            assert_eq!(file, "google/rpc/error_details.proto");
            assert!(messages.iter().any(|m| m == "ErrorInfo"), "{messages:?}");
        }
        other => panic!("expected the file of google.rpc.BadRequest, got {other:?}"),
    }
    server.abort();
}
