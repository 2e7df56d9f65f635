//! A real SMTP server for tests: Python's aiosmtpd (installed by `scripts/test`), writing
//! every message it accepts into a maildir. A missing aiosmtpd fails the test loudly.

use std::path::PathBuf;
use std::time::Duration;

pub struct SmtpServer {
    pub port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
    _child: tokio::process::Child,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("mail");
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let python = std::env::var("FIREBREAK_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let child = tokio::process::Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {python} -m aiosmtpd: {err}"));
        // Wait for it to listen (a process starting, not work to finish).
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return SmtpServer {
                    port,
                    maildir,
                    _dir: dir,
                    _child: child,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "aiosmtpd did not listen on port {port}; is it installed (scripts/test installs it)?"
        );
    }

    /// Every message received so far, as raw RFC 5322 text.
    pub fn messages(&self) -> Vec<String> {
        let mut texts = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                texts.push(std::fs::read_to_string(entry.path()).unwrap());
            }
        }
        texts
    }
}
