//! Checks uploaded documents (the bucket's S3 notifications through the validate queue).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_functions::work_queue().await
}
