//! Extracts documents' text, natively or with Textract (the extract queue).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_functions::work_queue().await
}
