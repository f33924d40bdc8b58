//! What one account may use, so that one tenant cannot slow or starve the others: how many
//! triggers it keeps, how much compiled condition memory they hold, and how many requests
//! per second its token may send.

use std::num::NonZeroU32;

use ctp_model::ResourceId;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{ApiError, ApiResult};

/// The limits per account; `0` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Triggers an account may have created and not deleted.
    pub triggers_per_account: usize,
    /// Bytes of compiled conditions ([`ctpscript::Condition::compiled_size`]) of an
    /// account's triggers, together.
    pub condition_bytes_per_account: usize,
    /// Requests per second a token may send on average (twice as many in a burst).
    pub requests_per_second: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { triggers_per_account: 1000, condition_bytes_per_account: 16 << 20, requests_per_second: 1000 }
    }
}

impl Limits {
    /// Refuses a new trigger whose condition compiles to `new_size` bytes when the account
    /// already has `sizes` (the compiled sizes of its triggers' conditions).
    pub fn check_new_trigger(&self, sizes: &[usize], new_size: usize) -> ApiResult<()> {
        if self.triggers_per_account > 0 && sizes.len() >= self.triggers_per_account {
            return Err(ApiError::forbidden(format!(
                "this account has {} triggers, its limit; delete one first",
                self.triggers_per_account
            )));
        }
        let total: usize = sizes.iter().sum::<usize>() + new_size;
        if self.condition_bytes_per_account > 0 && total > self.condition_bytes_per_account {
            return Err(ApiError::forbidden(format!(
                "this trigger's condition compiles to {new_size} bytes, and the account's triggers would hold \
                 {total} bytes, over its limit of {}; simplify the condition (large regular expressions cost \
                 the most) or delete a trigger",
                self.condition_bytes_per_account
            )));
        }
        Ok(())
    }
}

/// Requests per second per account (a token's account), by the generic cell rate algorithm.
pub struct RequestRate {
    limiter: Option<DefaultKeyedRateLimiter<ResourceId>>,
    per_second: u32,
}

impl RequestRate {
    /// A limiter of `per_second` requests per second per account, with bursts of twice
    /// that; `0`: no limit.
    pub fn new(per_second: u32) -> RequestRate {
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = rate.saturating_mul(NonZeroU32::new(2).expect("2 is not zero"));
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        RequestRate { limiter, per_second }
    }

    /// Counts one request of `account`: a 429 with `Retry-After` when it is over its rate.
    pub fn check(&self, account: &ResourceId) -> ApiResult<()> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        match limiter.check_key(account) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Err(ApiError::too_many_requests(
                    format!("this token sent more than {} requests per second; try again later", self.per_second),
                    seconds.max(1),
                ))
            }
        }
    }

    /// Forgets accounts that have been idle long enough to be back at a full burst, so that
    /// the limiter's memory follows the active accounts.
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

impl std::fmt::Debug for RequestRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestRate").field("per_second", &self.per_second).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_over_its_rate_waits() {
        let rate = RequestRate::new(5);
        let (a, b) = (ResourceId::parse("a").unwrap(), ResourceId::parse("b").unwrap());
        for _ in 0..10 {
            rate.check(&a).unwrap();
        }
        let refused = rate.check(&a).unwrap_err();
        assert_eq!(refused.status, axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.retry_after, Some(1));
        rate.check(&b).expect("another account is not slowed");
        let unlimited = RequestRate::new(0);
        for _ in 0..10_000 {
            unlimited.check(&a).unwrap();
        }
    }

    #[test]
    fn trigger_limits() {
        let limits = Limits { triggers_per_account: 2, condition_bytes_per_account: 100, requests_per_second: 0 };
        limits.check_new_trigger(&[10], 10).unwrap();
        assert!(limits.check_new_trigger(&[10, 10], 10).unwrap_err().message.contains("2 triggers"));
        assert!(limits.check_new_trigger(&[50], 60).unwrap_err().message.contains("limit of 100"));
        Limits { triggers_per_account: 0, condition_bytes_per_account: 0, requests_per_second: 0 }
            .check_new_trigger(&[1; 5000], 1 << 30)
            .unwrap();
    }
}
