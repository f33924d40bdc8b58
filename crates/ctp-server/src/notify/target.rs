//! Where a trigger's notifications go: its `notification` URI, parsed once when the
//! trigger is created (to refuse what cannot be delivered) and again for each delivery.

use std::str::FromStr;

use tokio_xmpp::jid::BareJid;
use url::Url;

/// The forms of `notification` a trigger may have, for error messages.
pub const ACCEPTED_FORMS: &str = "notification must be empty (log only), an xmpp: URI such as \
     \"xmpp:security-team@example.com\" (RFC 5122), or an http(s) URL such as \"https://example.com/ctp-alerts\"";

/// A delivery channel, for metrics and the outbox's listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// An XMPP chat message.
    Xmpp,
    /// A signed HTTP POST.
    Webhook,
}

impl Channel {
    /// Its name in metrics and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Xmpp => "xmpp",
            Channel::Webhook => "webhook",
        }
    }
}

/// A parsed notification URI.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// `xmpp:node@domain`: a chat message to this address.
    Xmpp(BareJid),
    /// `https://...` or `http://...`: a webhook.
    Webhook(Url),
}

impl Target {
    /// Parses a non-empty `notification`; the error says which forms are accepted.
    pub fn parse(uri: &str) -> Result<Target, String> {
        let refuse = |why: &str| Err(format!("notification {uri:?} {why}; {ACCEPTED_FORMS}"));
        let Ok(url) = Url::parse(uri) else {
            return refuse("is not a URI");
        };
        match url.scheme() {
            "xmpp" => {
                if url.has_authority() {
                    return refuse("names an account to send from (xmpp://...); ctpd sends from its own account");
                }
                // RFC 5122: the path is the JID, percent-encoded; a query (?message) and a
                // fragment are allowed and do not change the address.
                let Ok(decoded) = percent_encoding::percent_decode_str(url.path()).decode_utf8() else {
                    return refuse("is not valid percent-encoded UTF-8");
                };
                if !decoded.contains('@') {
                    return refuse("has no node@domain address");
                }
                match BareJid::from_str(&decoded) {
                    Ok(jid) if jid.node().is_some() => Ok(Target::Xmpp(jid)),
                    Ok(_) => refuse("has no node@domain address"),
                    Err(e) => refuse(&format!("is not a valid XMPP address ({e})")),
                }
            }
            "http" | "https" => match url.host_str() {
                Some(host) if !host.is_empty() => Ok(Target::Webhook(url)),
                _ => refuse("has no host"),
            },
            _ => refuse("has an unsupported scheme"),
        }
    }

    /// Its channel.
    pub fn channel(&self) -> Channel {
        match self {
            Target::Xmpp(_) => Channel::Xmpp,
            Target::Webhook(_) => Channel::Webhook,
        }
    }
}

/// Checks a `notification` given to a new trigger: empty, or a target ctpd can deliver to.
pub fn validate(uri: &str) -> Result<(), String> {
    if uri.is_empty() {
        Ok(())
    } else {
        Target::parse(uri).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        assert_eq!(
            Target::parse("xmpp:customer@localhost").unwrap(),
            Target::Xmpp(BareJid::from_str("customer@localhost").unwrap())
        );
        assert_eq!(
            Target::parse("xmpp:%C3%A9quipe@example.com?message").unwrap(),
            Target::Xmpp(BareJid::from_str("équipe@example.com").unwrap())
        );
        assert_eq!(Target::parse("https://example.com/hook?a=1").unwrap().channel(), Channel::Webhook);
        assert_eq!(Target::parse("http://127.0.0.1:9000/").unwrap().channel(), Channel::Webhook);
        assert!(validate("").is_ok());
    }

    #[test]
    fn refused_forms_say_what_is_accepted() {
        for bad in [
            "mailto:a@example.com",
            "xmpp:example.com",
            "xmpp://guest@example.com/support@example.com",
            "xmpp:a@b@c",
            "xmpp:%C3%28@example.com",
            "https://",
            "not a uri",
            "customer@example.com",
        ] {
            let message = Target::parse(bad).unwrap_err();
            assert!(message.contains("xmpp:") && message.contains("http(s)"), "{bad}: {message}");
        }
    }
}
