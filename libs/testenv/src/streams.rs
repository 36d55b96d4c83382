//! Tests on the shared NATS server create streams under a unique county; this guard deletes
//! them when the test ends, pass or fail, so the shared server does not fill up across runs.

use std::time::Duration;

/// Deletes the named JetStream streams from the server at `url` when dropped.
#[derive(Debug)]
pub struct DeleteStreamsOnDrop {
    url: String,
    streams: Vec<String>,
}

impl DeleteStreamsOnDrop {
    pub fn new(url: impl Into<String>, streams: impl IntoIterator<Item = String>) -> Self {
        Self {
            url: url.into(),
            streams: streams.into_iter().collect(),
        }
    }
}

impl Drop for DeleteStreamsOnDrop {
    fn drop(&mut self) {
        let url = self.url.clone();
        let streams = std::mem::take(&mut self.streams);
        // Dropped inside or outside a runtime, perhaps while it shuts down: delete from a
        // thread with its own small runtime, and wait for it.
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let deleted = tokio::time::timeout(Duration::from_secs(3), async {
                    let client = async_nats::connect(url).await.ok()?;
                    let jetstream = async_nats::jetstream::new(client);
                    for stream in streams {
                        let _ = jetstream.delete_stream(stream).await;
                    }
                    Some(())
                })
                .await;
                if !matches!(deleted, Ok(Some(()))) {
                    eprintln!("warning: test streams were not deleted from the shared NATS server");
                }
            });
        });
        let _ = cleanup.join();
    }
}
