//! The SCIM schemas we serve (`schema/*.json`) and validate against:
//! attribute definitions and resolution of attribute paths to them.

use std::sync::LazyLock;

use scim_filter_parser::AttrPath;
use serde::Deserialize;
use serde_json::Value;

pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const CARD_URN: &str = "urn:ietf:params:scim:schemas:extension:scimd:2.0:Card";
pub const LIST_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SEARCH_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const BULK_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    pub fn core_urn(self) -> &'static str {
        match self {
            ResourceKind::User => USER_URN,
            ResourceKind::Group => GROUP_URN,
        }
    }

    pub fn extension_urns(self) -> &'static [&'static str] {
        match self {
            ResourceKind::User => &[ENTERPRISE_USER_URN, CARD_URN],
            ResourceKind::Group => &[],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Reference,
    Complex,
    Binary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttrDef {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: AttrType,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    #[serde(default)]
    pub sub_attributes: Vec<AttrDef>,
}

impl AttrDef {
    pub fn sub(&self, name: &str) -> Option<&AttrDef> {
        self.sub_attributes
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    pub fn is_complex(&self) -> bool {
        self.kind == AttrType::Complex
    }
}

#[derive(Debug, Deserialize)]
pub struct SchemaDef {
    pub id: String,
    pub attributes: Vec<AttrDef>,
}

impl SchemaDef {
    pub fn attribute(&self, name: &str) -> Option<&AttrDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

struct Registry {
    documents: Vec<Value>,
    user: SchemaDef,
    group: SchemaDef,
    enterprise: SchemaDef,
    card: SchemaDef,
    /// `id`, `externalId` and `meta` (RFC 7643 §3.1), common to every resource.
    common: SchemaDef,
}

fn document(name: &str, text: &str) -> Value {
    // Compiled in and covered by a unit test: a broken document is a build defect.
    serde_json::from_str(text).unwrap_or_else(|e| panic!("schema/{name}: {e}"))
}

fn definition(name: &str, doc: &Value) -> SchemaDef {
    serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("schema/{name}: {e}"))
}

fn common_attributes() -> SchemaDef {
    let text = |name: &str, case_exact: bool, mutability: &str, returned: &str| {
        serde_json::json!({"name": name, "type": "string", "multiValued": false, "required": false,
            "caseExact": case_exact, "mutability": mutability, "returned": returned})
    };
    let date = |name: &str| {
        serde_json::json!({"name": name, "type": "dateTime", "multiValued": false, "required": false,
            "caseExact": false, "mutability": "readOnly", "returned": "default"})
    };
    let meta = serde_json::json!({
        "name": "meta", "type": "complex", "multiValued": false, "required": false,
        "caseExact": false, "mutability": "readOnly", "returned": "default",
        "subAttributes": [
            text("resourceType", true, "readOnly", "default"),
            date("created"),
            date("lastModified"),
            text("location", true, "readOnly", "default"),
            text("version", true, "readOnly", "default"),
        ]
    });
    definition(
        "common attributes",
        &serde_json::json!({
            "id": "common",
            "attributes": [
                text("id", true, "readOnly", "always"),
                text("externalId", true, "readWrite", "default"),
                meta,
            ]
        }),
    )
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let documents = vec![
        document("user.json", include_str!("../../schema/user.json")),
        document("group.json", include_str!("../../schema/group.json")),
        document(
            "enterprise-user.json",
            include_str!("../../schema/enterprise-user.json"),
        ),
        document("card.json", include_str!("../../schema/card.json")),
    ];
    Registry {
        user: definition("user.json", &documents[0]),
        group: definition("group.json", &documents[1]),
        enterprise: definition("enterprise-user.json", &documents[2]),
        card: definition("card.json", &documents[3]),
        common: common_attributes(),
        documents,
    }
});

/// What `GET /Schemas` serves.
pub fn schema_documents() -> &'static [Value] {
    &REGISTRY.documents
}

pub fn core_schema(kind: ResourceKind) -> &'static SchemaDef {
    match kind {
        ResourceKind::User => &REGISTRY.user,
        ResourceKind::Group => &REGISTRY.group,
    }
}

/// The extension schema a URN names for this resource type (case-insensitive).
pub fn extension(kind: ResourceKind, urn: &str) -> Option<(&'static str, &'static SchemaDef)> {
    kind.extension_urns()
        .iter()
        .find(|u| u.eq_ignore_ascii_case(urn))
        .map(|u| {
            let def = if *u == ENTERPRISE_USER_URN {
                &REGISTRY.enterprise
            } else {
                &REGISTRY.card
            };
            (*u, def)
        })
}

/// A top-level attribute of the core schema or the common attributes.
pub fn core_attribute(kind: ResourceKind, name: &str) -> Option<&'static AttrDef> {
    core_schema(kind)
        .attribute(name)
        .or_else(|| REGISTRY.common.attribute(name))
}

/// Where an attribute path points.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    /// `Some(urn)` for an extension attribute, stored under that key.
    pub extension: Option<&'static str>,
    pub attr: &'static AttrDef,
    pub sub: Option<&'static AttrDef>,
}

impl Resolved {
    /// The definition of what the path finally names.
    pub fn leaf(&self) -> &'static AttrDef {
        self.sub.unwrap_or(self.attr)
    }

    pub fn canonical_path(&self) -> String {
        let mut path = match self.extension {
            Some(urn) => format!("{urn}:{}", self.attr.name),
            None => self.attr.name.clone(),
        };
        if let Some(sub) = self.sub {
            path.push('.');
            path.push_str(&sub.name);
        }
        path
    }
}

/// Whether `path` names a whole extension (a bare URN such as
/// `urn:…:enterprise:2.0:User`, which parses as urn `urn:…:2.0` + name `User`).
pub fn whole_extension(kind: ResourceKind, path: &AttrPath) -> Option<&'static str> {
    let urn = path.urn.as_deref()?;
    if path.sub_attr.is_some() {
        return None;
    }
    extension(kind, &format!("{urn}:{}", path.name)).map(|(urn, _)| urn)
}

/// Resolves a path (names case-insensitive, URN optional) to its definitions.
/// Unqualified names are looked up in the core schema, then in extensions.
pub fn resolve(kind: ResourceKind, path: &AttrPath) -> Option<Resolved> {
    let (extension_urn, attr) = match path.urn.as_deref() {
        Some(urn) if urn.eq_ignore_ascii_case(kind.core_urn()) => {
            (None, core_attribute(kind, &path.name)?)
        }
        Some(urn) => {
            let (urn, def) = extension(kind, urn)?;
            (Some(urn), def.attribute(&path.name)?)
        }
        None => match core_attribute(kind, &path.name) {
            Some(attr) => (None, attr),
            None => kind.extension_urns().iter().find_map(|urn| {
                let (urn, def) = extension(kind, urn)?;
                Some((Some(urn), def.attribute(&path.name)?))
            })?,
        },
    };
    let sub = match &path.sub_attr {
        Some(name) => Some(attr.sub(name)?),
        None => None,
    };
    Some(Resolved {
        extension: extension_urn,
        attr,
        sub,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_filter_parser::parse_path;

    fn resolved(kind: ResourceKind, text: &str) -> Option<String> {
        resolve(kind, &parse_path(text).expect("valid path").attr).map(|r| r.canonical_path())
    }

    #[test]
    fn every_document_parses_and_names_its_schema() {
        let ids: Vec<&str> = schema_documents()
            .iter()
            .map(|d| d["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids, [USER_URN, GROUP_URN, ENTERPRISE_USER_URN, CARD_URN]);
        assert!(
            core_schema(ResourceKind::User)
                .attribute("userName")
                .is_some()
        );
    }

    #[test]
    fn paths_resolve_case_insensitively_to_canonical_names() {
        let user = ResourceKind::User;
        assert_eq!(resolved(user, "USERNAME").as_deref(), Some("userName"));
        assert_eq!(
            resolved(user, "name.GIVENNAME").as_deref(),
            Some("name.givenName")
        );
        assert_eq!(
            resolved(user, "meta.lastmodified").as_deref(),
            Some("meta.lastModified")
        );
        assert_eq!(
            resolved(
                user,
                "urn:ietf:params:scim:schemas:core:2.0:User:emails.value"
            )
            .as_deref(),
            Some("emails.value")
        );
        assert_eq!(
            resolved(
                user,
                "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:department"
            )
            .as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department")
        );
        assert_eq!(
            resolved(user, "department").as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department")
        );
        assert_eq!(resolved(user, "nope"), None);
        assert_eq!(resolved(user, "name.nope"), None);
        assert_eq!(resolved(ResourceKind::Group, "userName"), None);
        assert_eq!(
            resolved(ResourceKind::Group, "members.value").as_deref(),
            Some("members.value")
        );
    }

    #[test]
    fn a_bare_extension_urn_names_the_whole_extension() {
        let path = parse_path(ENTERPRISE_USER_URN).expect("valid path").attr;
        assert_eq!(
            whole_extension(ResourceKind::User, &path),
            Some(ENTERPRISE_USER_URN)
        );
        assert_eq!(whole_extension(ResourceKind::Group, &path), None);
    }
}
