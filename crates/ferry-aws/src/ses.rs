//! Emails through SES (API v2). The subject and body are handed over as data, never assembled
//! into raw headers here, so nothing a sender typed can inject a header.

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use ferry_core::ports::{Mailer, OutgoingMail};

pub struct SesMailer {
    client: Client,
    from: String,
}

impl SesMailer {
    /// `from` is an address or a `Name <address>` whose identity is verified in SES.
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
        }
    }
}

fn utf8(text: &str) -> anyhow::Result<Content> {
    Ok(Content::builder().data(text).charset("UTF-8").build()?)
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &OutgoingMail) -> anyhow::Result<()> {
        let message = Message::builder()
            .subject(utf8(&mail.subject)?)
            .body(Body::builder().text(utf8(&mail.text)?).build())
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(
                Destination::builder()
                    .to_addresses(mail.to.to_string())
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .context("sending an email through SES")?;
        Ok(())
    }
}
