//! Cognito's post-authentication trigger: each sign-in to the user pool in the audit trail.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_functions::record_sign_ins().await
}
