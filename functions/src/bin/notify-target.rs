//! Emails recipients their access link and senders their receipts (the notify queue).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_functions::work_queue().await
}
