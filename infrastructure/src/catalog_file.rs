//! Reads the plan catalog from its TOML file. Each plan is decoded on its own so that an error
//! names the file, the plan and the field, not only a line number.

use std::path::{Path, PathBuf};

use domain::catalog::{CatalogError, PlanCatalog, PlanDefinition};

#[derive(Debug, thiserror::Error)]
pub enum CatalogFileError {
    #[error("cannot read plan catalog {path}: {source} (point --plans or LEDGERLINE_PLANS at the catalog file)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("plan catalog {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("plan catalog {path}: {source}")]
    Invalid { path: PathBuf, source: CatalogError },
}

/// Loads and validates the catalog at `path`.
pub fn load_catalog(path: &Path) -> Result<PlanCatalog, CatalogFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| CatalogFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_catalog(&text).map_err(|e| e.at(path))
}

/// The failure of [`parse_catalog`], before the file's path is attached.
enum Failure {
    Syntax(String),
    Invalid(CatalogError),
}

impl Failure {
    fn at(self, path: &Path) -> CatalogFileError {
        let path = path.to_owned();
        match self {
            Failure::Syntax(message) => CatalogFileError::Syntax { path, message },
            Failure::Invalid(source) => CatalogFileError::Invalid { path, source },
        }
    }
}

fn parse_catalog(text: &str) -> Result<PlanCatalog, Failure> {
    let mut document: toml::Table =
        toml::from_str(text).map_err(|e| Failure::Syntax(e.message().to_owned()))?;
    let plans = match document.remove("plans") {
        Some(toml::Value::Array(plans)) => plans,
        Some(_) => {
            return Err(invalid(
                "*",
                "plans",
                "must be an array of [[plans]] tables",
            ))
        }
        None => return Err(invalid("*", "plans", "the file has no [[plans]] table")),
    };
    if let Some(key) = document.keys().next() {
        return Err(invalid("*", key, "unknown top-level key"));
    }
    let definitions = plans
        .into_iter()
        .enumerate()
        .map(|(index, plan)| decode_plan(index, plan))
        .collect::<Result<Vec<_>, _>>()?;
    PlanCatalog::from_definitions(definitions).map_err(Failure::Invalid)
}

fn decode_plan(index: usize, plan: toml::Value) -> Result<PlanDefinition, Failure> {
    let toml::Value::Table(table) = plan else {
        return Err(invalid(
            &format!("#{}", index + 1),
            "plans",
            "must be a table",
        ));
    };
    let label = match table.get("id") {
        Some(toml::Value::String(id)) => id.clone(),
        _ => format!("#{}", index + 1),
    };
    // Decode field by field: the first field that fails is the one reported.
    for (key, value) in &table {
        let mut single = toml::Table::new();
        single.insert(key.clone(), value.clone());
        if let Err(e) = toml::Value::Table(single).try_into::<PlanDefinition>() {
            return Err(invalid(&label, key, e.message()));
        }
    }
    toml::Value::Table(table)
        .try_into::<PlanDefinition>()
        .map_err(|e| invalid(&label, "*", e.message()))
}

fn invalid(plan: &str, field: &str, reason: &str) -> Failure {
    Failure::Invalid(CatalogError {
        plan: plan.to_owned(),
        field: field.to_owned(),
        reason: reason.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{FeatureKey, PlanId};

    fn shipped() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/plans.toml"))
            .unwrap()
    }

    fn error_of(text: &str) -> CatalogFileError {
        match parse_catalog(text) {
            Ok(_) => panic!("catalog was accepted"),
            Err(e) => e.at(Path::new("config/broken.toml")),
        }
    }

    fn field_error(text: &str) -> (String, String, String) {
        match error_of(text) {
            CatalogFileError::Invalid { path, source } => {
                assert_eq!(path, Path::new("config/broken.toml"));
                (
                    source.plan.clone(),
                    source.field.clone(),
                    source.to_string(),
                )
            }
            other => panic!("expected a field error, got {other}"),
        }
    }

    #[test]
    fn the_shipped_catalog_has_the_three_default_plans() {
        let catalog = parse_catalog(&shipped())
            .ok()
            .expect("shipped catalog loads");
        let summary: Vec<(String, i64, u32, i64, u32)> = catalog
            .plans()
            .map(|p| {
                (
                    p.id.to_string(),
                    p.base_price.amount,
                    p.seat_limit,
                    p.overage_seat_price.amount,
                    p.trial_days,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("starter".into(), 1900, 5, 500, 14),
                ("pro".into(), 4900, 20, 400, 14),
                ("enterprise".into(), 19900, 100, 300, 30),
            ]
        );
        let plan = |id| catalog.get(&PlanId::parse(id).unwrap()).unwrap();
        let api_calls = FeatureKey::parse("api_calls").unwrap();
        assert!(plan("pro").features.is_subset(&plan("enterprise").features));
        assert_eq!(plan("enterprise").limit_of(&api_calls), None);
        assert_eq!(plan("pro").limit_of(&api_calls), Some(100_000));
        // Usage prices: starter per unit, pro graduated, enterprise none.
        let at_the_cap = |id| plan(id).usage_prices[&api_calls].rate(100_000).unwrap();
        assert_eq!(at_the_cap("starter").amount, 9_500);
        assert_eq!(at_the_cap("pro").amount, 2_000);
        assert!(plan("enterprise").usage_prices.is_empty());
    }

    #[test]
    fn a_bad_usage_price_names_the_plan_the_feature_and_the_field() {
        let text = shipped().replacen("{ up_to = \"inf\",", "{ up_to = 30000,", 1);
        let (plan, field, message) = field_error(&text);
        assert_eq!(
            (plan.as_str(), field.as_str()),
            ("pro", "usage_prices.api_calls.tiers[2].up_to")
        );
        assert!(
            message.contains("the last tier must be \"inf\""),
            "{message}"
        );
        let text = shipped().replacen(
            "unit_amount_decimal = \"0.1\"",
            "unit_amount_decimal = 0.1",
            1,
        );
        let (plan, field, _) = field_error(&text);
        assert_eq!((plan.as_str(), field.as_str()), ("starter", "usage_prices"));
    }

    #[test]
    fn a_wrongly_typed_field_names_file_plan_and_field() {
        let text = shipped().replacen("base_price = 4900", "base_price = \"lots\"", 1);
        let (plan, field, message) = field_error(&text);
        assert_eq!((plan.as_str(), field.as_str()), ("pro", "base_price"));
        assert!(
            message.contains("pro") && message.contains("base_price"),
            "{message}"
        );
        let full = error_of(&text).to_string();
        assert!(full.contains("config/broken.toml"), "{full}");
    }

    #[test]
    fn a_missing_field_names_its_plan() {
        let text = shipped().replacen("seat_limit = 100\n", "", 1);
        let (plan, field, _) = field_error(&text);
        assert_eq!(
            (plan.as_str(), field.as_str()),
            ("enterprise", "seat_limit")
        );
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let text = shipped().replacen("rank = 1", "rank = 1\ncolour = \"red\"", 1);
        let (plan, field, _) = field_error(&text);
        assert_eq!((plan.as_str(), field.as_str()), ("starter", "colour"));
    }

    #[test]
    fn a_bad_limit_is_named() {
        let text = shipped().replacen("projects = 10,", "projects = \"lots\",", 1);
        let (plan, field, _) = field_error(&text);
        assert_eq!((plan.as_str(), field.as_str()), ("starter", "limits"));
    }

    #[test]
    fn broken_toml_is_a_syntax_error_with_the_path() {
        let err = error_of("[[plans]\nid = ");
        assert!(matches!(err, CatalogFileError::Syntax { .. }));
        assert!(err.to_string().contains("config/broken.toml"));
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let err = load_catalog(Path::new("/nonexistent/plans.toml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/plans.toml"));
    }
}
