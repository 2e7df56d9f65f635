//! Pages that wake a person: SMS, phone calls and push. What is decided here, without I/O:
//! a phone number in E.164, the words of an SMS page and of a call (TwiML), what a reply or a
//! key press asks for, STOP / START, how often one number may be texted or called, the
//! short reply codes, and what a provider's delivery status means.

use jiff::{SignedDuration, Timestamp};

/// Parses a phone number as people type it (`+1 415-555-0100`, `(+44) 20 7946 0958`,
/// `0044 20…`) into E.164 (`+14155550100`): a `+` (or `00`), a country code that does not
/// start with 0, and 8 to 15 digits in all. National numbers without a country code are
/// refused: Firebreak cannot know which country was meant.
pub fn parse_phone(text: &str) -> Result<String, &'static str> {
    let text = text.trim();
    if text.len() > 40 {
        return Err("at most 40 characters");
    }
    let rest = if let Some(rest) = text.strip_prefix('+') {
        rest
    } else if let Some(rest) = text.strip_prefix("00") {
        rest
    } else if let Some(rest) = text.strip_prefix("(+") {
        rest
    } else {
        return Err(
            "an international number starting with + and the country code, e.g. +14155550100",
        );
    };
    let mut digits = String::with_capacity(16);
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' => {}
            _ => return Err("only digits, spaces, dashes, dots and parentheses"),
        }
    }
    if digits.starts_with('0') {
        return Err("a country code does not start with 0");
    }
    if !(8..=15).contains(&digits.len()) {
        return Err("8 to 15 digits with the country code");
    }
    Ok(format!("+{digits}"))
}

/// Whether `text` is already a phone number in E.164 (what providers send in `From`/`To`).
pub fn is_e164(text: &str) -> bool {
    text.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// What a person asks for about an alert from their phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhoneAction {
    Acknowledge,
    /// Page the next step of the escalation policy now.
    Escalate,
    /// Resolve ("close", as pagers say).
    Close,
}

impl PhoneAction {
    pub fn past(self) -> &'static str {
        match self {
            PhoneAction::Acknowledge => "Acknowledged",
            PhoneAction::Escalate => "Escalation requested",
            PhoneAction::Close => "Closed",
        }
    }

    fn from_letter(letter: &str) -> Option<PhoneAction> {
        match letter {
            "a" | "aa" => Some(PhoneAction::Acknowledge),
            "e" | "ee" => Some(PhoneAction::Escalate),
            "c" | "cc" => Some(PhoneAction::Close),
            _ => None,
        }
    }

    fn from_word(word: &str) -> Option<PhoneAction> {
        match word {
            "a" | "ack" | "acknowledge" | "acknowledged" => Some(PhoneAction::Acknowledge),
            "e" | "esc" | "escalate" => Some(PhoneAction::Escalate),
            "c" | "close" | "resolve" => Some(PhoneAction::Close),
            _ => None,
        }
    }
}

/// A reply to an SMS page, read as GoAlert's users write them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `STOP` (and Twilio's other opt-out words): no more texts to this number.
    Stop,
    /// `START` / `YES` / `UNSTOP`: texts again.
    Start,
    /// `a`, `ack`, `c`, `e`: the latest page sent to this number.
    Latest(PhoneAction),
    /// `1a`, `2 c`, `100aa`: the page that carried this code (all of its alerts).
    Code(u32, PhoneAction),
    /// `ack 0196…`, `c #0196…`: an alert by its id (or the first 8+ characters of it).
    Alert(String, PhoneAction),
    /// Anything else.
    Unknown,
}

const STOP_WORDS: [&str; 6] = ["stop", "stopall", "unsubscribe", "cancel", "end", "quit"];
const START_WORDS: [&str; 3] = ["start", "yes", "unstop"];

/// Reads an SMS reply. The whole body decides (`please stop` is not a stop); case, spaces
/// and quotes around it do not matter.
pub fn parse_reply(body: &str) -> Reply {
    let text = body.trim().to_lowercase();
    let text = text
        .trim_matches(|c: char| c == '\'' || c == '"' || c == '‘' || c == '’' || c == '.')
        .trim();
    if STOP_WORDS.contains(&text) {
        return Reply::Stop;
    }
    if START_WORDS.contains(&text) {
        return Reply::Start;
    }
    if let Some(action) = PhoneAction::from_word(text) {
        return Reply::Latest(action);
    }
    // "1a", "12 c", "100aa"
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
    if digits_end > 0 && digits_end <= 4 {
        let (number, letters) = text.split_at(digits_end);
        if let (Ok(code), Some(action)) = (
            number.parse::<u32>(),
            PhoneAction::from_letter(letters.trim()),
        ) {
            return Reply::Code(code, action);
        }
    }
    // "ack 0196…", "c #0196…"
    let word_end = text
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (word, rest) = text.split_at(word_end);
    let id = rest.trim().trim_start_matches('#').trim();
    if let Some(action) = PhoneAction::from_word(word)
        && (8..=36).contains(&id.len())
        && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
    {
        return Reply::Alert(id.to_string(), action);
    }
    Reply::Unknown
}

/// Replies that did nothing a number gets answers to, until its next page or action (as
/// GoAlert: a bot or an auto-reply on the other end cannot start an endless exchange).
pub const PASSIVE_REPLIES: i64 = 5;

/// The lowest reply code (from 1) not `taken` by a page still open on this number.
pub fn next_code(taken: &[u32]) -> u32 {
    (1..).find(|code| !taken.contains(code)).unwrap_or(1)
}

/// A 6-digit verification code (100000–999999) from a random number.
pub fn verification_code(random: u32) -> String {
    (100_000 + random % 900_000).to_string()
}

/// How long a verification code works.
pub const VERIFICATION_LIFETIME: SignedDuration = SignedDuration::from_mins(15);
/// Wrong codes allowed before a code stops working.
pub const VERIFICATION_ATTEMPTS: i64 = 5;

/// One rate window: at most `count` messages in `minutes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub count: usize,
    pub minutes: i64,
}

/// GoAlert's limits for alert pages, which came from carriers blocking a number as spam:
/// SMS 5 per 15 minutes and 11 per hour, calls 3 per 15 minutes and 7 per hour.
pub const SMS_LIMITS: [Window; 2] = [
    Window {
        count: 5,
        minutes: 15,
    },
    Window {
        count: 11,
        minutes: 60,
    },
];
pub const VOICE_LIMITS: [Window; 2] = [
    Window {
        count: 3,
        minutes: 15,
    },
    Window {
        count: 7,
        minutes: 60,
    },
];
/// The longest window: older sends never matter.
pub const LIMIT_HORIZON: SignedDuration = SignedDuration::from_mins(60);

/// When the next message to a number may go, given when the earlier ones went: `None` now,
/// else the moment the fullest window has room again.
pub fn next_allowed(limits: &[Window], sent: &[Timestamp], now: Timestamp) -> Option<Timestamp> {
    let mut recent: Vec<Timestamp> = sent.iter().copied().filter(|at| *at <= now).collect();
    recent.sort_unstable_by(|a, b| b.cmp(a));
    limits
        .iter()
        .filter_map(|window| {
            let span = SignedDuration::from_mins(window.minutes);
            let inside = recent.iter().filter(|at| **at > now - span).count();
            if inside < window.count {
                return None;
            }
            // The window has room again when its `count`-th most recent send leaves it.
            recent.get(window.count - 1).map(|at| *at + span)
        })
        .max()
}

/// What a provider says became of a message or call, in Firebreak's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    Queued,
    Sent,
    Delivered,
    /// Will not arrive; `permanent` when trying again cannot help (a landline, STOP, …).
    Failed {
        permanent: bool,
    },
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Queued => "queued",
            Delivery::Sent => "sent",
            Delivery::Delivered => "delivered",
            Delivery::Failed { .. } => "failed",
        }
    }
}

/// A message's status callback (`MessageStatus`) with its `ErrorCode`, if any.
pub fn sms_delivery(status: &str, error_code: Option<i64>) -> Delivery {
    match status {
        "delivered" | "read" => Delivery::Delivered,
        "sent" => Delivery::Sent,
        "failed" | "undelivered" | "canceled" => Delivery::Failed {
            permanent: error_code.is_some_and(|code| permanent_error(code).is_some()),
        },
        _ => Delivery::Queued,
    }
}

/// A call's status callback (`CallStatus`). A completed call is only "delivered": voicemail
/// completes calls too, so only a key press acknowledges.
pub fn call_delivery(status: &str, error_code: Option<i64>) -> Delivery {
    match status {
        "completed" => Delivery::Delivered,
        "ringing" | "in-progress" | "answered" => Delivery::Sent,
        "busy" | "no-answer" | "canceled" => Delivery::Failed { permanent: false },
        "failed" => Delivery::Failed {
            permanent: error_code.is_some_and(|code| permanent_error(code).is_some()),
        },
        _ => Delivery::Queued,
    }
}

/// Provider error codes that mean this number cannot be reached this way, in words for the
/// person's contact method; other codes are worth another try.
pub fn permanent_error(code: i64) -> Option<&'static str> {
    Some(match code {
        21211 => "not a valid phone number",
        21214 => "not a number that can be called",
        21217 => "not a valid phone number",
        21610 => "this number replied STOP; text START to it to resume",
        21612 => "cannot be reached from the sending number",
        21614 => "not a mobile number (a landline cannot receive SMS)",
        30004 => "the number blocks these messages",
        30005 => "unknown or switched-off number",
        30006 => "a landline or a carrier that cannot receive SMS",
        _ => return None,
    })
}

/// The characters of GSM-7's basic table; one septet each.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM-7's extension table: two septets each.
const GSM_EXTENDED: &str = "^{}\\[~]|€";

/// Text in the GSM-7 alphabet (so a page is not sent as UCS-2, at 70 characters a
/// segment): look-alikes become their GSM form, anything else `?`.
pub fn gsm7(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '‘' | '’' | '`' | '´' => '\'',
            '“' | '”' => '"',
            '–' | '—' | '‐' => '-',
            '…' => '.',
            '\t' => ' ',
            c if GSM_BASIC.contains(c) || GSM_EXTENDED.contains(c) => c,
            _ => '?',
        })
        .collect()
}

fn septets(text: &str) -> usize {
    text.chars()
        .map(|c| if GSM_EXTENDED.contains(c) { 2 } else { 1 })
        .sum()
}

/// At most two segments of a concatenated SMS (153 septets each).
pub const SMS_MAX_SEPTETS: usize = 306;

/// The SMS a page is: what fired (shortened to fit two segments), a link when there is a
/// public URL, and how to answer by code. A page for several alerts says how many more.
pub fn sms_page(summary: &str, more: usize, code: u32, link: Option<&str>) -> String {
    let what = if more == 0 {
        String::new()
    } else {
        format!(" (+{more} more alert{})", if more == 1 { "" } else { "s" })
    };
    let all = if more == 0 { "" } else { " all" };
    let tail = format!(
        "{what}\n{}Reply {code}a to ack{all}, {code}e to escalate, {code}c to close{all}.",
        link.map(|it| format!("{it}\n")).unwrap_or_default()
    );
    let head = "Firebreak ALERT: ";
    let room = SMS_MAX_SEPTETS.saturating_sub(septets(head) + septets(&gsm7(&tail)));
    let summary = gsm7(summary.trim());
    let summary = if septets(&summary) <= room {
        summary
    } else {
        let mut out = String::new();
        for c in summary.chars() {
            if septets(&out) + septets(&c.to_string()) + 3 > room {
                break;
            }
            out.push(c);
        }
        format!("{}...", out.trim_end())
    };
    format!("{head}{summary}{}", gsm7(&tail))
}

/// XML text or attribute value.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn say(text: &str) -> String {
    format!(
        "<Say><prosody rate=\"slow\">{}</prosody></Say>",
        xml_escape(text)
    )
}

const XML_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

/// The menu a paged person hears, in the order it is read.
pub const VOICE_MENU: [&str; 4] = [
    "To acknowledge, press 4.",
    "To escalate, press 5.",
    "To close, press 6.",
    "To repeat this message, press star.",
];

/// What a call says when it is answered: the alert, slowly, then the menu, all inside a
/// one-key `<Gather>` whose key goes to `action`. With no key pressed the call ends.
pub fn voice_page(message: &str, action: &str) -> String {
    let mut said = say(&format!(
        "Hello. This is Firebreak with an alert. {message}"
    ));
    for line in VOICE_MENU {
        said.push_str(&say(line));
    }
    format!(
        "{XML_HEAD}<Response><Gather numDigits=\"1\" timeout=\"10\" method=\"POST\" action=\"{}\">{said}</Gather>{}<Hangup/></Response>",
        xml_escape(action),
        say("No key was pressed. Goodbye.")
    )
}

/// What the call says back after a key, then hangs up.
pub fn voice_said(text: &str) -> String {
    format!(
        "{XML_HEAD}<Response>{}{}<Hangup/></Response>",
        say(text),
        say("Goodbye.")
    )
}

/// A verification call: the code twice, digit by digit.
pub fn voice_code(code: &str) -> String {
    let spelled = code
        .chars()
        .map(|c| format!("{c}."))
        .collect::<Vec<_>>()
        .join(" ");
    let text = format!("Your Firebreak verification code is: {spelled} Again: {spelled}");
    voice_said(&text)
}

/// A key pressed during a page call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Act(PhoneAction),
    Repeat,
    /// No key, or one the menu does not have.
    Other,
}

pub fn voice_key(digits: &str) -> Key {
    match digits.trim() {
        "4" => Key::Act(PhoneAction::Acknowledge),
        "5" => Key::Act(PhoneAction::Escalate),
        "6" => Key::Act(PhoneAction::Close),
        "*" => Key::Repeat,
        _ => Key::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_become_e164() {
        let table = [
            ("+1 415-555-0100", Ok("+14155550100")),
            ("(+44) 20 7946 0958", Ok("+442079460958")),
            ("0044 20 7946 0958", Ok("+442079460958")),
            ("+49 (0)30 1234567", Ok("+490301234567")),
            ("+14155550100", Ok("+14155550100")),
            ("415-555-0100", Err(())),
            ("+0 123456789", Err(())),
            ("+1 555", Err(())),
            ("+1234567890123456", Err(())),
            ("+1 415 555 0100 ext 2", Err(())),
            ("", Err(())),
        ];
        for (text, expected) in table {
            assert_eq!(
                parse_phone(text).map_err(|_| ()),
                expected.map(String::from),
                "{text}"
            );
        }
        assert!(is_e164("+14155550100"));
        assert!(!is_e164("14155550100"));
        assert!(!is_e164("+1415555010a"));
    }

    #[test]
    fn replies_are_read_like_goalerts() {
        use PhoneAction::*;
        let id = "0196a3b4-7c2d-7e00-8000-000000000001";
        let table = [
            ("STOP", Reply::Stop),
            (" stop ", Reply::Stop),
            ("Unsubscribe", Reply::Stop),
            ("please stop", Reply::Unknown),
            ("START", Reply::Start),
            ("yes", Reply::Start),
            ("a", Reply::Latest(Acknowledge)),
            ("'ack'", Reply::Latest(Acknowledge)),
            ("c", Reply::Latest(Close)),
            ("e", Reply::Latest(Escalate)),
            ("1a", Reply::Code(1, Acknowledge)),
            ("1A", Reply::Code(1, Acknowledge)),
            ("2 c", Reply::Code(2, Close)),
            ("12e", Reply::Code(12, Escalate)),
            ("100aa", Reply::Code(100, Acknowledge)),
            ("100cc", Reply::Code(100, Close)),
            ("1x", Reply::Unknown),
            (
                "ack 0196a3b4-7c2d-7e00-8000-000000000001",
                Reply::Alert(id.into(), Acknowledge),
            ),
            ("c #0196a3b4", Reply::Alert("0196a3b4".into(), Close)),
            ("ack 1234", Reply::Unknown),
            ("hello", Reply::Unknown),
            ("", Reply::Unknown),
        ];
        for (text, expected) in table {
            assert_eq!(parse_reply(text), expected, "{text:?}");
        }
    }

    #[test]
    fn codes_and_verification() {
        assert_eq!(next_code(&[]), 1);
        assert_eq!(next_code(&[1, 2, 4]), 3);
        assert_eq!(verification_code(0), "100000");
        assert_eq!(verification_code(899_999), "999999");
        assert_eq!(verification_code(900_000), "100000");
        assert_eq!(verification_code(u32::MAX).len(), 6);
    }

    #[test]
    fn rate_limits_hold_per_window() {
        let t0: Timestamp = "2026-01-01T03:00:00Z".parse().unwrap();
        let at = |min: i64| t0 + SignedDuration::from_mins(min);
        // (sent at minutes, now, next allowed)
        let table: [(&[i64], i64, Option<i64>); 6] = [
            (&[], 0, None),
            (&[0, 1, 2, 3], 4, None),
            (&[0, 1, 2, 3, 4], 5, Some(15)),
            (&[0, 1, 2, 3, 4], 15, None),
            // 11 in the hour spread so no 15-minute window is full
            (&[0, 1, 2, 3, 15, 16, 17, 18, 30, 31, 32], 50, Some(60)),
            (&[0, 1, 2, 3, 15, 16, 17, 18, 30, 31, 32], 60, None),
        ];
        for (sent, now, expected) in table {
            let sent: Vec<Timestamp> = sent.iter().map(|m| at(*m)).collect();
            assert_eq!(
                next_allowed(&SMS_LIMITS, &sent, at(now)),
                expected.map(at),
                "{sent:?} at {now}"
            );
        }
        let calls = [at(0), at(1), at(2)];
        assert_eq!(next_allowed(&VOICE_LIMITS, &calls, at(3)), Some(at(15)));
    }

    #[test]
    fn provider_statuses() {
        let table = [
            ("queued", None, Delivery::Queued),
            ("sent", None, Delivery::Sent),
            ("delivered", None, Delivery::Delivered),
            (
                "undelivered",
                Some(30003),
                Delivery::Failed { permanent: false },
            ),
            ("failed", Some(30006), Delivery::Failed { permanent: true }),
            ("failed", Some(21610), Delivery::Failed { permanent: true }),
        ];
        for (status, code, expected) in table {
            assert_eq!(sms_delivery(status, code), expected, "{status} {code:?}");
        }
        assert_eq!(call_delivery("completed", None), Delivery::Delivered);
        assert_eq!(
            call_delivery("no-answer", None),
            Delivery::Failed { permanent: false }
        );
        assert_eq!(call_delivery("in-progress", None), Delivery::Sent);
    }

    #[test]
    fn sms_pages_fit_two_segments_in_gsm7() {
        let page = sms_page(
            "Disk full on db-1",
            0,
            1,
            Some("https://fb.example.com/alerts/x"),
        );
        assert_eq!(
            page,
            "Firebreak ALERT: Disk full on db-1\nhttps://fb.example.com/alerts/x\nReply 1a to ack, 1e to escalate, 1c to close."
        );
        let grouped = sms_page("Checkout 5xx", 7, 3, None);
        assert!(grouped.contains("(+7 more alerts)"), "{grouped}");
        assert!(grouped.contains("3a to ack all"), "{grouped}");
        let long = sms_page(&"“Quoted” — ünicode 日本 ".repeat(40), 0, 12, None);
        assert!(septets(&long) <= SMS_MAX_SEPTETS, "{}", septets(&long));
        assert!(long.contains("\"Quoted\" - ünicode ?? "), "{long}");
        assert!(long.ends_with("Reply 12a to ack, 12e to escalate, 12c to close."));
        assert_eq!(gsm7("€[x]"), "€[x]");
        assert_eq!(septets("€[x]"), 7);
    }

    #[test]
    fn twiml_gathers_one_key_and_escapes() {
        let xml = voice_page(
            "Disk <full> & \"hot\"",
            "https://fb.example.com/v?page=1&x=2",
        );
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Gather numDigits=\"1\" timeout=\"10\" method=\"POST\" action=\"https://fb.example.com/v?page=1&amp;x=2\">"), "{xml}");
        assert!(xml.contains("Disk &lt;full&gt; &amp; &quot;hot&quot;"));
        for line in VOICE_MENU {
            assert!(xml.contains(line), "{line}");
        }
        assert!(xml.ends_with("</Gather><Say><prosody rate=\"slow\">No key was pressed. Goodbye.</prosody></Say><Hangup/></Response>"));
        assert!(voice_code("123456").contains("1. 2. 3. 4. 5. 6."));
        let table = [
            ("4", Key::Act(PhoneAction::Acknowledge)),
            ("5", Key::Act(PhoneAction::Escalate)),
            ("6", Key::Act(PhoneAction::Close)),
            ("*", Key::Repeat),
            ("9", Key::Other),
            ("", Key::Other),
        ];
        for (digits, expected) in table {
            assert_eq!(voice_key(digits), expected, "{digits}");
        }
    }
}
