//! The API's routes for user administration and the audit trail.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_functions::serve_admin_api().await
}
