//! The card derived from a SCIM User: what the IdP says each card field is.
//! Which of these values reach the stored card is the tenant's field rules'
//! decision (`scim::policy`).

use serde_json::Value;

use crate::scim::schema::ENTERPRISE_USER_URN;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardFields {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub job_title: Option<String>,
    pub company: Option<String>,
    pub department: Option<String>,
    pub phone: Option<String>,
    pub location: Option<String>,
    pub photo_url: Option<String>,
}

fn text(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn items<'a>(resource: &'a Value, name: &str) -> &'a [Value] {
    resource
        .get(name)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn has_type(item: &Value, kind: &str) -> bool {
    text(item.get("type")).is_some_and(|t| t.eq_ignore_ascii_case(kind))
}

fn is_primary(item: &Value) -> bool {
    item.get("primary") == Some(&Value::Bool(true))
}

/// The first element chosen by the preferences in order, else the first one.
fn pick<'a>(list: &'a [Value], preferences: &[&dyn Fn(&Value) -> bool]) -> Option<&'a Value> {
    preferences
        .iter()
        .find_map(|wanted| list.iter().find(|item| wanted(item)))
        .or_else(|| list.first())
}

fn name(resource: &Value) -> Option<String> {
    let name = resource.get("name");
    text(resource.get("displayName"))
        .or_else(|| text(name.and_then(|n| n.get("formatted"))))
        .map(str::to_owned)
        .or_else(|| {
            let parts: Vec<&str> = ["givenName", "familyName"]
                .iter()
                .filter_map(|part| text(name.and_then(|n| n.get(*part))))
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        })
}

fn email(resource: &Value) -> Option<String> {
    let emails = items(resource, "emails");
    pick(emails, &[&is_primary, &|e| has_type(e, "work")])
        .and_then(|e| text(e.get("value")))
        // Entra's UPN fallback: a userName that is an email address.
        .or_else(|| text(resource.get("userName")).filter(|u| u.contains('@') && !u.contains(' ')))
        .map(str::to_owned)
}

fn phone(resource: &Value) -> Option<String> {
    let phones = items(resource, "phoneNumbers");
    pick(
        phones,
        &[&|p| has_type(p, "mobile"), &|p| has_type(p, "work")],
    )
    .and_then(|p| text(p.get("value")))
    .map(str::to_owned)
}

/// "street, city, region postalCode, country", skipping what is missing.
fn location(resource: &Value) -> Option<String> {
    let addresses = items(resource, "addresses");
    let address = pick(addresses, &[&|a| has_type(a, "work"), &is_primary])?;
    if let Some(formatted) = text(address.get("formatted")) {
        return Some(formatted.to_owned());
    }
    let part = |name: &str| text(address.get(name));
    let region_postal: Vec<&str> = [part("region"), part("postalCode")]
        .into_iter()
        .flatten()
        .collect();
    let region_postal = region_postal.join(" ");
    let parts: Vec<&str> = [
        part("streetAddress"),
        part("locality"),
        (!region_postal.is_empty()).then_some(region_postal.as_str()),
        part("country"),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn photo(resource: &Value) -> Option<String> {
    let photos = items(resource, "photos");
    pick(photos, &[&|p| has_type(p, "photo")])
        .and_then(|p| text(p.get("value")))
        .map(str::to_owned)
}

pub fn card_from_user(resource: &Value) -> CardFields {
    let enterprise = resource.get(ENTERPRISE_USER_URN);
    let enterprise_text =
        |name: &str| text(enterprise.and_then(|e| e.get(name))).map(str::to_owned);
    CardFields {
        display_name: name(resource),
        email: email(resource),
        job_title: text(resource.get("title")).map(str::to_owned),
        company: enterprise_text("organization"),
        department: enterprise_text("department"),
        phone: phone(resource),
        location: location(resource),
        photo_url: photo(resource),
    }
}

/// The email a member is known by: primary, else work, else the first, else
/// an email-shaped `userName` (what adoption and the user allowlist match).
pub fn primary_email(resource: &Value) -> Option<String> {
    email(resource)
}

/// Every email value, lower-cased and deduplicated, for the email index.
pub fn email_values(resource: &Value) -> Vec<String> {
    let mut values: Vec<String> = items(resource, "emails")
        .iter()
        .filter_map(|e| text(e.get("value")))
        .map(str::to_lowercase)
        .collect();
    values.sort();
    values.dedup();
    values
}

/// An email address as operators type one (allowlist entries, admin
/// contacts, members added by hand): one `@`, something on both sides, a
/// dot in the domain, no spaces. Trimmed.
pub fn email_address(text: &str) -> Result<String, String> {
    let value = text.trim();
    let valid = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    }) && !value.chars().any(char::is_whitespace);
    if valid {
        Ok(value.to_owned())
    } else {
        Err(format!("{text:?} is not an email address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_as_operators_type_them() {
        assert_eq!(
            email_address(" ann@corp.example "),
            Ok("ann@corp.example".into())
        );
        for bad in [
            "ann",
            "ann@",
            "@corp.example",
            "a@b@c.d",
            "ann@corp",
            "a b@c.d",
        ] {
            assert!(email_address(bad).is_err(), "{bad}");
        }
    }
    use serde_json::json;

    #[test]
    fn okta_shaped_user() {
        let card = card_from_user(&json!({
            "userName": "nia@example.com",
            "name": {"givenName": "Nia", "familyName": "Okafor"},
            "emails": [{"value": "nia@home", "type": "home"}, {"value": "nia@work", "type": "work", "primary": true}],
            "phoneNumbers": [{"value": "+1 work", "type": "work"}, {"value": "+1 mobile", "type": "mobile"}],
            "addresses": [{"type": "home", "locality": "Nowhere"},
                          {"type": "work", "streetAddress": "500 Market St", "locality": "San Francisco",
                           "region": "CA", "postalCode": "94105", "country": "US"}],
            "photos": [{"value": "https://t", "type": "thumbnail"}, {"value": "https://p", "type": "photo"}],
            "title": "Head of Sales",
        }));
        assert_eq!(
            card,
            CardFields {
                display_name: Some("Nia Okafor".into()),
                email: Some("nia@work".into()),
                job_title: Some("Head of Sales".into()),
                company: None,
                department: None,
                phone: Some("+1 mobile".into()),
                location: Some("500 Market St, San Francisco, CA 94105, US".into()),
                photo_url: Some("https://p".into()),
            }
        );
    }

    #[test]
    fn entra_shaped_user_with_upn_only() {
        let card = card_from_user(&json!({
            "userName": "omar@contoso.example",
            "displayName": "Omar Haddad",
            "name": {"formatted": "ignored when displayName exists"},
            "phoneNumbers": [{"value": "+971", "type": "work"}],
            "addresses": [{"type": "work", "locality": "Dubai", "country": "AE"}],
            ENTERPRISE_USER_URN: {"organization": "Contoso", "department": "Finance"},
        }));
        assert_eq!(card.display_name.as_deref(), Some("Omar Haddad"));
        assert_eq!(card.email.as_deref(), Some("omar@contoso.example"));
        assert_eq!(card.phone.as_deref(), Some("+971"));
        assert_eq!(card.location.as_deref(), Some("Dubai, AE"));
        assert_eq!(card.company.as_deref(), Some("Contoso"));
        assert_eq!(card.department.as_deref(), Some("Finance"));
        assert_eq!(card.photo_url, None);
    }

    #[test]
    fn fallbacks() {
        let only_given =
            card_from_user(&json!({"userName": "not an email", "name": {"givenName": "Solo"}}));
        assert_eq!(only_given.display_name.as_deref(), Some("Solo"));
        assert_eq!(only_given.email, None);
        let formatted = card_from_user(
            &json!({"userName": "u", "name": {"formatted": "F L", "givenName": "x"},
            "emails": [{"value": "first@x"}, {"value": "second@x"}]}),
        );
        assert_eq!(formatted.display_name.as_deref(), Some("F L"));
        assert_eq!(formatted.email.as_deref(), Some("first@x"));
        assert_eq!(
            email_values(
                &json!({"emails": [{"value": "B@x"}, {"value": "b@x"}, {"value": "a@x"}]})
            ),
            ["a@x", "b@x"]
        );
    }
}
