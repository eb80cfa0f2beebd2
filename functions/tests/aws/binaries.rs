//! The built function binaries under the Runtime API emulator, fed the recorded events in
//! `tests/fixtures/`: each starts, handles its event and answers as Lambda expects.

use ferry_testbed::issuer::TestIssuer;
use ferry_testbed::runtime_api::{Outcome, RuntimeApi};
use ferry_testbed::stack::Stack;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// A function process; killed when the test ends, as Lambda freezes and ends environments.
struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(binary: &str, runtime: &RuntimeApi, vars: &BTreeMap<String, String>) -> Function {
    let child = Command::new(binary)
        .env_clear()
        .envs(vars)
        .env("AWS_LAMBDA_RUNTIME_API", runtime.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "ferry-test")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/23/[$LATEST]0123456789abcdef",
        )
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/ferry-test")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
    Function(child)
}

fn response(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Response(value) => value,
        Outcome::Error(error) => panic!("the function failed: {error}"),
    }
}

#[tokio::test]
async fn the_api_functions_answer_api_gateway_events() {
    let stack = Stack::create(&TestIssuer::start().await).await;
    // The administrators' function never reads the recipient token key (its role may not).
    let mut without_key = stack.vars.clone();
    without_key.remove("TOKEN_SECRET_ARN");
    for (binary, vars) in [
        (env!("CARGO_BIN_EXE_presign-upload"), &stack.vars),
        (env!("CARGO_BIN_EXE_admin-users"), &without_key),
        (env!("CARGO_BIN_EXE_recipient-access"), &stack.vars),
    ] {
        let runtime = RuntimeApi::start().await;
        let _function = start(binary, &runtime, vars);

        let health = response(runtime.invoke(fixture("apigw-v2-health.json")).await);
        assert_eq!(health["statusCode"], 200, "{binary}: {health}");
        let body: Value = serde_json::from_str(health["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["status"], "ok");

        // A token with alg none: refused by the function itself, whatever the authorizer did.
        let refused = response(
            runtime
                .invoke(fixture("apigw-v2-create-transfer-bad-token.json"))
                .await,
        );
        assert_eq!(refused["statusCode"], 401, "{binary}: {refused}");
        assert_eq!(
            refused["headers"]["content-type"],
            "application/problem+json"
        );
        let problem: Value = serde_json::from_str(refused["body"].as_str().unwrap()).unwrap();
        assert_eq!(problem["status"], 401);
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
}

#[tokio::test]
async fn the_validate_function_reports_only_the_messages_that_failed() {
    let stack = Stack::create(&TestIssuer::start().await).await;
    let runtime = RuntimeApi::start().await;
    let _function = start(
        env!("CARGO_BIN_EXE_validate-on-s3-event"),
        &runtime,
        &stack.vars,
    );
    // An upload under a key that is not a transfer's (nothing to do), S3's test event
    // (nothing to do), and a message that is no job at all (failed: off to the DLQ).
    let answer = response(runtime.invoke(fixture("sqs-s3-object-created.json")).await);
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "9f0e1d2c-3b4a-4958-8776-a5b4c3d2e1f0"}]})
    );
}

#[tokio::test]
async fn the_worker_functions_start_and_the_schedule_runs_the_sweep() {
    let stack = Stack::create(&TestIssuer::start().await).await;
    for binary in [
        env!("CARGO_BIN_EXE_textract-worker"),
        env!("CARGO_BIN_EXE_notify-target"),
    ] {
        let runtime = RuntimeApi::start().await;
        let _function = start(binary, &runtime, &stack.vars);
        let answer = response(runtime.invoke(json!({"Records": []})).await);
        assert_eq!(answer, json!({"batchItemFailures": []}), "{binary}");
    }

    let runtime = RuntimeApi::start().await;
    let _function = start(
        env!("CARGO_BIN_EXE_transfer-and-purge"),
        &runtime,
        &stack.vars,
    );
    let answer = response(runtime.invoke(fixture("eventbridge-schedule.json")).await);
    assert_eq!(answer, json!({"expired": 0}));
    // Neither a batch nor the schedule: an invocation error, not a silent success.
    let Outcome::Error(error) = runtime.invoke(json!({"surprise": true})).await else {
        panic!("an unknown event must fail the invocation");
    };
    assert!(
        error["errorMessage"].as_str().unwrap().contains("neither"),
        "{error}"
    );
}

#[tokio::test]
async fn the_sign_in_trigger_records_the_sign_in_and_never_fails_one() {
    use ferry_core::audit::AuditQuery;
    use ferry_core::ports::Catalog;
    let stack = Stack::create(&TestIssuer::start().await).await;
    // What the template gives this function: the table, nothing of the pool.
    let vars: BTreeMap<String, String> = stack
        .vars
        .iter()
        .filter(|(name, _)| name.starts_with("AWS_") || *name == "TABLE_NAME")
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let runtime = RuntimeApi::start().await;
    let _function = start(env!("CARGO_BIN_EXE_sign-in-trail"), &runtime, &vars);

    let event = fixture("cognito-post-authentication.json");
    assert_eq!(response(runtime.invoke(event.clone()).await), event);
    // Whatever Cognito sends that is not a sign-in, the sign-in is not failed by it.
    let odd = json!({"triggerSource": "PostAuthentication_Authentication"});
    assert_eq!(response(runtime.invoke(odd.clone()).await), odd);

    let catalog = ferry_aws::dynamodb::DynamoCatalog::new(
        aws_sdk_dynamodb::Client::new(&ferry_moto::sdk_config().await),
        &stack.vars["TABLE_NAME"],
    );
    let trail = catalog
        .query_audit(&AuditQuery {
            actor: Some("user:0b7e5a60-3f7c-4d1e-9d41-6d1a5f0c9e21".into()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let [signed_in] = &trail.events[..] else {
        panic!("one event: {:?}", trail.events)
    };
    assert_eq!(signed_in.action, "user.signed_in");
    assert_eq!(signed_in.detail.as_deref(), Some("Cognito sign-in"));
}

#[tokio::test]
async fn a_function_missing_its_configuration_reports_an_init_error() {
    let stack = Stack::create(&TestIssuer::start().await).await;
    let mut vars = stack.vars.clone();
    vars.remove("TABLE_NAME");
    let runtime = RuntimeApi::start().await;
    let mut function = start(env!("CARGO_BIN_EXE_presign-upload"), &runtime, &vars);
    let error = runtime.init_error().await;
    assert!(
        error.to_string().contains("TABLE_NAME"),
        "the error names the variable: {error}"
    );
    let status = function.0.wait().unwrap();
    assert!(!status.success());
}
