//! The OpenAPI 3.1 document of the whole API, generated from the code so that it cannot
//! drift: every handler carries a `#[utoipa::path]` (its method, path, parameters, request
//! body and answers), the JSON encodings of `encode.rs` and the request bodies next to the
//! handlers derive `ToSchema`, and [`document`] assembles them for the configured base path.
//! The router serves it, without a token, at `GET {base path}openapi.json`.
//!
//! What holds for every operation is added here rather than on each handler: an operation
//! that needs a token can answer 401 (no or an unknown token), 403 (its role tag), 429 (the
//! token's request rate) and 500; one that takes a body can answer 413.

use std::borrow::Cow;

use ctp_model::resources::{DeliveryState, Kind, MeasurementState};
use ctp_model::Status;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, Response, Schema};
use utoipa::{Modify, OpenApi, PartialSchema, ToResponse, ToSchema};

use crate::error::ErrorBody;
use crate::notify::target::Channel as DeliveryChannel;
use crate::routes::{
    accounts, assets, attributes, audit, authorities, deliveries, drills, ledger, logs, measurements, metrics, ossec,
    prometheus, triggers, views,
};

/// Where the document is served, under the base path.
pub const DOCUMENT_PATH: &str = "openapi.json";

/// The name of the security scheme (a bearer token).
const BEARER: &str = "bearer";

const DESCRIPTION: &str = r#"The Cloud Trust Protocol (CTP 2.14) client API, the provider's back-office API and ctpd's extensions, as served by this ctpd.

**Authentication.** Every call but this document needs `Authorization: Bearer <token>`; without one, or with an unknown one, the answer is 401 with `WWW-Authenticate: Bearer realm="CTP", scope="CTP API 1.0"`. What a token may do is decided by its account's tags: the call's role tag (`role:user` for the client API, `role:agent` for pushing results, `role:admin` for the back office), then the resource's access tags (403 when either does not match). A token sends at most `--rate-limit` requests per second on average (1000 by default, bursts of twice as many); over it, 429 with `Retry-After` in seconds.

**One URL, several operations.** A back-office operation on a resource URL is chosen by the query parameter `x`: `GET {resource}?x=tags` reads its access tags and `PUT {resource}?x=tags` replaces them (`&subtree=true`: everything below it too); `PUT /measurements/{id}?x=result|objective|state|tags`; `GET`/`PUT /accounts/{id}?x=webhookSecret`; `PUT /deliveries/{id}?x=retry`. Each such URL and method is one operation here, with `x` as an enumerated query parameter and a body that is one of the bodies `x` selects.

**Wire quirks** (binding, from the specification and its decisions page): `changeId` is a string of digits; the `status` of objectives and triggers is one of the strings `"true"`, `"false"`, `"error"`; a measurement's `result` is an object with `value` (an array of rows) and the nullable strings `updateTime`, `authorityId`, `signature`, returned exactly as pushed; `createTrigger` is a link or `null`; every link is an absolute URL under `{CtpBase}`; timestamps the server makes are RFC 3339 in UTC with milliseconds. A creation body may be a resource as a `GET` returns it: what the server computes is ignored, any other unknown property is a 400.

**Errors.** Every error answer has a JSON body `{"error": "..."}` saying what is wrong. A path that no route matches is a 404 (its message says why: a trailing `/`, an unknown collection, a sub-collection the resource does not have); a known path with a method it does not take is a 405 with `Allow`; a body over the server's limit (1 MiB) is a 413. Unknown query parameters are ignored."#;

/// The document of everything under the base path (paths here are relative to it).
#[derive(OpenApi)]
#[openapi(
    info(title = "ctpd: Cloud Trust Protocol API", description = DESCRIPTION),
    paths(
        views::entry_point,
        serve_document,
        views::list_service_views,
        views::create_service_view,
        views::get_service_view,
        views::put_service_view,
        views::delete_service_view,
        views::list_dependencies_of_view,
        views::create_dependency_of_view,
        assets::list_assets_of_view,
        assets::create_asset,
        triggers::list_triggers_of_view,
        triggers::create_trigger,
        logs::list_logs_of_view,
        views::get_dependency,
        views::put_dependency,
        views::delete_dependency,
        views::list_dependencies_of_dependency,
        views::create_dependency_of_dependency,
        assets::list_assets_of_dependency,
        triggers::list_triggers_of_dependency,
        logs::list_logs_of_dependency,
        assets::get_asset,
        assets::put_asset,
        assets::delete_asset,
        attributes::list_attributes,
        attributes::create_attribute,
        attributes::get_attribute,
        attributes::put_attribute,
        attributes::delete_attribute,
        measurements::list_measurements,
        measurements::create_measurement,
        measurements::get_measurement,
        measurements::put_measurement,
        measurements::delete_measurement,
        metrics::list_metrics,
        metrics::create_metric,
        metrics::get_metric,
        metrics::put_metric,
        metrics::delete_metric,
        triggers::get_trigger,
        triggers::put_trigger,
        triggers::delete_trigger,
        logs::list_all_logs,
        logs::get_log,
        logs::put_log,
        accounts::list_accounts,
        accounts::create_account,
        accounts::get_account,
        accounts::put_account,
        accounts::delete_account,
        deliveries::list_deliveries,
        deliveries::get_delivery,
        deliveries::put_delivery,
        ossec::post_alerts,
        ossec::get_status,
        authorities::create_authority,
        authorities::list_authorities,
        authorities::get_authority,
        authorities::add_key,
        authorities::put_authority,
        audit::list_audit,
        audit::get_audit,
        ledger::get_ledger,
        ledger::get_checkpoint,
        ledger::get_consistency,
        ledger::get_tile,
        drills::start_drill,
        drills::list_drills_of_view,
        drills::list_drills,
        drills::get_drill,
        drills::acknowledge_drill,
        drills::acknowledge_drill_post,
    ),
    components(
        schemas(ErrorBody),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            MethodNotAllowed,
            Conflict,
            PayloadTooLarge,
            TooManyRequests,
            InternalError
        )
    ),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
    tags(
        (name = "client API", description = "CTP 2.14, section 5: what customers read, and the triggers they set"),
        (name = "back office", description = "The provider's back-office API (0.2): creating, deleting, access tags, pushing results, accounts"),
        (name = "extensions", description = "ctpd's own: subtree revocation, webhook secrets, the notification outbox"),
        (name = "server", description = "The server itself: health, counters, this document")
    )
)]
struct ApiDoc;

/// The operations outside the base path.
#[derive(OpenApi)]
#[openapi(paths(crate::healthz, prometheus::metrics_text))]
struct RootDoc;

/// The OpenAPI document of the server, with its paths under `base_path` (which starts and
/// ends with `/`) exactly as the router serves them.
pub fn document(base_path: &str) -> Document {
    let mut api = ApiDoc::openapi();
    let prefix = base_path.trim_end_matches('/');
    api.paths.paths = std::mem::take(&mut api.paths.paths)
        .into_iter()
        .map(|(path, item)| (if path == "/" { base_path.to_owned() } else { format!("{prefix}{path}") }, item))
        .collect();
    api.merge(RootDoc::openapi());
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    for item in api.paths.paths.values_mut() {
        for operation in
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
        {
            add_common_responses(operation);
            optional_body_is_absent(operation);
        }
    }
    api
}

/// An optional request body (`request_body = Option<T>`) may be absent, but never the JSON
/// `null` that utoipa makes its schema accept: every body is a JSON object.
fn optional_body_is_absent(operation: &mut Operation) {
    use utoipa::openapi::schema::SchemaType;
    let Some(body) = &mut operation.request_body else { return };
    for content in body.content.values_mut() {
        if let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema {
            let is_null = |item: &RefOr<Schema>| matches!(item, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
            let rest: Vec<RefOr<Schema>> = one_of.items.iter().filter(|i| !is_null(i)).cloned().collect();
            if let [only] = rest.as_slice() {
                content.schema = Some(only.clone());
            }
        }
    }
}

/// The document as the JSON text served, with every documented response header marked
/// required (ctpd always sends those it documents: `Location`, `WWW-Authenticate`,
/// `Retry-After`, `Allow`), which utoipa's header objects cannot say.
pub fn document_json(base_path: &str) -> String {
    let mut json = serde_json::to_value(document(base_path)).expect("the document is JSON");
    require_headers(&mut json);
    serde_json::to_string(&json).expect("the document is JSON")
}

fn require_headers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(headers)) = map.get_mut("headers") {
                for header in headers.values_mut() {
                    if let serde_json::Value::Object(header) = header {
                        header.insert("required".to_owned(), serde_json::Value::Bool(true));
                    }
                }
            }
            map.values_mut().for_each(require_headers);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(require_headers),
        _ => {}
    }
}

/// Adds the answers every operation of its kind can give: with a token, 401, 403, 429 and
/// 500; with a body, 413.
fn add_common_responses(operation: &mut Operation) {
    let public = operation.security.as_ref().is_some_and(|s| s.iter().all(|r| r == &Default::default()));
    let mut add = |status: &str, name: &str| {
        operation.responses.responses.entry(status.to_owned()).or_insert_with(|| Ref::from_response_name(name).into());
    };
    if !public {
        add("401", "Unauthorized");
        add("403", "Forbidden");
        add("429", "TooManyRequests");
        add("500", "InternalError");
    }
    if operation.request_body.is_some() {
        add("413", "PayloadTooLarge");
    }
}

/// Adds the bearer-token security scheme.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The token of an account, given once when the account is created (`POST /accounts`), or \
                         the administrator's token of `ctpd serve --admin-token`",
                    ))
                    .build(),
            ),
        );
    }
}

/// `GET {base path}openapi.json`: this document (OpenAPI 3.1), readable without a token.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "server",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of this server", body = Object))
)]
pub(crate) async fn serve_document(json: axum::body::Bytes) -> axum::response::Response {
    use axum::response::IntoResponse;
    ([(axum::http::header::CONTENT_TYPE, "application/json")], json).into_response()
}

fn error_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new().schema(Some(Ref::from_schema_name(ErrorBody::name()))).build(),
    )
}

macro_rules! error_responses {
    ($($(#[$doc:meta])* $name:ident => $description:expr $(, $header:literal : $schema:expr => $header_doc:literal)?;)*) => {
        $(
            $(#[$doc])*
            pub(crate) struct $name;

            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    #[allow(unused_mut)]
                    let mut response = error_response($description);
                    $(
                        response = response.header(
                            $header,
                            HeaderBuilder::new().schema($schema).description(Some($header_doc)).build(),
                        );
                    )?
                    (stringify!($name), response.build().into())
                }
            }
        )*
    };
}

error_responses! {
    /// 400.
    BadRequest => "The request is malformed: an invalid `{id}` (base64url, 1 to 96 characters), a bad query \
        parameter (`page` without `items`, `items` < 1, a date that is not RFC 3339, an unknown `x`), a body that is \
        not the JSON object the operation takes (the message names the property), a result that does not fit the \
        metric's `resultFormat`, a CTPScript syntax error, a string holding U+0000";
    /// 401.
    Unauthorized => "No `Authorization: Bearer` token, or an unknown one",
        "WWW-Authenticate": String::schema() => "`Bearer realm=\"CTP\", scope=\"CTP API 1.0\"`";
    /// 403.
    Forbidden => "The token's account lacks the call's role tag (`role:user`, `role:agent`, `role:admin`), or has \
        no access to the resource (its access tags), or is at one of its limits (triggers, condition size)";
    /// 404.
    NotFound => "No such resource";
    /// 405: a known path with a method it does not take (no operation has it: it describes the
    /// methods this document does not list).
    MethodNotAllowed => "A known path with a method it does not take",
        "Allow": String::schema() => "The methods the path takes";
    /// 409.
    Conflict => "The request contradicts the state of the resource";
    /// 413.
    PayloadTooLarge => "The request body is larger than the server accepts (1 MiB)";
    /// 429.
    TooManyRequests => "The token sent more requests than its rate allows",
        "Retry-After": u64::schema() => "Seconds to wait before trying again";
    /// 500.
    InternalError => "The server failed; its log has the details";
}

/// Schemas of what the encodings write as plain strings, and of results, which are kept as
/// pushed text: each lists its values from the model itself.
pub(crate) mod schema {
    use super::*;

    /// A string schema with these values.
    fn string_enum<'a>(values: impl IntoIterator<Item = &'a str>, description: &str) -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values)).description(Some(description)).into()
    }

    macro_rules! string_schema {
        ($(#[$doc:meta])* $name:ident as $wire:literal = $schema:expr) => {
            $(#[$doc])*
            pub(crate) struct $name;

            impl PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    $schema
                }
            }

            impl ToSchema for $name {
                fn name() -> Cow<'static, str> {
                    Cow::Borrowed($wire)
                }
            }
        };
    }

    string_schema! {
        /// The status of an objective or trigger.
        StatusName as "Status" = {
            let all = |s: Status| match s { Status::True | Status::False | Status::Error => s.as_str() };
            string_enum(
                [Status::True, Status::False, Status::Error].map(all),
                "The outcome of a condition's last evaluation, as a string (not a boolean)",
            )
        }
    }

    string_schema! {
        /// The state of a measurement.
        MeasurementStateName as "MeasurementState" = {
            let all = |s: MeasurementState| match s {
                MeasurementState::Activated | MeasurementState::Deactivated | MeasurementState::Pending => s.as_str(),
            };
            string_enum(
                [MeasurementState::Activated, MeasurementState::Deactivated, MeasurementState::Pending].map(all),
                "activated: monitored; deactivated: not monitored, no result; pending: activated, no result yet",
            )
        }
    }

    string_schema! {
        /// The states a customer sets (`PUT ?x=state`).
        SettableState as "SettableState" = {
            let settable = |s: MeasurementState| match s {
                MeasurementState::Activated | MeasurementState::Deactivated => Some(s.as_str()),
                MeasurementState::Pending => None,
            };
            string_enum(
                [MeasurementState::Activated, MeasurementState::Deactivated, MeasurementState::Pending]
                    .into_iter()
                    .filter_map(settable),
                "activated: a deactivated measurement becomes pending; deactivated: its result is cleared",
            )
        }
    }

    string_schema! {
        /// The state of a delivery job.
        DeliveryStateName as "DeliveryState" = {
            let all = |s: DeliveryState| match s {
                DeliveryState::Pending | DeliveryState::Delivered | DeliveryState::Failed => s.as_str(),
            };
            string_enum(
                [DeliveryState::Pending, DeliveryState::Delivered, DeliveryState::Failed].map(all),
                "pending: waiting for (or in) an attempt; delivered; failed: every attempt failed",
            )
        }
    }

    string_schema! {
        /// How a notification is sent.
        Channel as "Channel" = {
            let all = |c: DeliveryChannel| match c { DeliveryChannel::Xmpp | DeliveryChannel::Webhook => c.as_str() };
            string_enum([DeliveryChannel::Xmpp, DeliveryChannel::Webhook].map(all), "How the notification is sent")
        }
    }

    string_schema! {
        /// The `collectionType` of a collection.
        CollectionType as "CollectionType" = {
            let mut types: Vec<&str> = Vec::new();
            for kind in Kind::ALL.into_iter().filter(|k| *k != Kind::Delivery) {
                let name = crate::encode::Listing::of(kind).collection_type;
                if !types.contains(&name) {
                    types.push(name);
                }
            }
            types.push("authorities"); // an extension, issue 14 (not a CTP resource kind)
            string_enum(types, "The kind of the members (dependencies are listed as serviceViews, 5.2.4)")
        }
    }

    /// The rows of a result: objects whose members are the metric's columns.
    fn rows() -> ObjectBuilder {
        ObjectBuilder::new().schema_type(Type::Object).additional_properties(Some(
            ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                Type::String,
                Type::Number,
                Type::Boolean,
            ])),
        ))
    }

    fn nullable_string() -> ObjectBuilder {
        ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
    }

    string_schema! {
        /// A measurement result as ctpd returns it.
        MeasurementResult as "MeasurementResult" = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A result (4.2.6), exactly as the agent pushed it (keys in the pushed order, numbers as spelled), \
                 with the members it did not push appended: updateTime as the server's time, authorityId and \
                 signature as null",
            ))
            .property(
                "value",
                utoipa::openapi::schema::ArrayBuilder::new()
                    .items(rows())
                    .description(Some("The rows: each has exactly the metric's resultFormat columns")),
            )
            .property("updateTime", nullable_string().description(Some("When it was measured (RFC 3339)")))
            .property("authorityId", nullable_string().description(Some("Who signed it")))
            .property("signature", nullable_string().description(Some("A JWS over the result without signature")))
            .required("value")
            .required("updateTime")
            .required("authorityId")
            .required("signature")
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
            .into()
    }

    string_schema! {
        /// A result in a request body.
        PushedResult as "PushedResult" = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A result to store (4.2.6): value is required; each row must have exactly the metric's columns, \
                 of their types. A missing updateTime becomes the server's time. dateTime and authority are \
                 accepted for updateTime and authorityId (and renamed in place); other members are refused",
            ))
            .property("value", utoipa::openapi::schema::ArrayBuilder::new().items(rows()))
            .property("updateTime", ObjectBuilder::new().schema_type(Type::String).description(Some("RFC 3339")))
            .property("dateTime", ObjectBuilder::new().schema_type(Type::String).description(Some("updateTime")))
            .property("authorityId", nullable_string())
            .property("authority", nullable_string().description(Some("authorityId")))
            .property("signature", nullable_string())
            .required("value")
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
            .examples([serde_json::json!({"value": []})])
            .into()
    }
}

/// The parameters of the operations: the `{id}` of a path, the query strings of
/// collections, and the `x` that selects an operation on a resource URL. They describe
/// what the handlers parse themselves (`crate::query`), so they are never built.
#[allow(dead_code)]
pub(crate) mod params {
    use utoipa::{IntoParams, ToSchema};

    use super::schema::DeliveryStateName;

    /// `{id}`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Path)]
    pub(crate) struct Id {
        /// The resource's identifier: 1 to 96 base64url characters (else 400).
        #[param(pattern = "^[A-Za-z0-9_-]{1,96}$")]
        id: String,
    }

    /// The query of a collection (4.1.6).
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct Page {
        /// The page, from 0, of `items` members; only with `items`.
        #[param(minimum = 0)]
        page: Option<u64>,
        /// Members per page, 1 or more; only with `page`.
        #[param(minimum = 1)]
        items: Option<u64>,
        /// Only the members with this name.
        name: Option<String>,
    }

    /// The query of a log collection (5.2.18).
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct LogFilter {
        /// The page, from 0, of `items` entries; only with `items`.
        #[param(minimum = 0)]
        page: Option<u64>,
        /// Entries per page, 1 or more; only with `page`.
        #[param(minimum = 1)]
        items: Option<u64>,
        /// Only entries created at this time (RFC 3339) or later.
        #[param(format = DateTime)]
        oldest: Option<String>,
        /// Only entries created before this time (RFC 3339).
        #[param(format = DateTime)]
        newest: Option<String>,
        /// Only entries with all these tags (comma-separated).
        tags: Option<String>,
    }

    /// The query of `/audit`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct AuditQuery {
        /// Only the records of this account (an id or a link).
        account: Option<String>,
        /// Only the records whose resource starts with this path (under the base path).
        resource: Option<String>,
        /// Only records at this time (RFC 3339) or later.
        #[param(format = DateTime)]
        oldest: Option<String>,
        /// Only records before this time (RFC 3339).
        #[param(format = DateTime)]
        newest: Option<String>,
        /// The page, from 0, of `items` records; only with `items`.
        #[param(minimum = 0)]
        page: Option<u64>,
        /// Records per page, 1 or more; only with `page`.
        #[param(minimum = 1)]
        items: Option<u64>,
    }

    /// `GET /audit/{id}`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct GetAudit {
        /// `proof`: the record's inclusion proof in the transparency log.
        #[param(pattern = "^proof$")]
        x: Option<String>,
    }

    /// The query of `/ledger/consistency`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct ConsistencyQuery {
        /// The older tree size.
        #[param(minimum = 0)]
        old: u64,
        /// The newer tree size (at most the log's size).
        #[param(minimum = 0)]
        new: u64,
    }

    /// `PUT /authorities/{id}`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct PutAuthority {
        /// `retireKey` (body `{"kid"}`: that key's validity ends now) or `retire` (the
        /// authority signs nothing any more).
        #[param(pattern = "^(retireKey|retire)$")]
        x: String,
    }

    /// The query of a drill's acknowledgement link.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct DrillAcknowledgement {
        /// The link's secret (from the drill's message).
        #[param(pattern = "^[A-Za-z0-9_-]{32}$")]
        token: String,
        /// Who acknowledges (optional; at most 200 characters, no control characters).
        by: Option<String>,
    }

    /// The query of `/deliveries`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct DeliveryFilter {
        /// Only the jobs in this state.
        state: Option<DeliveryStateName>,
        /// The page, from 0, of `items` jobs; only with `items`.
        #[param(minimum = 0)]
        page: Option<u64>,
        /// Jobs per page, 1 or more; only with `page`.
        #[param(minimum = 1)]
        items: Option<u64>,
    }

    /// `x=tags`.
    #[derive(ToSchema)]
    #[schema(rename_all = "camelCase")]
    pub(crate) enum TagsOperation {
        /// The resource's access tags (administrators).
        Tags,
    }

    /// The operations of `GET` on a measurement or a log entry.
    #[derive(ToSchema)]
    #[schema(rename_all = "camelCase")]
    pub(crate) enum RecordOperation {
        /// The resource's access tags (administrators).
        Tags,
        /// The inclusion proof (C2SP tlog-proof, text/plain) of the measurement's current
        /// result or of the log entry in the transparency log (an extension, issue 14).
        Proof,
    }

    /// The operations of `GET /accounts/{id}`.
    #[derive(ToSchema)]
    #[schema(rename_all = "camelCase")]
    pub(crate) enum AccountGetOperation {
        /// The account's access tags.
        Tags,
        /// The secret that signs the webhooks of the account's triggers.
        WebhookSecret,
    }

    /// The operations of `PUT /measurements/{id}`.
    #[derive(ToSchema)]
    #[schema(rename_all = "camelCase")]
    pub(crate) enum MeasurementOperation {
        /// A customer activates or deactivates a user-activated measurement (`role:user`).
        State,
        /// An agent pushes a result (`role:agent`).
        Result,
        /// The provider sets or removes the objective (`role:admin`).
        Objective,
        /// The access tags (`role:admin`).
        Tags,
        /// Whether it takes signed results only (`role:admin`; an extension).
        Signing,
    }

    /// `x=retry`.
    #[derive(ToSchema)]
    #[schema(rename_all = "camelCase")]
    pub(crate) enum RetryOperation {
        /// Attempt a pending or failed job again at once, with a fresh series of attempts.
        Retry,
    }

    /// `GET` of a resource URL: the resource, or with `x=tags` its access tags.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct GetTags {
        /// `tags`: the resource's access tags instead of the resource (administrators).
        #[param(inline)]
        x: Option<TagsOperation>,
    }

    /// `GET` of a measurement or a log entry: the resource, its access tags, or its proof.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct GetRecord {
        /// `tags`: the access tags (administrators); `proof`: the inclusion proof.
        #[param(inline)]
        x: Option<RecordOperation>,
    }

    /// `GET /measurements/{id}`: the measurement, its access tags, its proof, its history
    /// or the verdict on a condition.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct GetMeasurement {
        /// The operation, if any.
        #[param(inline)]
        x: Option<MeasurementGetOperation>,
        /// `x=history`: only entries at this time (RFC 3339) or later.
        #[param(format = DateTime)]
        oldest: Option<String>,
        /// `x=history`: only entries before this time (RFC 3339).
        #[param(format = DateTime)]
        newest: Option<String>,
        /// `x=history`: the page, from 0, of `items` entries; only with `items`.
        #[param(minimum = 0)]
        page: Option<u64>,
        /// `x=history`: entries per page, 1 to 10 000; only with `page`.
        #[param(minimum = 1, maximum = 10000)]
        items: Option<u64>,
        /// `x=check`: the condition (CTPScript) to check and evaluate on the current result.
        condition: Option<String>,
    }

    /// The operations of `GET /measurements/{id}`.
    #[derive(ToSchema)]
    #[schema(rename_all = "camelCase")]
    pub(crate) enum MeasurementGetOperation {
        /// The access tags (administrators).
        Tags,
        /// The inclusion proof (C2SP tlog-proof, text/plain) of the current result in the
        /// transparency log (an extension, issue 14).
        Proof,
        /// The past results and changes of standing, oldest first, paginated (an extension,
        /// issue 15).
        History,
        /// Checks `condition` and evaluates it on the current result, storing nothing (an
        /// extension, issue 15).
        Check,
    }

    /// `GET /serviceViews/{id}`: the service view, its access tags, or its overview.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct GetServiceView {
        /// `tags`: the access tags (administrators); `overview`: the standing and
        /// day-by-day history of its measurements (an extension, issue 15).
        #[param(inline)]
        x: Option<ViewGetOperation>,
        /// `x=overview`: how many days of cells, 1 to 366 (90 if absent).
        #[param(minimum = 1, maximum = 366)]
        days: Option<u32>,
        /// `x=overview`: the reader's time zone, in minutes east of UTC (0 if absent).
        #[param(rename = "utcOffset", minimum = -840, maximum = 840)]
        utc_offset: Option<i32>,
    }

    /// The operations of `GET /serviceViews/{id}`.
    #[derive(ToSchema)]
    #[schema(rename_all = "camelCase")]
    pub(crate) enum ViewGetOperation {
        /// The access tags (administrators).
        Tags,
        /// The overview (an extension, issue 15).
        Overview,
    }

    /// `GET /accounts/{id}`: the account, its access tags or its webhook secret.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct GetAccount {
        /// `tags`: the account's access tags; `webhookSecret`: its webhook secret.
        #[param(inline)]
        x: Option<AccountGetOperation>,
    }

    /// `PUT ?x=tags` of a resource URL that has no other `PUT`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct PutTags {
        /// The operation: replace the access tags.
        #[param(inline)]
        x: TagsOperation,
        /// `true`: everything below the resource takes the new tags too, in one transaction
        /// (a customer's triggers, log entries and deliveries keep only those of their tags
        /// that remain); `false` or absent: the resource alone.
        subtree: Option<bool>,
    }

    /// `PUT /measurements/{id}`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct PutMeasurement {
        /// The operation, which decides the body and the role needed.
        #[param(inline)]
        x: MeasurementOperation,
        /// With `x=tags`: `true` gives the new tags to the measurement's triggers, log
        /// entries and deliveries too (see `PUT /serviceViews/{id}`).
        subtree: Option<bool>,
    }

    /// `PUT /accounts/{id}`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct PutAccount {
        /// `tags`: replace its access tags (who may read the account); `webhookSecret`: set
        /// or regenerate its webhook secret.
        #[param(inline)]
        x: AccountGetOperation,
        /// With `x=tags`: accepted, with nothing below an account to change.
        subtree: Option<bool>,
    }

    /// `PUT /deliveries/{id}`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct PutDelivery {
        /// The operation.
        #[param(inline)]
        x: RetryOperation,
    }
}

/// The answers of resource URLs whose `x` selects what they return: each is one of these
/// encodings (they describe `ok(...)` answers, so they are never built).
#[allow(dead_code, clippy::large_enum_variant)]
pub(crate) mod answers {
    use serde::Serialize;
    use utoipa::ToSchema;

    use crate::encode::{
        AccountJson, AssetJson, AttributeJson, LogJson, MeasurementJson, MetricJson, TagsJson, TriggerJson, ViewJson,
        WebhookSecretJson,
    };

    /// A service view or dependency, or with `x=tags` its access tags.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub(crate) enum ViewOrTags {
        /// The resource.
        View(ViewJson),
        /// `x=tags`.
        Tags(TagsJson),
    }

    /// An asset, or with `x=tags` its access tags.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub(crate) enum AssetOrTags {
        /// The resource.
        Asset(AssetJson),
        /// `x=tags`.
        Tags(TagsJson),
    }

    /// An attribute, or with `x=tags` its access tags.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub(crate) enum AttributeOrTags {
        /// The resource.
        Attribute(AttributeJson),
        /// `x=tags`.
        Tags(TagsJson),
    }

    /// A measurement, or with `x=tags` its access tags.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub(crate) enum MeasurementOrTags {
        /// The resource.
        Measurement(MeasurementJson),
        /// `x=tags`.
        Tags(TagsJson),
    }

    /// A measurement, its access tags, its history, or the verdict on a condition.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub(crate) enum MeasurementAnswer {
        /// The resource.
        Measurement(MeasurementJson),
        /// `x=tags`.
        Tags(TagsJson),
        /// `x=history`.
        History(crate::routes::history::HistoryCollection),
        /// `x=check`.
        Check(crate::routes::conditions::ConditionCheck),
    }

    /// A service view, its access tags, or its overview.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub(crate) enum ServiceViewAnswer {
        /// The resource.
        View(ViewJson),
        /// `x=tags`.
        Tags(TagsJson),
        /// `x=overview`.
        Overview(crate::routes::history::OverviewJson),
    }

    /// A metric, or with `x=tags` its access tags.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub(crate) enum MetricOrTags {
        /// The resource.
        Metric(MetricJson),
        /// `x=tags`.
        Tags(TagsJson),
    }

    /// A trigger, or with `x=tags` its access tags.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub(crate) enum TriggerOrTags {
        /// The resource.
        Trigger(TriggerJson),
        /// `x=tags`.
        Tags(TagsJson),
    }

    /// A log entry, or with `x=tags` its access tags.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub(crate) enum LogOrTags {
        /// The resource.
        Log(LogJson),
        /// `x=tags`.
        Tags(TagsJson),
    }

    /// An account, or its access tags (`x=tags`), or its webhook secret (`x=webhookSecret`).
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub(crate) enum AccountAnswer {
        /// The resource.
        Account(AccountJson),
        /// `x=tags`.
        Tags(TagsJson),
        /// `x=webhookSecret`.
        WebhookSecret(WebhookSecretJson),
    }

    /// The access tags (`x=tags`) or the webhook secret (`x=webhookSecret`) of an account.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub(crate) enum AccountPutAnswer {
        /// `x=tags`.
        Tags(TagsJson),
        /// `x=webhookSecret`.
        WebhookSecret(WebhookSecretJson),
    }
}
