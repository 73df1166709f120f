//! scimd: a SCIM 2.0 provisioning server. Layers, outermost first:
//! `http` (actix, wire format, auth) → `scim` (domain: resources, filters,
//! PATCH, provisioning rules) → `store` (diesel over SQLite or PostgreSQL).
//! `console` is a second HTTP front (HTML pages on their own listener) over
//! the same `admin` and `service` functions.

pub mod admin;
pub mod config;
pub mod console;
pub mod http;
pub mod jobs;
pub mod repeats;
pub mod scim;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
