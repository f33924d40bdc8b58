//! Where a trigger's notifications go: its `notification` URI, parsed once when the
//! trigger is created (to refuse what cannot be delivered, or may not be: see
//! [`super::policy`]) and again for each delivery.

use std::str::FromStr;

use tokio_xmpp::jid::BareJid;
use url::Url;

use super::policy::WebhookPolicy;

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
        // The URL parser drops tabs and line breaks anywhere and trims control characters:
        // the text would not mean what it says (and a raw CR LF is a header injection
        // wherever the text is used as is).
        if let Some(c) = uri.chars().find(|c| c.is_control()) {
            return refuse(&format!("contains the control character U+{:04X}", u32::from(c)));
        }
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
            "http" | "https" => {
                if url.host_str().is_none_or(str::is_empty) {
                    return refuse("has no host");
                }
                if !url.username().is_empty() || url.password().is_some() {
                    return refuse(
                        "has a user name or password (user:pass@); webhooks are authenticated by their signature",
                    );
                }
                Ok(Target::Webhook(url))
            }
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

    /// The key of its concurrency limit: where the notification is sent. A webhook's is
    /// its origin's host and port (`hooks.example.com:443`), an XMPP message's its
    /// recipient's domain (`xmpp:example.com`).
    pub fn host_key(&self) -> String {
        match self {
            Target::Xmpp(jid) => format!("xmpp:{}", jid.domain()),
            Target::Webhook(url) => {
                format!("{}:{}", url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or_default())
            }
        }
    }
}

/// Checks a `notification` given to a new trigger: empty, or a target ctpd can deliver to
/// and `policy` allows (see [`WebhookPolicy::check_url`]).
pub fn validate(uri: &str, policy: &WebhookPolicy) -> Result<(), String> {
    if uri.is_empty() {
        return Ok(());
    }
    match Target::parse(uri)? {
        Target::Webhook(url) => {
            policy.check_url(&url).map_err(|refusal| format!("notification {uri:?} is refused: {refusal}"))
        }
        Target::Xmpp(_) => Ok(()),
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
        assert!(validate("", &WebhookPolicy::default()).is_ok());
        assert!(validate("xmpp:customer@localhost", &WebhookPolicy::default()).is_ok());
        assert!(validate("https://example.com/hook", &WebhookPolicy::default()).is_ok());
    }

    #[test]
    fn host_keys_are_origin_host_and_port_or_the_xmpp_domain() {
        let key = |uri: &str| Target::parse(uri).unwrap().host_key();
        assert_eq!(key("https://Hooks.Example.com/a?b"), "hooks.example.com:443");
        assert_eq!(key("http://hooks.example.com/other"), "hooks.example.com:80");
        assert_eq!(key("http://127.0.0.1:9000/"), "127.0.0.1:9000");
        assert_eq!(key("http://[::1]:9000/"), "[::1]:9000");
        assert_eq!(key("xmpp:desk@hospital.example"), "xmpp:hospital.example");
    }

    #[test]
    fn control_characters_user_info_and_other_schemes_are_refused_with_the_reason() {
        for (bad, reason) in [
            ("http://example.com/\r\nX-Injected: 1", "U+000D"),
            ("http://example.com/a\nb", "U+000A"),
            ("http://exa\tmple.com/", "U+0009"),
            ("http://example.com/\0", "U+0000"),
            ("\u{1b}http://example.com/", "U+001B"),
            ("http://example.com/\u{7f}", "U+007F"),
            ("http://example.com/\u{85}", "U+0085"),
            ("xmpp:desk@hospital.example\n", "U+000A"),
            ("http://user:pass@example.com/", "user:pass@"),
            ("https://user@example.com/", "user:pass@"),
            ("https://:secret@example.com/", "user:pass@"),
            ("ftp://example.com/", "unsupported scheme"),
            ("file:///etc/passwd", "unsupported scheme"),
            ("gopher://127.0.0.1:6379/_INFO", "unsupported scheme"),
        ] {
            let message =
                validate(bad, &WebhookPolicy { allow_private: true, ..WebhookPolicy::default() }).unwrap_err();
            assert!(message.contains(reason) && message.contains("http(s)"), "{bad:?}: {message}");
        }
    }

    #[test]
    fn addresses_the_policy_refuses_are_refused_at_creation_with_the_reason() {
        let message = validate("http://10.0.0.1/hook", &WebhookPolicy::default()).unwrap_err();
        assert_eq!(
            message,
            "notification \"http://10.0.0.1/hook\" is refused: 10.0.0.1 is a private address; \
             see --webhook-allow-private or --webhook-allow-network"
        );
        let https = WebhookPolicy { require_https: true, ..WebhookPolicy::default() };
        assert!(validate("http://example.com/", &https).unwrap_err().contains("only over https"));
        assert!(validate("xmpp:desk@localhost", &https).is_ok(), "the policy is about webhooks");
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
