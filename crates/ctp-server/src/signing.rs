//! Results signed at the source (issue 14, CTP 2.14 §4.2.6): a pushed result that names an
//! authority and carries a signature is verified against that authority's keys over exactly
//! the bytes §4.2.6 defines, as stored (so a customer re-verifies what the API returns);
//! a measurement or metric may require signed results. A refused result is a 400 that says
//! why, and nothing is stored.

use ctp_jws::{TrustedKey, Validity};
use ctp_model::resources::{Authority, AuthorityKey, ResultVerification};
use ctp_model::{CheckedResult, ResourceId, Timestamp};

use crate::context::AppState;
use crate::error::{ApiError, ApiResult};

/// Checks the signature of `result` (as completed by `check_result`) pushed to `subject` (a
/// measurement, which with `required` takes signed results only), and
/// records who verified it in `result.verification`.
pub async fn verify(
    state: &AppState,
    required: bool,
    subject: &str,
    pushed_text: &str,
    result: &mut CheckedResult,
    now: Timestamp,
) -> ApiResult<()> {
    let authority_id = result.value.get("authorityId").and_then(|v| v.as_str()).filter(|s| !s.is_empty());
    let signature = result.value.get("signature").and_then(|v| v.as_str()).filter(|s| !s.is_empty());
    let Some(_) = signature else {
        if required {
            return Err(ApiError::bad_request(format!(
                "{subject} takes signed results only (it or its metric requires them): this result has no signature"
            )));
        }
        return Ok(());
    };
    let authority_id = authority_id.ok_or_else(|| {
        ApiError::bad_request("the result has a signature but no authorityId: name the authority that signed it")
    })?;
    // Members the server adds change what was signed: a signed result must carry them.
    let pushed: serde_json::Value = serde_json::from_str(pushed_text).unwrap_or_default();
    if pushed.get("updateTime").is_none() {
        return Err(ApiError::bad_request(
            "a signed result must carry its updateTime (the server would add one, changing the signed bytes)",
        ));
    }
    let id = ResourceId::parse(authority_id)
        .map_err(|_| ApiError::bad_request(format!("unknown authority {authority_id:?}: no authority has this id")))?;
    let authority = match state.store.authority(&id).await {
        Ok(authority) => authority,
        Err(ctp_store::StoreError::Missing(_)) => {
            return Err(ApiError::bad_request(format!("unknown authority {authority_id:?}: no authority has this id")))
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(retired) = authority.retired {
        return Err(ApiError::bad_request(format!(
            "authority {authority_id} was retired at {retired}: it signs no result any more"
        )));
    }
    let keys = trusted_keys(&authority)?;
    let verified = ctp_jws::verify_result(&result.raw, &keys, now.millis().div_euclid(1000))
        .map_err(|e| ApiError::bad_request(format!("the result's signature is refused: {e}")))?;
    result.verification =
        Some(ResultVerification { authority_id: id, key_id: verified.kid, algorithm: verified.alg.name().to_owned() });
    Ok(())
}

/// The keys of an authority as the JWS checks take them.
pub fn trusted_keys(authority: &Authority) -> ApiResult<Vec<TrustedKey>> {
    authority
        .keys
        .iter()
        .map(|key| {
            let public = ctp_jws::PublicKey::from_jwk_members(&key.jwk).map_err(|e| {
                ApiError::internal(format!("a stored key of authority {} is unusable: {e}", authority.id))
            })?;
            Ok(TrustedKey { kid: key.kid.clone(), key: public, validity: validity(key) })
        })
        .collect()
}

/// A key's validity in Unix seconds (stored in milliseconds).
fn validity(key: &AuthorityKey) -> Validity {
    Validity {
        not_before: key.not_before.map(|ms| ms.div_euclid(1000)),
        not_after: key.not_after.map(|ms| ms.div_euclid(1000)),
    }
}
