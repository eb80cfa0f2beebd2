//! Deliveries to recipients' systems and purges (the deliver queue), and the expiry sweep on its schedule.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_functions::work_queue().await
}
