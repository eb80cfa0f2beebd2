//! SqsWorkQueue against moto's SQS: each job reaches its own queue, readable by the function
//! that serves it.

use crate::harness::{sqs_client, unique};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use ferry_aws::consume::delay_message;
use ferry_aws::sqs::{QueueUrls, SqsWorkQueue, jobs_in_message};
use ferry_core::ids::{DocumentId, TransferId};
use ferry_core::ports::{Job, WorkQueue};
use std::time::Duration;

async fn queue(client: &aws_sdk_sqs::Client, name: &str) -> String {
    client
        .create_queue()
        .queue_name(unique(name))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn jobs_go_to_their_queues_and_read_back_as_jobs() {
    let client = sqs_client().await;
    let urls = QueueUrls {
        validate: queue(&client, "validate").await,
        extract: queue(&client, "extract").await,
        notify: queue(&client, "notify").await,
        deliver: queue(&client, "deliver").await,
    };
    let work = SqsWorkQueue::new(client.clone(), urls.clone());
    let tid = TransferId::new();
    let jobs = [
        Job::ObjectCreated {
            key: format!("transfers/{tid}/x"),
        },
        Job::Extract {
            transfer_id: tid,
            document_id: DocumentId::new(),
        },
        Job::NotifySender { transfer_id: tid },
        Job::Purge { transfer_id: tid },
    ];
    for job in &jobs {
        work.enqueue(job, Duration::ZERO).await.unwrap();
    }
    for job in &jobs {
        let received = client
            .receive_message()
            .queue_url(urls.for_job(job))
            .message_attribute_names("All")
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = received.messages();
        assert_eq!(messages.len(), 1, "one message in the {} queue", job.kind());
        let message = &messages[0];
        assert_eq!(
            jobs_in_message(message.body().unwrap()).unwrap(),
            vec![job.clone()]
        );
        let kind = message.message_attributes().unwrap()["job"].string_value();
        assert_eq!(kind, Some(job.kind()));
    }
}

#[tokio::test]
async fn a_delayed_job_waits() {
    let client = sqs_client().await;
    let url = queue(&client, "delayed").await;
    let urls = QueueUrls {
        validate: url.clone(),
        extract: url.clone(),
        notify: url.clone(),
        deliver: url.clone(),
    };
    let work = SqsWorkQueue::new(client.clone(), urls);
    let job = Job::Purge {
        transfer_id: TransferId::new(),
    };
    work.enqueue(&job, Duration::from_secs(60)).await.unwrap();
    let now = client
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert!(now.messages().is_empty(), "not visible before its delay");
}

#[tokio::test]
async fn a_failed_message_comes_back_when_its_backoff_says() {
    let client = sqs_client().await;
    let url = queue(&client, "backoff").await;
    client
        .send_message()
        .queue_url(&url)
        .message_body("retry me")
        .send()
        .await
        .unwrap();
    let receive = || {
        client
            .receive_message()
            .queue_url(&url)
            .visibility_timeout(600)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
    };
    let first = receive().await.unwrap().messages.unwrap_or_default();
    assert_eq!(first.len(), 1);
    assert!(
        receive()
            .await
            .unwrap()
            .messages
            .unwrap_or_default()
            .is_empty(),
        "hidden for the visibility timeout"
    );
    // A zero backoff: back at once, instead of after ten minutes.
    delay_message(
        &client,
        &url,
        first[0].receipt_handle().unwrap(),
        Duration::ZERO,
    )
    .await;
    let again = receive().await.unwrap().messages.unwrap_or_default();
    assert_eq!(again.len(), 1);
    assert_eq!(
        again[0].attributes().unwrap()[&MessageSystemAttributeName::ApproximateReceiveCount],
        "2"
    );
}
