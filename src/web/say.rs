//! What a page that sends or checks one-time codes says about each outcome of `crate::otp`
//! (the enrolment proof, the account proof, the email factor): the words and the status, in one
//! place so every such page tells the user the same thing.

use axum::http::StatusCode;

use crate::model::now;
use crate::notify::sms::SmsError;
use crate::otp::{Checked, OtpError, Sent};

/// What the proof page says: a notice or an error, and the status it is served with.
#[derive(Debug, Clone, Copy, Default)]
pub struct Say {
    pub notice: Option<&'static str>,
    pub error: Option<&'static str>,
    pub status: Option<StatusCode>,
    /// Minutes until a lock or a throttle ends, for the `{minutes}` placeholder.
    pub minutes: i64,
}

/// A number whose country the tenant does not text.
pub const COUNTRY_NOT_ALLOWED: &str = "We cannot send text messages to numbers in that country. Enter another number, or use another method.";

/// A gateway that refused the text (a 4xx: a bad or unreachable number) is the number's
/// problem; one that could not be reached is worth another try.
fn sms_not_sent(e: &SmsError) -> Say {
    match e {
        SmsError::Rejected { .. } => Say {
            error: Some(
                "We could not send a text to that number. Check the number and try again, or use another method.",
            ),
            status: Some(StatusCode::BAD_REQUEST),
            ..Say::default()
        },
        SmsError::Config(_) | SmsError::Unavailable { .. } => Say {
            error: Some(
                "We could not send a text to that number just now. Select Send again in a moment.",
            ),
            status: Some(StatusCode::SERVICE_UNAVAILABLE),
            ..Say::default()
        },
    }
}

const LOCKED: &str =
    "Too many wrong codes were entered. For your security, wait {minutes} minutes, then try again.";

fn minutes_until(until: i64) -> i64 {
    ((until - now() + 59) / 60).max(1)
}

/// The words for a send outcome (first visit or "Send again"). A failed delivery is told as
/// such; the page still offers "Send again".
pub fn say_sent(sent: Result<Option<Sent>, OtpError>, resend: bool) -> Result<Say, OtpError> {
    Ok(match sent {
        Ok(None) => Say::default(),
        Ok(Some(Sent::Sent { .. })) => Say {
            notice: resend.then_some("We sent a new code."),
            ..Say::default()
        },
        Ok(Some(Sent::Throttled { retry_after })) => Say {
            notice: Some(
                "A code was sent less than a minute ago. Check your inbox, or try again shortly.",
            ),
            status: resend.then_some(StatusCode::TOO_MANY_REQUESTS),
            minutes: minutes_until(now() + retry_after),
            ..Say::default()
        },
        Ok(Some(Sent::DailyCapReached { until })) => Say {
            error: Some(
                "We have sent as many codes as we can today. Use the last code we sent, or try again tomorrow.",
            ),
            status: Some(StatusCode::TOO_MANY_REQUESTS),
            minutes: minutes_until(until),
            ..Say::default()
        },
        Ok(Some(Sent::Locked { until })) => Say {
            error: Some(LOCKED),
            status: Some(StatusCode::TOO_MANY_REQUESTS),
            minutes: minutes_until(until),
            ..Say::default()
        },
        // Which cap it was is for the audit log and the counters, not for the page: the words
        // are the same, so they tell an abuser nothing about which counter they filled.
        Ok(Some(Sent::Capped { until, .. })) => Say {
            error: Some(
                "We have sent as many text messages as we can for now. Try again in {minutes} minutes, or use another method.",
            ),
            status: Some(StatusCode::TOO_MANY_REQUESTS),
            minutes: minutes_until(until),
            ..Say::default()
        },
        Ok(Some(Sent::CountryNotAllowed)) => Say {
            error: Some(COUNTRY_NOT_ALLOWED),
            status: Some(StatusCode::BAD_REQUEST),
            ..Say::default()
        },
        Err(OtpError::Sms(e)) => sms_not_sent(&e),
        Err(OtpError::Mail(e)) => {
            tracing::warn!(error = %e, "one-time code not sent");
            Say {
                error: Some("We could not send the code just now. Select Send again in a moment."),
                status: Some(StatusCode::SERVICE_UNAVAILABLE),
                ..Say::default()
            }
        }
        Err(e) => return Err(e),
    })
}

/// The words for a checked code that did not verify.
pub fn say_checked(checked: Checked) -> Say {
    let (error, status, minutes) = match checked {
        Checked::Verified => (None, None, 0),
        Checked::Wrong { remaining: 0 } => (
            Some("Too many wrong codes. Select Send again for a new one."),
            Some(StatusCode::UNAUTHORIZED),
            0,
        ),
        Checked::Wrong { .. } => (
            Some("That code didn't work. Check the email and try again."),
            Some(StatusCode::UNAUTHORIZED),
            0,
        ),
        Checked::Locked { until } => (
            Some(LOCKED),
            Some(StatusCode::TOO_MANY_REQUESTS),
            minutes_until(until),
        ),
        Checked::Expired => (
            Some("That code has expired. Select Send again for a new one."),
            Some(StatusCode::UNAUTHORIZED),
            0,
        ),
    };
    Say {
        notice: None,
        error,
        status,
        minutes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_codes_get_their_words_and_status() {
        let wrong = say_checked(Checked::Wrong { remaining: 3 });
        assert_eq!(wrong.status, Some(StatusCode::UNAUTHORIZED));
        assert!(wrong.error.unwrap().contains("didn't work"));
        let dead = say_checked(Checked::Wrong { remaining: 0 });
        assert!(dead.error.unwrap().contains("Select Send again"));
        let locked = say_checked(Checked::Locked { until: now() + 900 });
        assert_eq!(locked.status, Some(StatusCode::TOO_MANY_REQUESTS));
        assert_eq!(locked.minutes, 15);
        assert!(
            say_checked(Checked::Expired)
                .error
                .unwrap()
                .contains("expired")
        );
    }

    #[test]
    fn a_throttled_resend_is_429_but_a_first_visit_is_a_page() {
        let throttled = || Ok(Some(Sent::Throttled { retry_after: 20 }));
        let resend = say_sent(throttled(), true).unwrap();
        assert_eq!(resend.status, Some(StatusCode::TOO_MANY_REQUESTS));
        assert!(resend.notice.is_some());
        assert_eq!(say_sent(throttled(), false).unwrap().status, None);
        let sent = say_sent(Ok(Some(Sent::Sent { expires_at: 0 })), true).unwrap();
        assert_eq!(sent.notice, Some("We sent a new code."));
        let capped = say_sent(Ok(Some(Sent::DailyCapReached { until: 0 })), true).unwrap();
        assert_eq!(capped.status, Some(StatusCode::TOO_MANY_REQUESTS));
        let cap = crate::otp::Cap::Ip;
        let texts = say_sent(Ok(Some(Sent::Capped { cap, until: 0 })), false).unwrap();
        assert_eq!(texts.status, Some(StatusCode::TOO_MANY_REQUESTS));
        assert!(texts.error.unwrap().contains("as many text messages"));
    }

    #[test]
    fn a_text_the_gateway_refused_is_told_as_such() {
        let refused = SmsError::Rejected {
            status: 400,
            code: Some("21211".into()),
            message: "invalid".into(),
        };
        let say = say_sent(Err(OtpError::Sms(refused)), false).unwrap();
        assert_eq!(say.status, Some(StatusCode::BAD_REQUEST));
        assert!(
            say.error
                .unwrap()
                .contains("We could not send a text to that number")
        );
        let down = SmsError::Unavailable {
            status: Some(503),
            message: "busy".into(),
        };
        let say = say_sent(Err(OtpError::Sms(down)), true).unwrap();
        assert_eq!(say.status, Some(StatusCode::SERVICE_UNAVAILABLE));
    }
}
