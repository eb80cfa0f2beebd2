//! SesMailer against moto's SESv2.

use crate::harness::ses_client;
use ferry_aws::ses::SesMailer;
use ferry_core::ports::{Mailer, OutgoingMail};
use ferry_core::values::EmailAddress;

#[tokio::test]
async fn mail_goes_out_from_a_verified_identity_only() {
    let client = ses_client().await;
    let mail = OutgoingMail {
        to: EmailAddress::parse("bob@example.com").unwrap(),
        subject: "Documents from alice@example.org: Figures".into(),
        text: "Open this link to receive them.".into(),
        idempotency_key: "invite:t:bob".into(),
    };
    let unverified = SesMailer::new(client.clone(), "nobody@unverified.example");
    assert!(
        unverified.send(&mail).await.is_err(),
        "SES refuses unverified senders"
    );

    client
        .create_email_identity()
        .email_identity("no-reply@ferry.example")
        .send()
        .await
        .unwrap();
    let mailer = SesMailer::new(client, "Ferry <no-reply@ferry.example>");
    mailer.send(&mail).await.unwrap();
}
