//! Query strings of collections (4.1.6, 5.2.18): `page` and `items` together, `name`, and
//! for logs `oldest`, `newest` and `tags`; and the `x` of back-office calls.

use ctp_model::Timestamp;
use ctp_store::{LogFilter, Window};

use crate::error::{ApiError, ApiResult};

/// A parsed query string.
#[derive(Debug, Clone, Default)]
pub struct CollectionQuery {
    /// `page` and `items`, as a window.
    pub window: Option<Window>,
    /// Only members with this name.
    pub name: Option<String>,
    /// The log filters.
    pub logs: LogFilter,
}

/// The value of `x`, which selects a back-office operation on a resource URL.
pub fn operation(raw: Option<&str>) -> Option<String> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes()).find(|(k, _)| k == "x").map(|(_, v)| v.into_owned())
}

/// The `subtree` flag of `PUT ?x=tags`: `true` applies the change below the resource too;
/// `false` or absent, to the resource alone.
pub fn subtree(raw: Option<&str>) -> ApiResult<bool> {
    match form_urlencoded::parse(raw.unwrap_or("").as_bytes()).find(|(k, _)| k == "subtree") {
        None => Ok(false),
        Some((_, value)) => match value.as_ref() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(ApiError::bad_request(format!("subtree must be true or false, got {other:?}"))),
        },
    }
}

/// A `page` or `items`: a whole number that fits a signed 64-bit integer, as the OpenAPI
/// document says (`int64`).
fn number(name: &str, text: &str) -> ApiResult<u64> {
    text.parse::<u64>()
        .ok()
        .filter(|n| i64::try_from(*n).is_ok())
        .ok_or_else(|| ApiError::bad_request(format!("{name} must be an integer from 0 to {}, got {text:?}", i64::MAX)))
}

fn time(name: &str, text: &str) -> ApiResult<Timestamp> {
    Timestamp::parse_rfc3339(text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{name} must be an RFC 3339 date-time such as 2026-11-22T10:41:58.123Z, got {text:?}"
        ))
    })
}

impl CollectionQuery {
    /// Parses and checks the query string of a collection.
    pub fn parse(raw: Option<&str>) -> ApiResult<CollectionQuery> {
        let mut query = CollectionQuery::default();
        let (mut page, mut items) = (None, None);
        for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if value.contains('\0') {
                return Err(ApiError::bad_request(format!("{key} holds U+0000 (%00), which is not allowed")));
            }
            match key.as_ref() {
                "page" => page = Some(number("page", &value)?),
                "items" => {
                    let n = number("items", &value)?;
                    if n < 1 {
                        return Err(ApiError::bad_request("items must be an integer strictly greater than 0"));
                    }
                    items = Some(n);
                }
                "name" => query.name = Some(value.into_owned()),
                "oldest" => query.logs.oldest = Some(time("oldest", &value)?),
                "newest" => query.logs.newest = Some(time("newest", &value)?),
                "tags" => query.logs.tags = value.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect(),
                _ => {}
            }
        }
        query.window = match (page, items) {
            (Some(page), Some(items)) => Some(Window { offset: page.saturating_mul(items), limit: items }),
            (None, None) => None,
            _ => return Err(ApiError::bad_request("page and items must be given together, or neither")),
        };
        Ok(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_rules() {
        let q = CollectionQuery::parse(Some("page=1&items=3")).unwrap();
        assert_eq!(q.window, Some(Window { offset: 3, limit: 3 }));
        assert!(CollectionQuery::parse(Some("page=1")).is_err());
        assert!(CollectionQuery::parse(Some("items=1")).is_err());
        assert!(CollectionQuery::parse(Some("page=-1&items=2")).is_err());
        assert!(CollectionQuery::parse(Some("page=1.5&items=2")).is_err());
        assert!(CollectionQuery::parse(Some("page=0&items=0")).is_err());
        assert!(CollectionQuery::parse(Some("page=9223372036854775807&items=9223372036854775807")).is_ok());
        assert!(CollectionQuery::parse(Some("page=9223372036854775808&items=1")).is_err());
        assert!(CollectionQuery::parse(Some("page=0&items=9223372036854775808")).is_err());
        assert_eq!(CollectionQuery::parse(Some("name=a%20b")).unwrap().name.as_deref(), Some("a b"));
        let logs = CollectionQuery::parse(Some("tags=a,b&oldest=2026-11-22T10:00:00Z")).unwrap().logs;
        assert_eq!(logs.tags, vec!["a", "b"]);
        assert!(logs.oldest.is_some());
        assert!(CollectionQuery::parse(Some("newest=soon")).is_err());
        assert_eq!(operation(Some("x=tags&y=1")).as_deref(), Some("tags"));
        assert_eq!(operation(None), None);
    }
}
