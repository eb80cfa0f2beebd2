//! A Lambda Runtime API emulator: what the Lambda service offers a custom runtime on
//! `AWS_LAMBDA_RUNTIME_API` — the next invocation, its response or error, an init error — so
//! that the built binaries run exactly as Lambda runs them. It also notes when the runtime
//! first asks for an invocation: where a function's init ends.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

const PREFIX: &str = "/2018-06-01/runtime";

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Response(Value),
    Error(Value),
}

#[derive(Default)]
struct Inner {
    pending: VecDeque<(String, Value)>,
    outcomes: HashMap<String, Outcome>,
    init_error: Option<Value>,
    first_poll: Option<Instant>,
}

#[derive(Clone, Default)]
struct Shared {
    inner: Arc<Mutex<Inner>>,
    changed: Arc<Notify>,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    shared: Shared,
    next_id: Mutex<u64>,
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let shared = Shared::default();
        let app = Router::new()
            .route(&format!("{PREFIX}/invocation/next"), get(next))
            .route(
                &format!("{PREFIX}/invocation/{{id}}/response"),
                post(response),
            )
            .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(error))
            .route(&format!("{PREFIX}/init/error"), post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            addr,
            shared,
            next_id: Mutex::new(0),
        }
    }

    /// Hands `event` to the runtime and waits for its answer.
    pub async fn invoke(&self, event: Value) -> Outcome {
        let id = {
            let mut next = self.next_id.lock().unwrap();
            *next += 1;
            format!("00000000-0000-4000-8000-{:012}", *next)
        };
        self.shared
            .inner
            .lock()
            .unwrap()
            .pending
            .push_back((id.clone(), event));
        self.shared.changed.notify_waiters();
        self.wait_for(|inner| inner.outcomes.remove(&id)).await
    }

    /// When the runtime first asked for an invocation, that is when its init was done.
    pub async fn first_poll(&self) -> Instant {
        self.wait_for(|inner| inner.first_poll).await
    }

    /// The error the runtime reported while starting.
    pub async fn init_error(&self) -> Value {
        self.wait_for(|inner| inner.init_error.clone()).await
    }

    async fn wait_for<T>(&self, mut found: impl FnMut(&mut Inner) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let changed = self.shared.changed.notified();
            if let Some(value) = found(&mut self.shared.inner.lock().unwrap()) {
                return value;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!("the runtime did not answer within a minute");
            }
        }
    }
}

async fn next(State(shared): State<Shared>) -> impl IntoResponse {
    {
        let mut inner = shared.inner.lock().unwrap();
        if inner.first_poll.is_none() {
            inner.first_poll = Some(Instant::now());
            shared.changed.notify_waiters();
        }
    }
    loop {
        let changed = shared.changed.notified();
        if let Some((id, event)) = shared.inner.lock().unwrap().pending.pop_front() {
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 60_000;
            let mut headers = HeaderMap::new();
            let header = |v: String| HeaderValue::from_str(&v).unwrap();
            // As Lambda does: runtimes such as awslambdaric decode the event by this header.
            headers.insert("content-type", header("application/json".into()));
            headers.insert("lambda-runtime-aws-request-id", header(id));
            headers.insert("lambda-runtime-deadline-ms", header(deadline.to_string()));
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                header("arn:aws:lambda:us-east-1:123456789012:function:ferry-test".into()),
            );
            headers.insert(
                "lambda-runtime-trace-id",
                header("Root=1-6741a3c2-0b5d6f7e1c2d3e4f5a6b7c8d;Sampled=0".into()),
            );
            return (StatusCode::OK, headers, event.to_string());
        }
        changed.await;
    }
}

fn record(shared: &Shared, id: String, outcome: Outcome) -> StatusCode {
    shared.inner.lock().unwrap().outcomes.insert(id, outcome);
    shared.changed.notify_waiters();
    StatusCode::ACCEPTED
}

async fn response(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    record(&shared, id, Outcome::Response(value))
}

async fn error(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    record(&shared, id, Outcome::Error(value))
}

async fn init_error(State(shared): State<Shared>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared.inner.lock().unwrap().init_error = Some(value);
    shared.changed.notify_waiters();
    StatusCode::ACCEPTED
}
