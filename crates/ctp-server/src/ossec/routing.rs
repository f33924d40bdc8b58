//! Routes: which measurement an alert goes to. Criteria are globs (`*`, `?`, `[...]`) on
//! the agent, the location, any one of the groups and the rule id, and a minimum level;
//! the first route whose criteria all hold wins.

use ctp_model::ResourceId;
use globset::{Glob, GlobMatcher};
use ossec_alerts::Alert;

use super::config::RouteConfig;

/// A route, compiled.
#[derive(Debug, Clone)]
pub struct Route {
    /// Its name.
    pub name: String,
    /// Its measurement.
    pub measurement: ResourceId,
    agent: Option<GlobMatcher>,
    location: Option<GlobMatcher>,
    groups: Option<GlobMatcher>,
    rule: Option<GlobMatcher>,
    min_level: Option<u32>,
}

/// The routes, in order.
#[derive(Debug, Clone, Default)]
pub struct Router {
    /// The routes, first match wins.
    pub routes: Vec<Route>,
}

fn matcher(route: &str, key: &str, pattern: &Option<String>) -> Result<Option<GlobMatcher>, String> {
    pattern
        .as_deref()
        .map(|p| Glob::new(p).map(|g| g.compile_matcher()).map_err(|e| format!("route {route:?}: {key} {p:?}: {e}")))
        .transpose()
}

impl Route {
    /// Compiles a route of the configuration, to `measurement`.
    pub fn compile(config: &RouteConfig, measurement: ResourceId) -> Result<Route, String> {
        let name = &config.name;
        Ok(Route {
            name: name.clone(),
            measurement,
            agent: matcher(name, "agent", &config.agent)?,
            location: matcher(name, "location", &config.location)?,
            groups: matcher(name, "groups", &config.groups)?,
            rule: matcher(name, "rule", &config.rule)?,
            min_level: config.min_level,
        })
    }

    /// Whether the alert meets every criterion.
    pub fn matches(&self, alert: &Alert) -> bool {
        let glob = |m: &Option<GlobMatcher>, text: &str| m.as_ref().is_none_or(|m| m.is_match(text));
        self.min_level.is_none_or(|min| alert.level >= min)
            && glob(&self.agent, &alert.agent)
            && glob(&self.location, &alert.location)
            && glob(&self.rule, &alert.rule.to_string())
            && self.groups.as_ref().is_none_or(|m| alert.groups.split(',').any(|g| m.is_match(g.trim())))
    }
}

impl Router {
    /// The index of the first route the alert matches.
    pub fn route(&self, alert: &Alert) -> Option<usize> {
        self.routes.iter().position(|route| route.matches(alert))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(agent: &str, level: u32, rule: u64, groups: &str) -> Alert {
        Alert {
            id: String::new(),
            time: "2026-12-02T10:00:00Z".into(),
            level,
            rule,
            description: String::new(),
            groups: groups.into(),
            agent: agent.into(),
            location: "/var/log/auth.log".into(),
            srcip: String::new(),
            user: String::new(),
            compliance: String::new(),
        }
    }

    fn route(name: &str, config: &str) -> Route {
        let config: RouteConfig = toml::from_str(&format!("name = {name:?}\n{config}")).unwrap();
        Route::compile(&config, ResourceId::parse(name).unwrap()).unwrap()
    }

    #[test]
    fn the_first_matching_route_wins_and_a_route_without_criteria_takes_the_rest() {
        let router = Router {
            routes: vec![
                route("web-auth", "agent = \"web-*\"\ngroups = \"authentication_*\"\nmin_level = 5"),
                route("rootcheck", "rule = \"51?\""),
                route("rest", ""),
            ],
        };
        assert_eq!(router.route(&alert("web-1", 5, 5710, "syslog,sshd,authentication_failed")), Some(0));
        assert_eq!(router.route(&alert("web-1", 4, 5710, "syslog,authentication_failed")), Some(2), "level too low");
        assert_eq!(router.route(&alert("db-1", 7, 5710, "authentication_failed")), Some(2), "other agent");
        assert_eq!(router.route(&alert("db-1", 7, 510, "rootcheck")), Some(1));
        assert_eq!(router.route(&alert("db-1", 7, 5100, "rootcheck")), Some(2), "? is one character");
        let strict = Router { routes: vec![route("only", "agent = \"db-*\"")] };
        assert_eq!(strict.route(&alert("web-1", 7, 1, "")), None);
    }

    #[test]
    fn a_bad_glob_is_refused_with_the_route_and_key() {
        let config: RouteConfig = toml::from_str("name = \"r\"\nagent = \"[web\"").unwrap();
        let error = Route::compile(&config, ResourceId::parse("r").unwrap()).unwrap_err();
        assert!(error.contains("route \"r\": agent"), "{error}");
    }
}
