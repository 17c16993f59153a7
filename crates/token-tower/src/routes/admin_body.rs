//! Reading the admin API's JSON bodies one field at a time, so that a refused value
//! names its field (`field` and `rule` in the problem document), then turning them into
//! token-core's [`NewKey`] and [`KeyUpdate`], whose rules (shared with the CLI) decide
//! the rest.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use token_core::Cidr;
use token_core::apikey::admin::KeyUpdate;
use token_core::apikey::{CreditPlan, NewKey};
use token_ratelimit::Quota;

use super::admin_wire::{BulkBody, Change, CreateBody, CreditsBody, UpdateBody};
use super::error::RouteError;

/// The longest field name echoed back in a problem document.
const MAX_ECHOED_NAME: usize = 64;

/// A JSON object's members, taken one by one.
pub(super) struct Fields(Map<String, Value>);

impl Fields {
    /// The members of `body`, which must be an object with no member outside
    /// `known`.
    pub(super) fn of(body: Value, known: &[&str]) -> Result<Self, RouteError> {
        let Value::Object(map) = body else {
            return Err(RouteError::invalid("the body must be a JSON object"));
        };
        if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
            let name: String = unknown.chars().take(MAX_ECHOED_NAME).collect();
            return Err(RouteError::invalid_field(
                name,
                format!("unknown field; expected one of {}", known.join(", ")),
            ));
        }
        Ok(Fields(map))
    }

    /// The member `name` as a `T`; absent or `null`: `None`.
    pub(super) fn take<T: DeserializeOwned>(
        &mut self,
        name: &'static str,
    ) -> Result<Option<T>, RouteError> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v)
                .map(Some)
                .map_err(|e| RouteError::invalid_field(name, e.to_string())),
        }
    }

    /// The member `name`, which must be there.
    pub(super) fn required<T: DeserializeOwned>(
        &mut self,
        name: &'static str,
    ) -> Result<T, RouteError> {
        self.take(name)?
            .ok_or_else(|| RouteError::invalid_field(name, "is required"))
    }

    /// The member `name` of a change: absent (unchanged), `null` or a value.
    pub(super) fn change<T: DeserializeOwned>(
        &mut self,
        name: &'static str,
    ) -> Result<Change<T>, RouteError> {
        match self.0.remove(name) {
            None => Ok(Change::Unchanged),
            Some(Value::Null) => Ok(Change::Set(None)),
            Some(v) => serde_json::from_value(v)
                .map(|v| Change::Set(Some(v)))
                .map_err(|e| RouteError::invalid_field(name, e.to_string())),
        }
    }
}

const CREATE_FIELDS: [&str; 9] = [
    "name",
    "scopes",
    "tenant",
    "ttl",
    "expires_at",
    "networks",
    "rate_limit",
    "credits",
    "metadata",
];

const UPDATE_FIELDS: [&str; 8] = [
    "name",
    "scopes",
    "expires_at",
    "ttl",
    "networks",
    "rate_limit",
    "credits",
    "metadata",
];

/// CIDRs such as `10.0.0.0/8`.
fn networks(list: &[String]) -> Result<Vec<Cidr>, RouteError> {
    list.iter()
        .map(|n| n.parse::<Cidr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            RouteError::invalid_field(
                "networks",
                format!("each must be a CIDR such as 10.0.0.0/8 ({e})"),
            )
        })
}

/// A quota in token-ratelimit's grammar (`100/minute`, `10/second burst 20`).
fn quota(text: &str) -> Result<&str, RouteError> {
    text.parse::<Quota>()
        .map_err(|e| RouteError::invalid_field("rate_limit", e.to_string()))?;
    Ok(text)
}

impl CreditsBody {
    fn plan(&self) -> CreditPlan {
        match &self.refill {
            None => CreditPlan::fixed(self.remaining),
            Some(r) => CreditPlan::refilling(self.remaining, r.amount, r.interval.period()),
        }
    }
}

impl CreateBody {
    /// The body, field by field.
    pub(super) fn read(body: Value) -> Result<Self, RouteError> {
        let mut f = Fields::of(body, &CREATE_FIELDS)?;
        Ok(CreateBody {
            name: f.required("name")?,
            scopes: f.required("scopes")?,
            tenant: f.take("tenant")?,
            ttl: f.take("ttl")?,
            expires_at: f.take("expires_at")?,
            networks: f.take("networks")?,
            rate_limit: f.take("rate_limit")?,
            credits: f.take("credits")?,
            metadata: f.take("metadata")?,
        })
    }

    /// The key asked for; token-core checks the rest.
    pub(super) fn spec(&self) -> Result<NewKey, RouteError> {
        let mut spec = NewKey::new(&self.name, self.scopes.parse()?);
        if let Some(t) = &self.tenant {
            spec = spec.tenant(t);
        }
        if let Some(ttl) = &self.ttl {
            spec = spec.ttl_secs(ttl.secs()?);
        }
        if let Some(at) = self.expires_at {
            spec = spec.expires_at(at);
        }
        if let Some(list) = &self.networks {
            spec = spec.networks(networks(list)?);
        }
        if let Some(q) = &self.rate_limit {
            spec = spec.rate_limit(quota(q)?);
        }
        if let Some(c) = &self.credits {
            spec = spec.credit_plan(c.plan());
        }
        if let Some(m) = &self.metadata {
            spec = spec.metadata_map(m.clone());
        }
        Ok(spec)
    }
}

impl UpdateBody {
    /// The body, field by field.
    pub(super) fn read(body: Value) -> Result<Self, RouteError> {
        let mut f = Fields::of(body, &UPDATE_FIELDS)?;
        Ok(UpdateBody {
            name: f.take("name")?,
            scopes: f.take("scopes")?,
            expires_at: f.change("expires_at")?,
            ttl: f.take("ttl")?,
            networks: f.take("networks")?,
            rate_limit: f.change("rate_limit")?,
            credits: f.take("credits")?,
            metadata: f.take("metadata")?,
        })
    }

    /// The change asked for; token-core checks the rest.
    pub(super) fn change(&self) -> Result<KeyUpdate, RouteError> {
        let mut change = KeyUpdate::new();
        if let Some(name) = &self.name {
            change = change.name(name);
        }
        if let Some(scopes) = &self.scopes {
            change = change.scopes(scopes.parse()?);
        }
        if let Change::Set(at) = self.expires_at {
            change = change.expires_at(at);
        }
        if let Some(ttl) = &self.ttl {
            change = change.ttl_secs(ttl.secs()?);
        }
        if let Some(list) = &self.networks {
            change = change.networks(networks(list)?);
        }
        if let Change::Set(q) = &self.rate_limit {
            change = change.rate_limit(q.as_deref().map(quota).transpose()?);
        }
        if let Some(c) = &self.credits {
            change = change.credits(c.plan());
        }
        if let Some(m) = &self.metadata {
            change = change.metadata(m.clone());
        }
        Ok(change)
    }
}

impl BulkBody {
    /// The body: exactly one of `owner` and `tenant`.
    pub(super) fn read(body: Value) -> Result<token_core::apikey::admin::BulkSelector, RouteError> {
        use token_core::apikey::admin::BulkSelector;
        let mut f = Fields::of(body, &["owner", "tenant"])?;
        let body = BulkBody {
            owner: f.take("owner")?,
            tenant: f.take("tenant")?,
        };
        match (body.owner, body.tenant) {
            (Some(owner), None) if !owner.is_empty() => Ok(BulkSelector::Owner(owner)),
            (None, Some(tenant)) if !tenant.is_empty() => Ok(BulkSelector::Tenant(tenant)),
            (Some(_), Some(_)) => Err(RouteError::invalid_field(
                "tenant",
                "name an owner or a tenant, not both",
            )),
            (Some(_), None) => Err(RouteError::invalid_field("owner", "must not be empty")),
            (None, Some(_)) => Err(RouteError::invalid_field("tenant", "must not be empty")),
            (None, None) => Err(RouteError::invalid_field(
                "owner",
                "name an owner or a tenant",
            )),
        }
    }
}

/// `body` as canonical JSON text (object members sorted at every depth): two bodies
/// that mean the same are the same text, whatever the order of their members.
pub(super) fn canonical(body: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                let mut members: Vec<_> = map.iter().collect();
                members.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (i, (k, v)) in members.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(v, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(body, &mut out);
    out
}
