//! The tower layer every Hearth gRPC server puts in front of its services, so that no handler
//! checks tokens by hand:
//!
//! ```text
//! tonic::transport::Server::builder()
//!     .layer(AuthLayer::new(verifier))
//!     .add_service(...)
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tonic::Status;
use tower::{Layer, Service};

use crate::principal::Principal;
use crate::verifier::TokenVerifier;

/// Path prefixes served without a token: Kubernetes probes send none, and reflection only
/// describes the API (both `grpc.reflection.v1` and `v1alpha`).
const PUBLIC_PATH_PREFIXES: [&str; 2] = ["/grpc.health.v1.Health/", "/grpc.reflection."];

/// Whether a request path is served without a token.
pub fn is_public_path(path: &str) -> bool {
    PUBLIC_PATH_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

/// Verifies the bearer token of every call except health and reflection, and puts the
/// [`Principal`] into the request's extensions for [`principal`] to find.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    verifier: TokenVerifier,
}

impl AuthLayer {
    /// A layer verifying with `verifier` (a `TokenVerifier` or an `Arc` of one).
    pub fn new(verifier: impl Into<TokenVerifier>) -> Self {
        Self {
            verifier: verifier.into(),
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around the server's routes.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    verifier: TokenVerifier,
}

impl<S, B, ResBody> Service<http::Request<B>> for AuthService<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>>,
    ResBody: Default,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = AuthFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if is_public_path(request.uri().path()) {
            return AuthFuture::Forwarded {
                inner: self.inner.call(request),
            };
        }
        match self.verifier.verify_headers(request.headers()) {
            Ok(principal) => {
                request.extensions_mut().insert(principal);
                AuthFuture::Forwarded {
                    inner: self.inner.call(request),
                }
            }
            Err(error) => {
                // The error's text never contains the token; debug level because refusals
                // are the caller's business and can be many.
                tracing::debug!(path = request.uri().path(), %error, "refused gRPC call");
                // A gRPC error is an HTTP 200 whose `grpc-status`/`grpc-message` headers carry
                // the code ("trailers-only"); `Status::into_http` writes exactly that.
                AuthFuture::Refused {
                    response: Some(Status::from(error).into_http()),
                }
            }
        }
    }
}

pin_project! {
    /// The response future of [`AuthService`]: the inner service's, or an immediate refusal.
    #[project = AuthFutureProjection]
    pub enum AuthFuture<F, ResBody> {
        /// The call went on to the inner service.
        Forwarded { #[pin] inner: F },
        /// The call was refused; the response is ready.
        Refused { response: Option<http::Response<ResBody>> },
    }
}

impl<F, ResBody, E> Future for AuthFuture<F, ResBody>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: Default,
{
    type Output = Result<http::Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AuthFutureProjection::Forwarded { inner } => inner.poll(cx),
            AuthFutureProjection::Refused { response } => Poll::Ready(Ok(response
                .take()
                // Polled again after completion, a contract breach by the caller: answer
                // rather than panic.
                .unwrap_or_else(|| Status::internal("response already taken").into_http()))),
        }
    }
}

/// The caller of a gRPC handler, as verified by [`AuthLayer`].
///
/// `Unauthenticated` if there is none, which only happens when the server was built without
/// the layer (or for a health/reflection path): refusing is the safe failure.
pub fn principal<T>(request: &tonic::Request<T>) -> Result<&Principal, Status> {
    request.extensions().get::<Principal>().ok_or_else(|| {
        tracing::warn!("gRPC handler found no principal: is AuthLayer installed?");
        Status::unauthenticated("no verified caller for this request")
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use hearth_domain::Clock;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use tonic::body::Body;
    use tower::ServiceExt;

    use super::*;
    use crate::test_support::{Fixture, code};
    use crate::{DevelopmentKey, Role};

    /// A stand-in for the server's routes: counts calls and echoes the principal's subject.
    #[derive(Clone, Default)]
    struct Inner {
        calls: Arc<AtomicUsize>,
    }

    impl Service<http::Request<Body>> for Inner {
        type Response = http::Response<Body>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Self::Response, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: http::Request<Body>) -> Self::Future {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let mut response = http::Response::new(Body::default());
            if let Some(principal) = request.extensions().get::<Principal>() {
                response
                    .headers_mut()
                    .insert("x-subject", principal.subject().parse().unwrap());
            }
            std::future::ready(Ok(response))
        }
    }

    impl tonic::server::NamedService for Inner {
        const NAME: &'static str = "hearth.test.v1.Test";
    }

    fn grpc_request(path: &str, token: Option<&str>) -> http::Request<Body> {
        let mut builder = http::Request::builder()
            .method("POST")
            .uri(format!("http://localhost{path}"))
            .header("content-type", "application/grpc");
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        builder.body(Body::default()).unwrap()
    }

    const PATH: &str = "/hearth.intake.v1.IntakeService/ListRequests";

    async fn call(
        fixture: &Fixture,
        path: &str,
        token: Option<&str>,
    ) -> (http::Response<Body>, usize) {
        let inner = Inner::default();
        let service = AuthLayer::new(fixture.verifier.clone()).layer(inner.clone());
        let response = service.oneshot(grpc_request(path, token)).await.unwrap();
        (response, inner.calls.load(Ordering::SeqCst))
    }

    fn grpc_status(response: &http::Response<Body>) -> Option<&str> {
        response
            .headers()
            .get("grpc-status")
            .map(|value| value.to_str().unwrap())
    }

    /// Asserts a trailers-only refusal with `code` that never reached the inner service.
    async fn assert_refused(fixture: &Fixture, token: Option<&str>, code: tonic::Code) {
        let (response, calls) = call(fixture, PATH, token).await;
        assert_eq!(response.status(), http::StatusCode::OK);
        assert_eq!(
            grpc_status(&response),
            Some((code as i32).to_string().as_str())
        );
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            "application/grpc"
        );
        let message = response
            .headers()
            .get("grpc-message")
            .unwrap()
            .to_str()
            .unwrap();
        if let Some(token) = token {
            assert!(!message.contains(token));
        }
        assert_eq!(calls, 0, "refused calls must not reach the service");
    }

    #[tokio::test]
    async fn no_token_is_unauthenticated() {
        assert_refused(&Fixture::new(), None, tonic::Code::Unauthenticated).await;
    }

    #[tokio::test]
    async fn garbage_is_unauthenticated() {
        assert_refused(
            &Fixture::new(),
            Some("garbage"),
            tonic::Code::Unauthenticated,
        )
        .await;
    }

    #[tokio::test]
    async fn expired_is_unauthenticated() {
        let fixture = Fixture::new();
        let token = fixture.unit_staff_token();
        fixture.clock.advance(chrono::TimeDelta::hours(2));
        assert_refused(&fixture, Some(&token), tonic::Code::Unauthenticated).await;
    }

    #[tokio::test]
    async fn another_key_is_unauthenticated() {
        let fixture = Fixture::new();
        let token = DevelopmentKey::generate()
            .unwrap()
            .mint_at(
                fixture.request(&[Role::Admin], None),
                fixture.clock.now_utc(),
            )
            .unwrap();
        assert_refused(&fixture, Some(&token), tonic::Code::Unauthenticated).await;
    }

    #[tokio::test]
    async fn another_county_is_permission_denied() {
        let fixture = Fixture::new();
        let mut request = fixture.request(&[Role::UnitStaff], None);
        request.county = hearth_domain::CountySlug::parse("skane").unwrap();
        let token = fixture.mint(request);
        assert_refused(&fixture, Some(&token), tonic::Code::PermissionDenied).await;
    }

    #[tokio::test]
    async fn hs256_is_unauthenticated() {
        let fixture = Fixture::new();
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &fixture.good_claims(),
            &EncodingKey::from_secret(b"a shared secret"),
        )
        .unwrap();
        assert_refused(&fixture, Some(&token), tonic::Code::Unauthenticated).await;
    }

    #[tokio::test]
    async fn health_and_reflection_pass_without_a_token() {
        let fixture = Fixture::new();
        for path in [
            "/grpc.health.v1.Health/Check",
            "/grpc.health.v1.Health/Watch",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            let (response, calls) = call(&fixture, path, None).await;
            assert_eq!(calls, 1, "{path}");
            assert_eq!(grpc_status(&response), None, "{path}");
        }
        // A look-alike path is not exempt.
        assert!(!is_public_path("/grpc.healthy.v1.Health/Check"));
        assert!(!is_public_path("/hearth.intake.v1.IntakeService/Register"));
    }

    #[tokio::test]
    async fn valid_token_puts_the_principal_in_extensions() {
        let fixture = Fixture::new();
        let token = fixture.mint(fixture.request(&[Role::MunicipalityStaff], Some("2080")));
        let (response, calls) = call(&fixture, PATH, Some(&token)).await;
        assert_eq!(calls, 1);
        assert_eq!(grpc_status(&response), None);
        assert_eq!(response.headers().get("x-subject").unwrap(), "user-42");
    }

    #[test]
    fn principal_helper_reads_the_extension() {
        let fixture = Fixture::new();
        let verified = fixture
            .verifier
            .verify(&fixture.mint(fixture.request(&[Role::MunicipalityStaff], Some("2080"))))
            .unwrap();
        let mut http_request = http::Request::new(());
        http_request.extensions_mut().insert(verified);
        let request = tonic::Request::from_http(http_request);
        let found = principal(&request).unwrap();
        assert!(found.require_municipality_scope(&code("2080")).is_ok());
        assert!(found.require_municipality_scope(&code("2081")).is_err());
        assert_eq!(found.visible_municipality(), Some(code("2080")));

        let bare = tonic::Request::new(());
        assert_eq!(
            principal(&bare).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
    }

    /// Compile-time check that the layer fits `Server::builder().layer(..)`; the future is
    /// built (which checks every bound of `serve`) and dropped without running.
    #[test]
    fn fits_tonic_server_builder() {
        let fixture = Fixture::new();
        let router = tonic::transport::Server::builder()
            .layer(AuthLayer::new(Arc::new(fixture.verifier.clone())))
            .add_service(Inner::default());
        let serving = router.serve_with_shutdown("127.0.0.1:0".parse().unwrap(), async {});
        drop(serving);
    }
}
