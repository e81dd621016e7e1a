//! A small, real SMTP server for tests (RFC 5321 subset): listens on 127.0.0.1:0, speaks
//! EHLO/HELO, MAIL FROM, RCPT TO, DATA (with dot-unstuffing), RSET, NOOP, VRFY and QUIT, and
//! advertises no extension, so clients use plain SMTP without TLS or AUTH. Every accepted
//! message is kept with its envelope, its raw data and its decoded subject, headers and body.
//!
//! ```ignore
//! let smtp = SmtpServer::start().await;
//! config.mail = smtp.mail_config();             // or GATEHOUSE_MAIL__SMTP_URL=smtp.url()
//! // ... something sends a code to ana@example.com ...
//! let mail = smtp.wait_for("ana@example.com", Duration::from_secs(5)).await;
//! let code = mail.code().unwrap();               // first run of exactly 6 digits in the body
//! ```
//!
//! `wait_for` hands out each message once, oldest first, per recipient: after a resend, the next
//! `wait_for` returns the new message. `last_to` and `messages` only look.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use gatehouse::notify::mail::{MailConfig, MailTransport, SmtpUrl};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// One received message.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Arrival order on this server, from 0.
    pub seq: usize,
    /// Envelope sender (`MAIL FROM:<...>`), without the angle brackets.
    pub mail_from: String,
    /// Envelope recipients (`RCPT TO:<...>`).
    pub rcpt_to: Vec<String>,
    /// The DATA exactly as received after dot-unstuffing (CRLF line ends, no final `.`).
    pub raw: String,
    /// Unfolded headers in order; values as on the wire (encoded-words not decoded).
    pub headers: Vec<(String, String)>,
    /// `Subject:` with RFC 2047 encoded-words decoded.
    pub subject: String,
    /// `To:` and `From:` headers, encoded-words decoded.
    pub to: String,
    pub from: String,
    /// The body decoded per `Content-Transfer-Encoding` (7bit, 8bit, quoted-printable, base64),
    /// as UTF-8 with `\n` line ends and no trailing blank lines. Multipart bodies are left as
    /// they are.
    pub body: String,
}

impl Mail {
    /// The first header named `name` (case-insensitive), raw.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the envelope names `addr` as a recipient (case-insensitive).
    pub fn is_to(&self, addr: &str) -> bool {
        self.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(addr))
    }

    /// The six-digit code standing on a line of its own (a registration or reset mail, whose
    /// link holds a token that may contain digits too).
    pub fn line_code(&self) -> String {
        self.body
            .lines()
            .map(str::trim)
            .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or_else(|| panic!("a code in {}", self.body))
            .to_owned()
    }

    /// The first link in the body.
    pub fn link(&self) -> String {
        self.body
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("http"))
            .unwrap_or_else(|| panic!("a link in {}", self.body))
            .to_owned()
    }

    /// The first run of exactly six ASCII digits in the body: the one-time code.
    pub fn code(&self) -> Option<String> {
        self.body
            .split(|c: char| !c.is_ascii_digit())
            .find(|run| run.len() == 6)
            .map(str::to_owned)
    }
}

#[derive(Default)]
struct Shared {
    mails: Vec<Mail>,
    /// `seq` of the messages `wait_for` already handed out.
    taken: HashSet<usize>,
    reject_rcpt: bool,
}

/// The server; stops accepting when dropped.
pub struct SmtpServer {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    arrived: Arc<Notify>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let arrived = Arc::new(Notify::new());
        let accept = {
            let shared = shared.clone();
            let arrived = arrived.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let shared = shared.clone();
                    let arrived = arrived.clone();
                    tokio::spawn(async move {
                        let _ = session(stream, shared, arrived).await;
                    });
                }
            })
        };
        SmtpServer {
            addr,
            shared,
            arrived,
            accept,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://127.0.0.1:PORT`: plain SMTP, for `mail.smtp_url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// A `[mail]` section that sends here, with a short timeout.
    pub fn mail_config(&self) -> MailConfig {
        MailConfig {
            transport: Some(MailTransport::Smtp),
            smtp_url: Some(SmtpUrl::try_from(self.url()).unwrap()),
            timeout_secs: 5,
            ..MailConfig::default()
        }
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<Mail> {
        self.shared.lock().unwrap().mails.clone()
    }

    /// The newest message to `addr`, if any (does not mark it as taken).
    pub fn last_to(&self, addr: &str) -> Option<Mail> {
        let s = self.shared.lock().unwrap();
        s.mails.iter().rev().find(|m| m.is_to(addr)).cloned()
    }

    /// How many messages were sent to `addr`.
    pub fn count_to(&self, addr: &str) -> usize {
        let s = self.shared.lock().unwrap();
        s.mails.iter().filter(|m| m.is_to(addr)).count()
    }

    /// Answer every `RCPT TO` with 550 (mailbox unavailable) while `on`.
    pub fn reject_recipients(&self, on: bool) {
        self.shared.lock().unwrap().reject_rcpt = on;
    }

    /// The oldest message to `addr` that `wait_for` has not returned yet, waiting up to
    /// `timeout` for one to arrive. Panics on timeout, listing who did get mail.
    pub async fn wait_for(&self, addr: &str, timeout: Duration) -> Mail {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register interest before looking, so an arrival in between is not missed.
            let arrived = self.arrived.notified();
            {
                let mut s = self.shared.lock().unwrap();
                let found = s
                    .mails
                    .iter()
                    .find(|m| m.is_to(addr) && !s.taken.contains(&m.seq))
                    .cloned();
                if let Some(m) = found {
                    s.taken.insert(m.seq);
                    return m;
                }
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let seen: Vec<String> = self
                    .messages()
                    .iter()
                    .map(|m| format!("{:?}: {}", m.rcpt_to, m.subject))
                    .collect();
                panic!("no new mail to {addr} within {timeout:?}; received: {seen:?}");
            }
        }
    }
}

const MAX_LINE: usize = 4096;
const MAX_DATA: usize = 10 * 1024 * 1024;

async fn session(
    stream: TcpStream,
    shared: Arc<Mutex<Shared>>,
    arrived: Arc<Notify>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write
        .write_all(b"220 localhost ESMTP gatehouse-test\r\n")
        .await?;
    let mut from: Option<String> = None;
    let mut rcpt: Vec<String> = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if (&mut read)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .await?
            == 0
        {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        let (verb, arg) = text.split_once(' ').unwrap_or((text, ""));
        let reply: &[u8] = match verb.to_ascii_uppercase().as_str() {
            // No extension lines: the client must not try STARTTLS, AUTH, PIPELINING or SIZE.
            "EHLO" | "HELO" => {
                from = None;
                rcpt.clear();
                b"250 localhost\r\n"
            }
            "MAIL" => match path_arg(arg, "FROM:") {
                Some(p) if from.is_none() => {
                    from = Some(p);
                    b"250 2.1.0 OK\r\n"
                }
                Some(_) => b"503 5.5.1 nested MAIL command\r\n",
                None => b"501 5.5.4 syntax: MAIL FROM:<address>\r\n",
            },
            "RCPT" => match path_arg(arg, "TO:") {
                _ if from.is_none() => b"503 5.5.1 need MAIL first\r\n",
                Some(_) if shared.lock().unwrap().reject_rcpt => {
                    b"550 5.1.1 mailbox unavailable\r\n"
                }
                Some(p) if !p.is_empty() => {
                    rcpt.push(p);
                    b"250 2.1.5 OK\r\n"
                }
                _ => b"501 5.5.4 syntax: RCPT TO:<address>\r\n",
            },
            "DATA" => {
                if from.is_none() || rcpt.is_empty() {
                    b"503 5.5.1 need MAIL and RCPT first\r\n"
                } else {
                    write
                        .write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")
                        .await?;
                    let Some(raw) = read_data(&mut read).await? else {
                        return Ok(());
                    };
                    let mail_from = from.take().unwrap_or_default();
                    let rcpt_to = std::mem::take(&mut rcpt);
                    {
                        let mut s = shared.lock().unwrap();
                        let seq = s.mails.len();
                        s.mails.push(parse(seq, mail_from, rcpt_to, raw));
                    }
                    arrived.notify_waiters();
                    b"250 2.0.0 OK queued\r\n"
                }
            }
            "RSET" => {
                from = None;
                rcpt.clear();
                b"250 2.0.0 OK\r\n"
            }
            "NOOP" => b"250 2.0.0 OK\r\n",
            "VRFY" => b"252 2.1.5 cannot verify\r\n",
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => b"500 5.5.2 command not recognized\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// `FROM:<a@b> SIZE=1` → `a@b` (parameters ignored; `<>` is the null sender).
pub fn path_arg(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some(rest[..end].to_string())
}

/// Reads DATA up to the lone `.` line, removing the dot-stuffing (RFC 5321 §4.5.2).
/// `None` when the client went away first.
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(
    read: &mut R,
) -> std::io::Result<Option<String>> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if read.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(Some(String::from_utf8_lossy(&data).into_owned()));
        }
        let unstuffed = if line.first() == Some(&b'.') {
            &line[1..]
        } else {
            &line[..]
        };
        if data.len() + unstuffed.len() > MAX_DATA {
            return Err(std::io::Error::other("message too large"));
        }
        data.extend_from_slice(unstuffed);
    }
}

fn parse(seq: usize, mail_from: String, rcpt_to: Vec<String>, raw: String) -> Mail {
    let normalized = raw.replace("\r\n", "\n");
    let (head, body) = normalized
        .split_once("\n\n")
        .unwrap_or((normalized.as_str(), ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            // RFC 5322 §2.2.3: unfolding removes the line break only.
            if let Some((_, v)) = headers.last_mut() {
                v.push_str(line);
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let encoding = get("Content-Transfer-Encoding").to_ascii_lowercase();
    let body_bytes = match encoding.trim() {
        "quoted-printable" => decode_qp(body),
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(body.split_whitespace().collect::<String>())
            .unwrap_or_else(|_| body.as_bytes().to_vec()),
        _ => body.as_bytes().to_vec(),
    };
    // lettre ends DATA with CRLF.CRLF after a body that already ends in CRLF, so real
    // servers store a trailing blank line; drop trailing blank lines to keep asserts simple.
    let mut body = String::from_utf8_lossy(&body_bytes).replace("\r\n", "\n");
    body.truncate(body.trim_end_matches('\n').len());
    if !body.is_empty() {
        body.push('\n');
    }
    Mail {
        seq,
        subject: decode_words(&get("Subject")),
        to: decode_words(&get("To")),
        from: decode_words(&get("From")),
        mail_from,
        rcpt_to,
        raw,
        headers,
        body,
    }
}

/// Quoted-printable (RFC 2045 §6.7): `=XX` octets, `=` at a line end is a soft break.
pub fn decode_qp(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let lines: Vec<&str> = text.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        // Trailing whitespace on an encoded line is padding (§6.7 rule 3).
        let line = line.trim_end_matches([' ', '\t', '\r']);
        let (line, soft) = match line.strip_suffix('=') {
            Some(l) => (l, true),
            None => (line, false),
        };
        let b = line.as_bytes();
        let mut j = 0;
        while j < b.len() {
            let hex = line.get(j + 1..j + 3);
            if b[j] == b'='
                && let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                j += 3;
            } else {
                out.push(b[j]);
                j += 1;
            }
        }
        if !soft && i + 1 < lines.len() {
            out.push(b'\n');
        }
    }
    out
}

/// RFC 2047 encoded-words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`); whitespace between two
/// adjacent encoded-words is dropped (§6.2).
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut pending_space = String::new();
    let mut last_was_word = false;
    for token in value.split_inclusive([' ', '\t']) {
        let word = token.trim_end_matches([' ', '\t']);
        let trailing = &token[word.len()..];
        if word.is_empty() {
            pending_space.push_str(trailing);
            continue;
        }
        match decode_word(word) {
            Some(decoded) => {
                if !last_was_word {
                    out.push_str(&pending_space);
                }
                out.push_str(&decoded);
                last_was_word = true;
            }
            None => {
                out.push_str(&pending_space);
                out.push_str(word);
                last_was_word = false;
            }
        }
        pending_space = trailing.to_string();
    }
    out.trim().to_string()
}

fn decode_word(word: &str) -> Option<String> {
    let inner = word.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut parts = inner.splitn(3, '?');
    let _charset = parts.next()?;
    let enc = parts.next()?;
    let text = parts.next()?;
    let bytes = match enc {
        "b" | "B" => base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?,
        "q" | "Q" => decode_qp(&text.replace('_', " ")),
        _ => return None,
    };
    String::from_utf8(bytes).ok()
}

impl super::TestEnv {
    /// A test environment whose mail goes to a fresh SMTP listener, and that listener.
    pub async fn with_mail(backend: super::Backend) -> (super::TestEnv, SmtpServer) {
        let smtp = SmtpServer::start().await;
        let mut env = super::TestEnv::new(backend).await;
        env.config.mail = smtp.mail_config();
        (env, smtp)
    }
}
