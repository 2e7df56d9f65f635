//! Slack Socket Mode: Firebreak opens an outbound WebSocket to Slack (nothing of Firebreak
//! needs to be reachable from the internet), and Slack sends slash commands, events and
//! interactions down it as envelopes, each acknowledged by echoing its `envelope_id`.
//! `apps.connections.open` (with the app-level `xapp-` token) gives a fresh URL for every
//! connection; Slack asks for a reconnect with a `disconnect` frame.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use super::ChatError;
use super::slack::Slack;

/// A frame from Slack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Hello,
    /// Open a new connection (`refresh_requested`, `warning`, `link_disabled`, …).
    Disconnect {
        reason: String,
    },
    Envelope(Envelope),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub envelope_id: String,
    /// `events_api`, `slash_commands` or `interactive`.
    pub kind: String,
    pub payload: Value,
    pub retry_attempt: i64,
}

/// A text frame, parsed; `None` for anything Firebreak does not use.
pub fn parse_frame(text: &str) -> Option<Frame> {
    let value: Value = serde_json::from_str(text).ok()?;
    match value["type"].as_str()? {
        "hello" => Some(Frame::Hello),
        "disconnect" => Some(Frame::Disconnect {
            reason: value["reason"].as_str().unwrap_or_default().to_string(),
        }),
        kind => Some(Frame::Envelope(Envelope {
            envelope_id: value["envelope_id"].as_str()?.to_string(),
            kind: kind.to_string(),
            payload: value["payload"].clone(),
            retry_attempt: value["retry_attempt"].as_i64().unwrap_or(0),
        })),
    }
}

/// The acknowledgement of an envelope.
pub fn ack(envelope_id: &str) -> String {
    json!({ "envelope_id": envelope_id }).to_string()
}

type Plain = tokio_tungstenite::WebSocketStream<TcpStream>;
type Secure = tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

/// One open Socket Mode connection.
pub enum Connection {
    Plain(Box<Plain>),
    Secure(Box<Secure>),
}

impl Slack {
    /// A fresh WebSocket URL (`apps.connections.open`, app-level token).
    pub async fn socket_url(&self, app_token: &str) -> Result<String, ChatError> {
        let value = self
            .call_with_token("apps.connections.open", json!({}), app_token)
            .await?;
        value["url"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| ChatError::retry("apps.connections.open answered no url"))
    }

    /// Connects to a Socket Mode URL (`wss://…`; `ws://` for a local test server), to an
    /// address the outbound policy allows.
    pub async fn connect_socket(&self, url: &str) -> Result<Connection, ChatError> {
        let parsed =
            url::Url::parse(url).map_err(|err| ChatError::Dead(format!("socket url: {err}")))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| ChatError::Dead("socket url has no host".into()))?
            .to_string();
        let secure = match parsed.scheme() {
            "wss" => true,
            "ws" => false,
            other => return Err(ChatError::Dead(format!("socket url scheme {other}"))),
        };
        let port = parsed.port().unwrap_or(if secure { 443 } else { 80 });
        let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| ChatError::retry("could not resolve Slack's socket host"))?
            .filter(|it| self.outbound_policy().allows(it.ip()))
            .collect();
        let address = addresses.first().ok_or_else(|| {
            ChatError::Dead(
                "the outbound policy refuses every address of Slack's socket host".into(),
            )
        })?;
        let tcp = TcpStream::connect(address)
            .await
            .map_err(|_| ChatError::retry("could not reach Slack's socket host"))?;
        let handshake = |err: tokio_tungstenite::tungstenite::Error| {
            ChatError::retry(format!("socket handshake: {err}"))
        };
        if !secure {
            let (socket, _) = tokio_tungstenite::client_async(url, tcp)
                .await
                .map_err(handshake)?;
            return Ok(Connection::Plain(Box::new(socket)));
        }
        crate::http::install_crypto_provider();
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(host)
            .map_err(|_| ChatError::Dead("socket host is not a valid name".into()))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|_| ChatError::retry("TLS with Slack's socket host failed"))?;
        let (socket, _) = tokio_tungstenite::client_async(url, tls)
            .await
            .map_err(handshake)?;
        Ok(Connection::Secure(Box::new(socket)))
    }
}

impl Connection {
    /// The next text frame; `None` when the connection closed.
    pub async fn next_text(&mut self) -> Option<String> {
        loop {
            let message = match self {
                Connection::Plain(socket) => socket.next().await,
                Connection::Secure(socket) => socket.next().await,
            };
            match message? {
                Ok(Message::Text(text)) => return Some(text.to_string()),
                Ok(Message::Close(_)) | Err(_) => return None,
                // Pings are answered by the library on the next read or write.
                Ok(_) => continue,
            }
        }
    }

    pub async fn send_text(&mut self, text: String) -> Result<(), ChatError> {
        let sent = match self {
            Connection::Plain(socket) => socket.send(Message::text(text)).await,
            Connection::Secure(socket) => socket.send(Message::text(text)).await,
        };
        sent.map_err(|err| ChatError::retry(format!("socket send: {err}")))
    }

    pub async fn close(&mut self) {
        let _ = match self {
            Connection::Plain(socket) => Plain::close(socket, None).await,
            Connection::Secure(socket) => Secure::close(socket, None).await,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        assert_eq!(
            parse_frame(
                r#"{"type":"hello","num_connections":1,"connection_info":{"app_id":"A1"}}"#
            ),
            Some(Frame::Hello)
        );
        assert_eq!(
            parse_frame(r#"{"type":"disconnect","reason":"refresh_requested"}"#),
            Some(Frame::Disconnect {
                reason: "refresh_requested".into()
            })
        );
        assert_eq!(
            parse_frame(
                r#"{"envelope_id":"e1","type":"slash_commands","payload":{"text":"help"},"accepts_response_payload":true,"retry_attempt":0}"#
            ),
            Some(Frame::Envelope(Envelope {
                envelope_id: "e1".into(),
                kind: "slash_commands".into(),
                payload: json!({"text": "help"}),
                retry_attempt: 0,
            }))
        );
        assert_eq!(parse_frame("nonsense"), None);
        assert_eq!(ack("e1"), r#"{"envelope_id":"e1"}"#);
    }
}
