//! Email over SMTP (lettre): plain-text messages with a stable `Message-ID`, so a retried
//! notification is recognisable as the same message.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How to reach the SMTP server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain SMTP (a relay on localhost or inside the network).
    None,
    /// Upgrade with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, e.g. `Firebreak <firebreak@example.com>`.
    pub from: String,
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("invalid address {0:?}")]
    Address(String),
    #[error("could not build the message: {0}")]
    Build(String),
    #[error("SMTP: {0}")]
    Smtp(String),
}

/// A configured SMTP transport; cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

pub struct Email<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    /// Becomes `Message-ID: <id@firebreak>`; the same on every retry.
    pub id: &'a str,
    /// An iCalendar invitation (`METHOD:REQUEST`), sent as `invite.ics`.
    pub calendar: Option<&'a str>,
}

impl Mailer {
    pub fn new(config: &SmtpConfig) -> Result<Mailer, EmailError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|_| EmailError::Address(config.from.clone()))?;
        let tls = match config.security {
            Security::None => Tls::None,
            Security::StartTls | Security::Tls => {
                let params = TlsParameters::new(config.host.clone())
                    .map_err(|err| EmailError::Smtp(err.to_string()))?;
                if config.security == Security::Tls {
                    Tls::Wrapper(params)
                } else {
                    Tls::Required(params)
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(config.timeout));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    pub async fn send(&self, email: &Email<'_>) -> Result<(), EmailError> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|_| EmailError::Address(email.to.to_string()))?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject)
            .message_id(Some(format!("<{}@firebreak>", email.id)));
        let message = match email.calendar {
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(email.text.to_string()),
            Some(ics) => {
                let calendar = ContentType::parse("text/calendar; method=REQUEST; charset=UTF-8")
                    .map_err(|err| EmailError::Build(err.to_string()))?;
                builder.multipart(
                    MultiPart::mixed()
                        .singlepart(SinglePart::plain(email.text.to_string()))
                        .singlepart(
                            Attachment::new("invite.ics".into()).body(ics.to_string(), calendar),
                        ),
                )
            }
        }
        .map_err(|err| EmailError::Build(err.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|err| EmailError::Smtp(err.to_string()))
    }
}
