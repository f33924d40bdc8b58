//! Tag-based access control (back-office API 2.2, as the decisions page reads it).

/// The tag that matches every other tag.
pub const WILDCARD: &str = "*";

/// The signature tag of client-API reads, `?x=state`, trigger creation and deletion.
pub const ROLE_USER: &str = "role:user";
/// The signature tag of `PUT /measurements/{id}?x=result`.
pub const ROLE_AGENT: &str = "role:agent";
/// The signature tag of every other back-office call.
pub const ROLE_ADMIN: &str = "role:admin";

/// Two tags match when they are equal byte for byte, or one of them is the wildcard.
pub fn tags_match(a: &str, b: &str) -> bool {
    a == b || a == WILDCARD || b == WILDCARD
}

/// Whether one of the account's tags matches one of `tags`. An account with the wildcard
/// matches everything, untagged resources included (the decisions page: "`*` matches
/// everything").
pub fn any_match<A: AsRef<str>, B: AsRef<str>>(account_tags: &[A], tags: &[B]) -> bool {
    account_tags.iter().any(|a| a.as_ref() == WILDCARD || tags.iter().any(|t| tags_match(a.as_ref(), t.as_ref())))
}

/// The tags of `resource_tags` that an account holds (that one of `account_tags` matches):
/// the access tags of a trigger are those of its measurement's tags that its creator holds,
/// so that in a service view shared by two customers each customer's triggers (and their
/// log entries) stay its own, while the accounts of one organization share them.
pub fn held_tags(resource_tags: &[String], account_tags: &[String]) -> Vec<String> {
    resource_tags.iter().filter(|tag| any_match(account_tags, &[tag.as_str()])).cloned().collect()
}

/// The prefix of the identity tags `account:{id}`, which only the server assigns.
pub const ACCOUNT_PREFIX: &str = "account:";

/// The tag every account gets for itself: `account:{id}`.
pub fn account_tag(account_id: &str) -> String {
    format!("{ACCOUNT_PREFIX}{account_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        assert!(any_match(&["role:user", "account:a1"], &["account:a1"]));
        assert!(!any_match(&["role:user", "account:a1"], &["account:b2"]));
        assert!(any_match(&["*"], &["account:b2"]));
        assert!(any_match(&["account:a1"], &["*"]));
        assert!(!any_match::<&str, &str>(&["account:a1"], &[]));
        assert!(!any_match::<&str, &str>(&[], &["*"]));
        assert!(any_match::<&str, &str>(&["*"], &[]), "the wildcard account sees untagged resources");
        assert!(!tags_match("Role:user", "role:user"), "byte for byte");
    }

    #[test]
    fn a_trigger_keeps_the_tags_its_creator_holds() {
        let view: Vec<String> = ["customer:st-mary", "customer:st-john", "*"].map(String::from).to_vec();
        let nurse: Vec<String> = ["role:user", "customer:st-mary"].map(String::from).to_vec();
        assert_eq!(held_tags(&view, &nurse), ["customer:st-mary", "*"]);
        assert_eq!(held_tags(&view, &["*".to_owned()]), view, "an administrator's trigger keeps them all");
        assert!(held_tags(&view[..2], &["role:user".to_owned()]).is_empty());
    }
}
