//! The API's routes for access codes and recipient tokens.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_functions::serve_api().await
}
