//! Fetching a scrape endpoint: one HTTP/1.1 GET with hyper over a plain TCP connection, within
//! a time limit. Only `http://` (the endpoint is inside the cluster, or port-forwarded).

use http::{Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use std::fmt;
use std::time::Duration;
use tokio::net::TcpStream;

/// How long one scrape may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// A scrape larger than this is refused (Hearth's is some tens of kilobytes).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// A scrape endpoint's address, checked when the command line is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    url: String,
    uri: Uri,
    host: String,
    port: u16,
}

impl Target {
    /// `http://host[:port]/path`; the port defaults to 80.
    pub fn parse(url: &str) -> Result<Target, String> {
        let uri: Uri = url
            .parse()
            .map_err(|error| format!("not a URL ({error}): {url}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!(
                "only http:// URLs can be scraped, e.g. http://127.0.0.1:9464/metrics: {url}"
            ));
        }
        let authority = uri.authority().ok_or_else(|| format!("no host in {url}"))?;
        if authority.as_str().contains('@') {
            return Err(format!("user names and passwords are not supported: {url}"));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = authority.port_u16().unwrap_or(80);
        Ok(Target {
            url: url.to_owned(),
            uri,
            host,
            port,
        })
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Display for Target {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.url)
    }
}

/// Why a scrape brought nothing back. Each cause is said in the message and is not also a
/// `source()`, so that a report says it once.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error("no answer within {} s", TIMEOUT.as_secs())]
    TimedOut,
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("HTTP: {0}")]
    Http(hyper::Error),
    #[error("cannot build the request: {0}")]
    Request(http::Error),
    #[error("HTTP status {0} (is this a Prometheus scrape endpoint?)")]
    Status(StatusCode),
    #[error("cannot read the body: {0}")]
    Body(String),
    #[error("the body is not UTF-8 text")]
    NotText,
}

impl From<hyper::Error> for ScrapeError {
    fn from(error: hyper::Error) -> Self {
        Self::Http(error)
    }
}

impl From<http::Error> for ScrapeError {
    fn from(error: http::Error) -> Self {
        Self::Request(error)
    }
}

/// GET the scrape text from `target`, within [`TIMEOUT`].
pub async fn fetch(target: &Target) -> Result<String, ScrapeError> {
    tokio::time::timeout(TIMEOUT, fetch_without_timeout(target))
        .await
        .map_err(|_| ScrapeError::TimedOut)?
}

async fn fetch_without_timeout(target: &Target) -> Result<String, ScrapeError> {
    let stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(ScrapeError::Connect)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The connection does the I/O; it ends when the response is read (or the task is dropped
    // with the runtime).
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let path = target
        .uri
        .path_and_query()
        .map_or("/", |path| path.as_str());
    let authority = target
        .uri
        .authority()
        .map_or(target.host.as_str(), |authority| authority.as_str());
    let request = Request::get(path)
        .header(header::HOST, authority)
        .header(header::ACCEPT, "text/plain;version=0.0.4")
        .header(header::USER_AGENT, "hearth-top")
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    if response.status() != StatusCode::OK {
        return Err(ScrapeError::Status(response.status()));
    }
    let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|error| ScrapeError::Body(error.to_string()))?
        .to_bytes();
    String::from_utf8(body.to_vec()).map_err(|_| ScrapeError::NotText)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[test]
    fn targets_are_plain_http_urls() {
        let target = Target::parse("http://127.0.0.1:9464/metrics").unwrap();
        assert_eq!((target.host.as_str(), target.port), ("127.0.0.1", 9464));
        let target = Target::parse("http://[::1]/metrics").unwrap();
        assert_eq!((target.host.as_str(), target.port), ("::1", 80));
        assert!(
            Target::parse("https://hearth:9464/metrics")
                .unwrap_err()
                .contains("only http://")
        );
        assert!(Target::parse("127.0.0.1:9464").is_err());
        assert!(Target::parse("http://user:pw@hearth/metrics").is_err());
        assert!(Target::parse("not a url").is_err());
    }

    /// Answer one connection with `response`, after reading the request.
    async fn answer_once(response: &'static str) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = vec![0; 4096];
            let _ = stream.read(&mut request).await;
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
        Target::parse(&format!("http://{addr}/metrics")).unwrap()
    }

    #[tokio::test]
    async fn fetches_the_body() {
        let target = answer_once(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 8\r\n\
             connection: close\r\n\r\nup 1\nx 2",
        )
        .await;
        assert_eq!(fetch(&target).await.unwrap(), "up 1\nx 2");
    }

    #[tokio::test]
    async fn failures_are_named() {
        let target = answer_once("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").await;
        let error = fetch(&target).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "HTTP status 404 Not Found (is this a Prometheus scrape endpoint?)"
        );

        let target = answer_once("this is not HTTP\r\n\r\n").await;
        assert!(matches!(fetch(&target).await, Err(ScrapeError::Http(_))));

        // A port nobody listens on.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let target = Target::parse(&format!("http://{addr}/metrics")).unwrap();
        let error = fetch(&target).await.unwrap_err();
        assert!(error.to_string().starts_with("cannot connect: "), "{error}");
    }

    #[tokio::test]
    async fn an_endpoint_that_never_answers_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let holder = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::time::sleep(TIMEOUT * 2).await;
            drop(stream);
        });
        let target = Target::parse(&format!("http://{addr}/metrics")).unwrap();
        let error = fetch(&target).await.unwrap_err();
        assert_eq!(error.to_string(), "no answer within 3 s");
        holder.abort();
    }
}
