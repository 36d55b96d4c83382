//! hearth-testenv against the real backends it manages.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hearth_testenv::{NatsServer, fresh_postgres_database, fresh_postgres_database_from_template};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

async fn database_exists(server: &str, name: &str) -> bool {
    let admin = Database::connect(server)
        .await
        .expect("connect to the server");
    let row = admin
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 AS present FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await
        .expect("query pg_database");
    admin.close().await.expect("close");
    row.is_some()
}

#[tokio::test]
async fn fresh_postgres_databases_are_created_and_dropped() {
    let Some(server) = hearth_testenv::postgres_url() else {
        return;
    };
    let explicit = fresh_postgres_database(&server, "hearth_testenv")
        .await
        .expect("a fresh database");
    assert!(explicit.name.starts_with("hearth_testenv_"));
    let db = Database::connect(explicit.url.clone())
        .await
        .expect("connect");
    db.execute_unprepared("CREATE TABLE t (id INTEGER)")
        .await
        .expect("use it");
    // The connection stays open: dropping forces it closed.
    let name = explicit.name.clone();
    explicit.drop_database().await.expect("drop");
    assert!(!database_exists(&server, &name).await);

    let guarded = fresh_postgres_database(&server, "hearth_testenv")
        .await
        .expect("a fresh database");
    let name = guarded.name.clone();
    assert!(database_exists(&server, &name).await);
    drop(guarded);
    assert!(
        !database_exists(&server, &name).await,
        "dropped with its guard"
    );
}

#[tokio::test]
async fn a_postgres_template_is_prepared_once_and_cloned() {
    let Some(server) = hearth_testenv::postgres_url() else {
        return;
    };
    static PREPARED: AtomicU32 = AtomicU32::new(0);
    let prepare = |url: String| async move {
        PREPARED.fetch_add(1, Ordering::SeqCst);
        let db = Database::connect(url).await?;
        db.execute_unprepared("CREATE TABLE prepared (id INTEGER)")
            .await?;
        // Left open on purpose: the template must still be usable.
        std::mem::forget(db);
        Ok(())
    };
    let first = fresh_postgres_database_from_template(
        &server,
        "hearth_testenv_clone",
        "hearth_testenv_tpl",
        prepare,
    )
    .await
    .expect("first clone");
    let second = fresh_postgres_database_from_template(
        &server,
        "hearth_testenv_clone",
        "hearth_testenv_tpl",
        prepare,
    )
    .await
    .expect("second clone");
    assert!(
        PREPARED.load(Ordering::SeqCst) <= 1,
        "prepared at most once per build"
    );
    assert_ne!(first.name, second.name);
    for clone in [&first, &second] {
        let db = Database::connect(clone.url.clone()).await.expect("connect");
        db.execute_unprepared("INSERT INTO prepared (id) VALUES (1)")
            .await
            .expect("the template's table is in the clone");
        db.close().await.expect("close");
    }
}

#[tokio::test]
async fn a_private_nats_server_stops_and_restarts_on_the_same_port() {
    // A private server needs the binary, not the shared server.
    if hearth_testenv::nats_server_binary().is_none() {
        return;
    }
    let mut server = NatsServer::start().await.expect("start nats-server");
    let address = format!("127.0.0.1:{}", server.port());
    assert!(server.url().ends_with(&format!(":{}", server.port())));
    assert!(tokio::net::TcpStream::connect(&address).await.is_ok());

    server.stop().await.expect("stop");
    assert!(!server.is_running());
    assert!(tokio::net::TcpStream::connect(&address).await.is_err());

    server.restart().await.expect("restart");
    assert!(server.is_running());
    assert!(server.store_dir().exists(), "the same store directory");
    let connected = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(&address),
    )
    .await;
    assert!(matches!(connected, Ok(Ok(_))), "accepting on the same port");
}
