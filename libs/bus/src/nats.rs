//! The production bus: NATS JetStream (async-nats), one event stream and one dead-letter
//! stream per county.
//!
//! - Streams use file storage, a maximum age equal to the replay window and a de-duplication
//!   window (2 minutes by default); they are created when missing.
//! - Publishing sets `Nats-Msg-Id` (the event id) and the given headers (the W3C trace context)
//!   and waits for the stream's acknowledgement.
//! - Consumers are durable pull consumers with explicit acknowledgement, one filter subject
//!   (NATS 2.9 allows no more) and the spec's `ack_wait`.
//! - The connection retries forever, also on the first connect, so a service starts while NATS
//!   is down and catches up when it returns; meanwhile operations fail fast with
//!   [`BusError::Unavailable`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr as _;
use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::context::{CreateStreamErrorKind, GetStreamErrorKind, PublishErrorKind};
use async_nats::jetstream::message::{Acker, PublishMessage};
use async_nats::jetstream::stream::{
    self, ConsumerError, ConsumerErrorKind, DeleteMessageErrorKind, DiscardPolicy,
    RawMessageErrorKind, RetentionPolicy, StorageType,
};
use async_nats::jetstream::{AckKind, ErrorCode};
use async_nats::{Client, ConnectOptions, HeaderMap, HeaderName, HeaderValue};
use async_trait::async_trait;
use futures::StreamExt as _;
use hearth_proto::events::v1::DeadLetter;
use std::future::Future;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::BusError;
use crate::bus::{
    AckAction, Acknowledger, ConsumerSpec, Delivery, DeliveryParts, EventBus, EventConsumer,
    OutgoingMessage, PublishAck,
};
use crate::dead_letters::{StoredDeadLetter, dead_letter_message, decode_dead_letter};
use crate::subject::{CountySubjects, subject_matches, validate_publish_subject, validate_service};

/// The header JetStream de-duplicates on.
const MSG_ID_HEADER: &str = "Nats-Msg-Id";
/// How long an operation waits for a (re)connection before it reports the bus unavailable.
const CONNECT_GRACE: Duration = Duration::from_secs(1);
/// Upper bound of one page when listing dead letters.
const LIST_BATCH: u64 = 256;

/// How to authenticate to NATS. Each county's instance should have its own user (or account)
/// allowed only `hearth.<county>.>`, `hearth-dlq.<county>.>` and its JetStream API.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum NatsAuth {
    /// No credentials (development).
    #[default]
    None,
    /// A `.creds` file (JWT and NKey seed).
    CredentialsFile(PathBuf),
    /// User and password.
    UserPassword {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
    /// A token.
    Token(String),
}

impl fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::CredentialsFile(path) => f.debug_tuple("CredentialsFile").field(path).finish(),
            Self::UserPassword { user, .. } => f
                .debug_struct("UserPassword")
                .field("user", user)
                .field("password", &"<redacted>")
                .finish(),
            Self::Token(_) => f.write_str("Token(<redacted>)"),
        }
    }
}

/// Where and how to reach NATS, and the county's stream settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfig {
    /// Server URL(s), comma-separated: `nats://127.0.0.1:4222`.
    pub url: String,
    /// The county whose streams this bus uses.
    pub county: String,
    /// Credentials.
    pub auth: NatsAuth,
    /// The connection's name as the server shows it (e.g. `hearth-matching-dalarna`).
    pub connection_name: Option<String>,
    /// Maximum age of messages in the county's streams (default 30 days).
    pub replay_window: Duration,
    /// JetStream's de-duplication window (default 2 minutes).
    pub duplicate_window: Duration,
    /// Replicas per stream (1 on a single server; 3 in a production cluster).
    pub replicas: usize,
    /// How long a JetStream request (publish acknowledgement, API call) may take.
    pub request_timeout: Duration,
    /// Longest wait between reconnection attempts.
    pub reconnect_delay_max: Duration,
}

impl NatsConfig {
    /// Defaults for `url` and `county`.
    pub fn new(url: impl Into<String>, county: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            county: county.into(),
            auth: NatsAuth::None,
            connection_name: None,
            replay_window: Duration::from_secs(30 * 24 * 60 * 60),
            duplicate_window: Duration::from_secs(120),
            replicas: 1,
            request_timeout: Duration::from_secs(5),
            reconnect_delay_max: Duration::from_secs(4),
        }
    }
}

/// The NATS JetStream bus. Cheap to clone (one connection shared).
#[derive(Clone)]
pub struct NatsBus {
    client: Client,
    jetstream: async_nats::jetstream::Context,
    subjects: CountySubjects,
    config: NatsConfig,
    /// Counts the connections made (see [`EventBus::reconnections`]).
    connections: watch::Receiver<u64>,
}

impl fmt::Debug for NatsBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsBus")
            .field("url", &self.config.url)
            .field("county", &self.subjects.county())
            .field("state", &self.client.connection_state())
            .finish()
    }
}

impl NatsBus {
    /// Connects (in the background if the server is not reachable yet: the client retries
    /// forever). Does not create the streams: call [`EventBus::ensure_streams`].
    pub async fn connect(config: NatsConfig) -> Result<Self, BusError> {
        let subjects = CountySubjects::new(&config.county)?;
        let options = match &config.auth {
            NatsAuth::None => ConnectOptions::new(),
            NatsAuth::CredentialsFile(path) => ConnectOptions::with_credentials_file(path)
                .await
                .map_err(|error| {
                    BusError::Invalid(format!("NATS credentials file {}: {error}", path.display()))
                })?,
            NatsAuth::UserPassword { user, password } => {
                ConnectOptions::with_user_and_password(user.clone(), password.clone())
            }
            NatsAuth::Token(token) => ConnectOptions::with_token(token.clone()),
        };
        let reconnect_delay_max = config.reconnect_delay_max;
        let name = config
            .connection_name
            .clone()
            .unwrap_or_else(|| format!("hearth-{}", subjects.county()));
        let (connected, connections) = watch::channel(0_u64);
        let connected = std::sync::Arc::new(connected);
        let client = options
            .name(name)
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(config.request_timeout)
            .request_timeout(Some(config.request_timeout))
            .reconnect_delay_callback(move |attempts| {
                let exponent = u32::try_from(attempts.saturating_sub(1)).unwrap_or(u32::MAX);
                let delay =
                    Duration::from_millis(10).saturating_mul(2u32.saturating_pow(exponent.min(20)));
                delay.min(reconnect_delay_max)
            })
            .event_callback(move |event| {
                let connected = std::sync::Arc::clone(&connected);
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            connected.send_modify(|count| *count += 1);
                            tracing::info!("connected to NATS");
                        }
                        async_nats::Event::Disconnected => tracing::warn!("disconnected from NATS"),
                        // Each failed reconnect attempt is one of these: keep them out of info logs;
                        // the disconnect above is the one line an operator needs.
                        async_nats::Event::ClientError(error) => {
                            tracing::debug!(%error, "NATS client error")
                        }
                        other => tracing::info!(event = %other, "NATS connection event"),
                    }
                }
            })
            .connect(config.url.as_str())
            .await
            .map_err(|error| BusError::Invalid(format!("NATS at {}: {error}", config.url)))?;
        let jetstream = async_nats::jetstream::ContextBuilder::new()
            .timeout(config.request_timeout)
            .build(client.clone());
        Ok(Self {
            client,
            jetstream,
            subjects,
            config,
            connections,
        })
    }

    /// The underlying client (for health checks).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Whether the connection is up now.
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    /// Waits up to `timeout` for the connection to be up.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<(), BusError> {
        wait_connected(&self.client, timeout).await
    }

    async fn ensure_stream(&self, name: String, subject: String) -> Result<(), BusError> {
        let desired = stream::Config {
            name: name.clone(),
            subjects: vec![subject],
            description: Some(format!(
                "Hearth events of county {}",
                self.subjects.county()
            )),
            max_age: self.config.replay_window,
            duplicate_window: self.config.duplicate_window,
            storage: StorageType::File,
            retention: RetentionPolicy::Limits,
            discard: DiscardPolicy::Old,
            num_replicas: self.config.replicas.max(1),
            ..stream::Config::default()
        };
        let mut stream = self
            .jetstream
            .get_or_create_stream(desired.clone())
            .await
            .map_err(|error| {
                let unavailable = matches!(
                    error.kind(),
                    CreateStreamErrorKind::TimedOut
                        | CreateStreamErrorKind::JetStreamUnavailable
                        | CreateStreamErrorKind::Response
                );
                classify(unavailable, format!("creating stream {name}: {error}"))
            })?;
        let current = stream.cached_info().config.clone();
        if current.subjects != desired.subjects {
            return Err(BusError::Rejected(format!(
                "stream {name} exists with subjects {:?}, expected {:?}",
                current.subjects, desired.subjects
            )));
        }
        if current.max_age != desired.max_age
            || current.duplicate_window != desired.duplicate_window
        {
            let updated = stream::Config {
                max_age: desired.max_age,
                duplicate_window: desired.duplicate_window,
                ..current
            };
            self.jetstream
                .update_stream(updated)
                .await
                .map_err(|error| BusError::Rejected(format!("updating stream {name}: {error}")))?;
            stream.info().await.map_err(|error| {
                BusError::Unavailable(format!("reading stream {name}: {error}"))
            })?;
        }
        Ok(())
    }

    /// The county's event stream, created if missing.
    async fn events_stream(&self) -> Result<stream::Stream, BusError> {
        let name = self.subjects.events_stream();
        match self.get_stream(&name).await? {
            Some(stream) => Ok(stream),
            None => {
                self.ensure_streams().await?;
                self.get_stream(&name).await?.ok_or_else(|| {
                    BusError::Rejected(format!("stream {name} is missing after creating it"))
                })
            }
        }
    }

    async fn get_stream(&self, name: &str) -> Result<Option<stream::Stream>, BusError> {
        match self.jetstream.get_stream(name).await {
            Ok(stream) => Ok(Some(stream)),
            Err(error) => match error.kind() {
                GetStreamErrorKind::JetStream(api_error)
                    if api_error.error_code() == ErrorCode::STREAM_NOT_FOUND =>
                {
                    Ok(None)
                }
                GetStreamErrorKind::Request => Err(BusError::Unavailable(format!(
                    "reading stream {name}: {error}"
                ))),
                _ => Err(BusError::Rejected(format!(
                    "reading stream {name}: {error}"
                ))),
            },
        }
    }

    /// One publish; `Ok(None)` when no stream stores the subject.
    async fn publish_once(
        &self,
        message: &OutgoingMessage,
        headers: HeaderMap,
    ) -> Result<Option<PublishAck>, BusError> {
        wait_connected(&self.client, CONNECT_GRACE).await?;
        let mut publish = PublishMessage::build()
            .payload(message.payload.clone().into())
            .headers(headers);
        if !message.msg_id.is_empty() {
            publish = publish.message_id(&message.msg_id);
        }
        // An acknowledgement lost with its connection never comes: fail at once rather than
        // wait out the request timeout, so the relay retries as soon as NATS is back.
        let acknowledged = while_connected(&self.client, "publishing", async {
            let pending = self
                .jetstream
                .send_publish(message.subject.clone(), publish)
                .await;
            Ok(match pending {
                Ok(pending) => pending.await,
                Err(error) => Err(error),
            })
        })
        .await?;
        match acknowledged {
            Ok(ack) => Ok(Some(PublishAck {
                sequence: ack.sequence,
                duplicate: ack.duplicate,
            })),
            Err(error) => match error.kind() {
                PublishErrorKind::StreamNotFound => Ok(None),
                PublishErrorKind::MaxPayloadExceeded => Err(BusError::Invalid(format!(
                    "publishing on {}: {error}",
                    message.subject
                ))),
                PublishErrorKind::WrongLastMessageId | PublishErrorKind::WrongLastSequence => Err(
                    BusError::Rejected(format!("publishing on {}: {error}", message.subject)),
                ),
                _ => Err(BusError::Unavailable(format!(
                    "publishing on {}: {error}",
                    message.subject
                ))),
            },
        }
    }
}

#[async_trait]
impl EventBus for NatsBus {
    fn messaging_system(&self) -> &'static str {
        "nats"
    }

    fn reconnections(&self) -> Option<watch::Receiver<u64>> {
        let mut connections = self.connections.clone();
        connections.mark_unchanged();
        Some(connections)
    }

    fn county(&self) -> &str {
        self.subjects.county()
    }

    async fn ensure_streams(&self) -> Result<(), BusError> {
        wait_connected(&self.client, CONNECT_GRACE).await?;
        while_connected(&self.client, "creating the streams", async {
            self.ensure_stream(self.subjects.events_stream(), self.subjects.all_events())
                .await?;
            self.ensure_stream(
                self.subjects.dead_letter_stream(),
                self.subjects.all_dead_letters(),
            )
            .await
        })
        .await
    }

    async fn publish(&self, message: OutgoingMessage) -> Result<PublishAck, BusError> {
        validate_publish_subject(&message.subject)?;
        let headers = header_map(&message.headers)?;
        if let Some(ack) = self.publish_once(&message, headers.clone()).await? {
            return Ok(ack);
        }
        if !self.subjects.is_stored(&message.subject) {
            return Err(BusError::Rejected(format!(
                "no stream stores subject {}",
                message.subject
            )));
        }
        // "No responders" means no stream took the message. That is also what a live connection
        // gets while the server shuts down (JetStream stops before the connections close), so
        // the stream is created only when JetStream itself answers that it is missing (a new
        // server, or its store was lost); otherwise the bus is unavailable for now.
        let stream = if subject_matches(&self.subjects.all_events(), &message.subject) {
            self.subjects.events_stream()
        } else {
            self.subjects.dead_letter_stream()
        };
        let existing = while_connected(&self.client, "publishing", self.get_stream(&stream))
            .await
            .map_err(|error| {
                BusError::Unavailable(format!(
                    "JetStream did not take the message on {} and does not answer: {error}",
                    message.subject
                ))
            })?;
        if existing.is_some() {
            return Err(BusError::Unavailable(format!(
                "JetStream did not take the message on {} though stream {stream} exists: the \
                 server is stopping or starting",
                message.subject
            )));
        }
        tracing::warn!(subject = %message.subject, "stream missing on publish; creating it");
        self.ensure_streams().await?;
        self.publish_once(&message, headers).await?.ok_or_else(|| {
            BusError::Rejected(format!("no stream stores subject {}", message.subject))
        })
    }

    async fn consumer(&self, spec: ConsumerSpec) -> Result<Box<dyn EventConsumer>, BusError> {
        spec.validate()?;
        self.subjects.check_event_filter(&spec.filter_subject)?;
        wait_connected(&self.client, CONNECT_GRACE).await?;
        let stream = self.events_stream().await?;
        let desired = pull::Config {
            durable_name: Some(spec.durable_name.clone()),
            description: Some(format!("Hearth consumer {}", spec.durable_name)),
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: spec.ack_wait,
            filter_subject: spec.filter_subject.clone(),
            ..pull::Config::default()
        };
        let mut consumer: PullConsumer = stream
            .get_or_create_consumer(&spec.durable_name, desired.clone())
            .await
            .map_err(|error| consumer_error(&spec.durable_name, &error))?;
        let current = &consumer.cached_info().config;
        if current.filter_subject != desired.filter_subject || current.ack_wait != desired.ack_wait
        {
            consumer = stream.create_consumer(desired).await.map_err(|error| {
                BusError::Rejected(format!(
                    "consumer {} exists with another filter or ack wait and cannot be changed \
                     ({error}); delete it or choose another name",
                    spec.durable_name
                ))
            })?;
        }
        Ok(Box::new(NatsConsumer {
            name: spec.durable_name,
            client: self.client.clone(),
            consumer,
        }))
    }

    async fn dead_letter(
        &self,
        dead_letter: DeadLetter,
        delivered_msg_id: Option<&str>,
    ) -> Result<PublishAck, BusError> {
        let message = dead_letter_message(&self.subjects, &dead_letter, delivered_msg_id)?;
        self.publish(message).await
    }

    async fn dead_letters(&self, service: &str) -> Result<Vec<StoredDeadLetter>, BusError> {
        validate_service(service)?;
        wait_connected(&self.client, CONNECT_GRACE).await?;
        let Some(stream) = self.get_stream(&self.subjects.dead_letter_stream()).await? else {
            return Ok(Vec::new());
        };
        // A short-lived ephemeral consumer that reads the service's dead letters once.
        let reader: PullConsumer = stream
            .create_consumer(pull::Config {
                filter_subject: self.subjects.dead_letter(service)?,
                deliver_policy: DeliverPolicy::All,
                ack_policy: AckPolicy::None,
                inactive_threshold: Duration::from_secs(30),
                ..pull::Config::default()
            })
            .await
            .map_err(|error| consumer_error("(dead-letter reader)", &error))?;
        let mut remaining = reader.cached_info().num_pending;
        let mut letters = Vec::new();
        while remaining > 0 {
            let batch = reader
                .fetch()
                .max_messages(usize::try_from(remaining.min(LIST_BATCH)).unwrap_or(1))
                .messages()
                .await
                .map_err(|error| BusError::Unavailable(format!("reading dead letters: {error}")))?;
            let messages = collect(batch, self.config.request_timeout).await?;
            if messages.is_empty() {
                break;
            }
            for message in messages {
                let sequence = message
                    .info()
                    .map_err(|error| BusError::Decode(format!("JetStream metadata: {error}")))?
                    .stream_sequence;
                letters.push(decode_dead_letter(&message.payload, sequence)?);
                remaining = remaining.saturating_sub(1);
            }
        }
        let name = reader.cached_info().name.clone();
        if let Err(error) = stream.delete_consumer(&name).await {
            tracing::debug!(%error, "could not delete the dead-letter reader; it expires by itself");
        }
        Ok(letters)
    }

    async fn remove_dead_letter(&self, service: &str, sequence: u64) -> Result<(), BusError> {
        validate_service(service)?;
        let subject = self.subjects.dead_letter(service)?;
        let not_found =
            || BusError::NotFound(format!("service {service} has no dead letter {sequence}"));
        wait_connected(&self.client, CONNECT_GRACE).await?;
        let name = self.subjects.dead_letter_stream();
        let Some(stream) = self.get_stream(&name).await? else {
            return Err(not_found());
        };
        // Only messages on the service's dead-letter subject: never another service's.
        let stored =
            stream
                .get_raw_message(sequence)
                .await
                .map_err(|error| match error.kind() {
                    RawMessageErrorKind::NoMessageFound => not_found(),
                    RawMessageErrorKind::InvalidSubject => {
                        BusError::Invalid(format!("reading dead letter {sequence}: {error}"))
                    }
                    RawMessageErrorKind::JetStream(_) => {
                        BusError::Rejected(format!("reading dead letter {sequence}: {error}"))
                    }
                    _ => BusError::Unavailable(format!("reading dead letter {sequence}: {error}")),
                })?;
        if stored.subject.as_str() != subject {
            return Err(not_found());
        }
        // The server's default for a message delete is to erase it (overwrite its data), which
        // is what dead letters that may hold personal data want.
        match stream.delete_message(sequence).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(not_found()),
            Err(error) => match error.kind() {
                DeleteMessageErrorKind::JetStream(api_error)
                    if api_error.error_code() == ErrorCode::NO_MESSAGE_FOUND
                        || api_error.error_code() == ErrorCode::SEQUENCE_NOT_FOUND =>
                {
                    Err(not_found())
                }
                DeleteMessageErrorKind::JetStream(_) => Err(BusError::Rejected(format!(
                    "removing dead letter {sequence} from {name}: {error}"
                ))),
                _ => Err(BusError::Unavailable(format!(
                    "removing dead letter {sequence} from {name}: {error}"
                ))),
            },
        }
    }
}

struct NatsConsumer {
    name: String,
    client: Client,
    consumer: PullConsumer,
}

#[async_trait]
impl EventConsumer for NatsConsumer {
    fn name(&self) -> &str {
        &self.name
    }

    async fn fetch(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        let max = max.max(1);
        wait_connected(&self.client, CONNECT_GRACE).await?;
        // What is ready now (the server answers at once)…
        let mut deliveries = self.pull_ready(max).await?;
        if deliveries.is_empty() && !wait.is_zero() {
            // …else wait for one (a pull for one message, so that no pull request for more
            // stays open on the server after we return), then take what else is ready.
            let expires = wait.max(Duration::from_millis(10));
            let batch = self
                .consumer
                .batch()
                .max_messages(1)
                .expires(expires)
                .messages()
                .await
                .map_err(|error| self.unavailable(&error))?;
            deliveries = to_deliveries(collect(batch, expires + Duration::from_secs(1)).await?)?;
            if !deliveries.is_empty() && max > 1 {
                deliveries.extend(self.pull_ready(max - 1).await?);
            }
        }
        Ok(deliveries)
    }

    async fn lag(&self) -> Result<u64, BusError> {
        let info = self
            .consumer
            .get_info()
            .await
            .map_err(|error| self.unavailable(&error))?;
        Ok(info
            .num_pending
            .saturating_add(u64::try_from(info.num_ack_pending).unwrap_or(u64::MAX)))
    }
}

impl NatsConsumer {
    async fn pull_ready(&self, max: usize) -> Result<Vec<Delivery>, BusError> {
        let batch = self
            .consumer
            .fetch()
            .max_messages(max)
            .messages()
            .await
            .map_err(|error| self.unavailable(&error))?;
        to_deliveries(collect(batch, Duration::from_secs(5)).await?)
    }

    fn unavailable(&self, error: &dyn fmt::Display) -> BusError {
        BusError::Unavailable(format!("fetching from consumer {}: {error}", self.name))
    }
}

/// Reads a pull batch to its end (or until `bound`); an error after some messages ends it
/// early, an error before any is returned.
async fn collect(
    mut batch: pull::Batch,
    bound: Duration,
) -> Result<Vec<async_nats::jetstream::Message>, BusError> {
    let deadline = Instant::now() + bound;
    let mut messages = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, batch.next()).await {
            Err(_) | Ok(None) => return Ok(messages),
            Ok(Some(Ok(message))) => messages.push(message),
            Ok(Some(Err(error))) if messages.is_empty() => {
                return Err(BusError::Unavailable(format!("pulling messages: {error}")));
            }
            Ok(Some(Err(error))) => {
                tracing::debug!(%error, "pull batch ended early");
                return Ok(messages);
            }
        }
    }
}

fn to_deliveries(messages: Vec<async_nats::jetstream::Message>) -> Result<Vec<Delivery>, BusError> {
    messages.into_iter().map(to_delivery).collect()
}

fn to_delivery(message: async_nats::jetstream::Message) -> Result<Delivery, BusError> {
    let (delivered, stream_sequence) = {
        let info = message
            .info()
            .map_err(|error| BusError::Decode(format!("JetStream metadata: {error}")))?;
        (info.delivered, info.stream_sequence)
    };
    let (message, acker) = message.split();
    let mut msg_id = None;
    let mut headers = BTreeMap::new();
    if let Some(received) = &message.headers {
        for (name, values) in received.iter() {
            let Some(value) = values.last() else { continue };
            let name = name.to_string();
            if name.eq_ignore_ascii_case(MSG_ID_HEADER) {
                msg_id = Some(value.as_str().to_owned());
            } else {
                headers.insert(name, value.as_str().to_owned());
            }
        }
    }
    let parts = DeliveryParts {
        subject: message.subject.to_string(),
        msg_id,
        headers,
        payload: message.payload.to_vec(),
        delivered_count: u32::try_from(delivered).unwrap_or(u32::MAX),
        stream_sequence,
    };
    Ok(Delivery::new(parts, Box::new(NatsAcknowledger { acker })))
}

struct NatsAcknowledger {
    acker: Acker,
}

#[async_trait]
impl Acknowledger for NatsAcknowledger {
    async fn acknowledge(&self, action: AckAction) -> Result<(), BusError> {
        let kind = match action {
            AckAction::Ack => AckKind::Ack,
            AckAction::Nak(delay) if delay.is_zero() => AckKind::Nak(None),
            AckAction::Nak(delay) => AckKind::Nak(Some(delay)),
            AckAction::Term => AckKind::Term,
            AckAction::InProgress => AckKind::Progress,
        };
        self.acker
            .ack_with(kind)
            .await
            .map_err(|error| BusError::Unavailable(format!("acknowledging ({kind:?}): {error}")))
    }
}

fn header_map(headers: &BTreeMap<String, String>) -> Result<HeaderMap, BusError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if name.eq_ignore_ascii_case(MSG_ID_HEADER) {
            return Err(BusError::Invalid(format!(
                "set the message id with OutgoingMessage::msg_id, not the {MSG_ID_HEADER} header"
            )));
        }
        let header_name = HeaderName::from_str(name)
            .map_err(|_| BusError::Invalid(format!("invalid header name {name:?}")))?;
        let header_value = HeaderValue::from_str(value)
            .map_err(|_| BusError::Invalid(format!("invalid value for header {name}")))?;
        map.insert(header_name, header_value);
    }
    Ok(map)
}

async fn wait_connected(client: &Client, timeout: Duration) -> Result<(), BusError> {
    let deadline = Instant::now() + timeout;
    loop {
        if client.connection_state() == State::Connected {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(BusError::Unavailable(format!(
                "not connected to NATS ({:?})",
                client.connection_state()
            )));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs `request` while the connection is up: if it drops first, the answer is lost with it, so
/// this fails as [`BusError::Unavailable`] at once instead of waiting out the request timeout.
async fn while_connected<T>(
    client: &Client,
    what: &str,
    request: impl Future<Output = Result<T, BusError>>,
) -> Result<T, BusError> {
    tokio::select! {
        biased;
        outcome = request => outcome,
        () = disconnected(client) => Err(BusError::Unavailable(format!(
            "{what}: the NATS connection closed before JetStream answered"
        ))),
    }
}

/// Resolves once the connection is not up.
async fn disconnected(client: &Client) {
    while client.connection_state() == State::Connected {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn consumer_error(name: &str, error: &ConsumerError) -> BusError {
    let unavailable = matches!(
        error.kind(),
        ConsumerErrorKind::TimedOut | ConsumerErrorKind::Request
    );
    classify(unavailable, format!("consumer {name}: {error}"))
}

fn classify(unavailable: bool, message: String) -> BusError {
    if unavailable {
        BusError::Unavailable(message)
    } else {
        BusError::Rejected(message)
    }
}
