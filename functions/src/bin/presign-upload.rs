//! The API's routes for transfers, uploads, downloads, deliveries and receipts.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_functions::serve_api().await
}
